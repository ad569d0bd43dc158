"""The user's settings file: LM backend, k, reranking, code generation, embedder for new indexes.

Stored as JSON at ``<home>/config.json`` when apipilot runs on an explicit home
(``--home`` or ``$APIPILOT_HOME``), else in the platform's user config directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import apipilot
from apipilot import DEFAULT_EMBEDDER, ConfigError

CONFIG_NAME = "config.json"
NO_LM = apipilot.NO_LM
K_RANGE = (1, 100)
AGENT_DEFAULTS = apipilot.RecommendOptions()  # measured on the dev split (agents.defaults)
# The LM form's kind <-> spec conversions, derived from the one table of LM kinds.
lm_spec = apipilot.join_lm_spec
split_lm_spec = apipilot.split_lm_spec


@dataclass(frozen=True)
class Settings:
    """What a request uses unless told otherwise; ``validated`` checks every field."""

    llm: str = AGENT_DEFAULTS.DEFAULT_LLM
    k: int = AGENT_DEFAULTS.k
    rerank: bool = AGENT_DEFAULTS.rerank
    write_code: bool = AGENT_DEFAULTS.write_code
    embedder: str = DEFAULT_EMBEDDER

    def validated(self) -> Settings:
        """A copy with normalised values; ConfigError naming the bad field and what is valid."""
        return replace(
            self,
            llm=check_llm(self.llm),
            k=check_k(self.k),
            embedder=check_embedder(self.embedder),
        )


def default_settings() -> Settings:
    """Defaults; the LM follows ``$APIPILOT_LLM`` when it is set."""
    env = os.environ.get(apipilot.LM_ENV_VAR, "").strip()
    return Settings(llm=env or AGENT_DEFAULTS.DEFAULT_LLM)


def check_llm(value: str) -> str:
    return apipilot.check_lm_spec(value)  # syntax only: files and servers are checked when used


def check_k(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ConfigError(f"k must be a whole number between {K_RANGE[0]} and {K_RANGE[1]}")
    if not K_RANGE[0] <= int(value) <= K_RANGE[1]:
        raise ConfigError(f"k must be between {K_RANGE[0]} and {K_RANGE[1]}, got {int(value)}")
    return int(value)


def check_embedder(value: str) -> str:
    return apipilot.check_embedder(value)  # names only: a model is loaded on first use


def settings_path(home: Path) -> Path:
    """``<home>/config.json``, or the user config directory when home is the default cache."""
    from platformdirs import user_cache_dir, user_config_dir

    if not os.environ.get("APIPILOT_HOME") and _same(home, Path(user_cache_dir("apipilot"))):
        return Path(user_config_dir("apipilot")) / CONFIG_NAME
    return home / CONFIG_NAME


def _same(a: Path, b: Path) -> bool:
    return a.expanduser().resolve() == b.expanduser().resolve()


def load_settings(path: Path) -> Settings:
    """The settings in ``path`` (defaults for missing keys or a missing file)."""
    base = default_settings()
    if not path.is_file():
        return base
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read settings {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"settings {path} must hold a JSON object")
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"settings {path}: unknown keys {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    for key in ("rerank", "write_code"):
        if key in data and not isinstance(data[key], bool):
            raise ConfigError(f"settings {path}: {key} must be true or false")
    for key in ("llm", "embedder"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"settings {path}: {key} must be a string")
    try:
        return replace(base, **data).validated()
    except ConfigError as exc:
        raise ConfigError(f"settings {path}: {exc}") from exc


def save_settings(settings: Settings, path: Path) -> Settings:
    """Validate and write ``settings`` atomically; returns what was written."""
    checked = settings.validated()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(asdict(checked), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return checked
