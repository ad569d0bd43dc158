"""The Settings tab: read the form into validated settings and save them to the config file."""

from __future__ import annotations

from pathlib import Path

import apipilot
from apipilot import ApipilotError
from apipilot.ui.settings import Settings, default_settings, lm_spec, load_settings, save_settings

LM_CHOICES = apipilot.lm_choices()
LM_TARGET_HINT = "path to the model directory or .gguf file, or http://host:port/v1#model"


def current_settings(path: Path) -> tuple[Settings, str]:
    """The saved settings, or the defaults with a warning when the file is unusable."""
    try:
        return load_settings(path), ""
    except ApipilotError as exc:
        return default_settings(), f"⚠️ {exc} — using the defaults until you save."


def save_form(
    path: Path,
    lm_kind: str,
    lm_target: str,
    k: float,
    rerank: bool,
    write_code: bool,
    embedder: str,
) -> tuple[Settings | None, str]:
    """``(saved settings, message)``; invalid input saves nothing and says why."""
    try:
        settings = Settings(
            llm=lm_spec(lm_kind, lm_target),
            k=int(k),
            rerank=bool(rerank),
            write_code=bool(write_code),
            embedder=embedder,
        )
        saved = save_settings(settings, path)
    except ApipilotError as exc:
        return None, f"⚠️ **Not saved:** {exc}"
    except OSError as exc:
        return None, f"⚠️ **Not saved:** cannot write {path}: {exc}"
    return saved, f"✅ Saved to `{path}` (LM {saved.llm}, k {saved.k})."
