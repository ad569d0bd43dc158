"""The one table of LM backend kinds. Spec parsing, settings, CLI help and the app's choices
are all derived from ``LM_KINDS``; adding a backend is one row here plus its loader in
``agents.lm.spec``.

Imports nothing heavy: the surfaces read this table to build their help text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from apipilot.errors import ConfigError, echo

NO_LM = "none"
Target = Literal["", "path", "url"]


@dataclass(frozen=True)
class LMKind:
    """One kind of LM backend and how a spec names it.

    ``target`` is what follows ``name:`` in a spec: nothing (the spec is just the name), a
    ``path`` or a ``url``. ``loads`` says whether ``load_lm`` loads a model of this kind;
    ``in_process`` whether that model runs in this process (shared by all requests through one
    batching queue, ``agents.lm.shared``).
    """

    name: str
    label: str
    form: str  # how a spec is written, for help text: hf:DIR
    example: str  # a full example, for error messages: hf:/path/to/model-dir
    target: Target = ""
    suffix: str = ""  # a path target must end in this (case-insensitive)
    loads: bool = True
    in_process: bool = True


LM_KINDS: tuple[LMKind, ...] = (
    LMKind(
        "embedded",
        "SmolLM2-135M, shipped; with the decomposer adapter when present",
        "embedded",
        "embedded",
    ),
    LMKind("embedded-base", "SmolLM2-135M without the adapter", "embedded-base", "embedded-base"),
    LMKind(
        "hf",
        "local model directory",
        "hf:DIR",
        "hf:/path/to/model-dir",
        target="path",
    ),
    LMKind(
        "gguf",
        "GGUF file",
        "gguf:FILE",
        "gguf:/path/to/file.gguf",
        target="path",
        suffix=".gguf",
    ),
    LMKind(
        "openai",
        "OpenAI-compatible server",
        "openai:URL[#model]",
        "openai:http://host:port/v1[#model-name]",
        target="url",
        in_process=False,
    ),
    LMKind(NO_LM, "deterministic, no LM", NO_LM, NO_LM, loads=False, in_process=False),
)
# The model ``load_lm`` loads when asked for an LM without a spec. The agent itself runs
# without one unless told (``agents.defaults.LLM``).
DEFAULT_KIND = "embedded"
_BY_NAME = {kind.name: kind for kind in LM_KINDS}


def kind_names() -> tuple[str, ...]:
    return tuple(kind.name for kind in LM_KINDS)


def loadable_kinds() -> tuple[LMKind, ...]:
    """The kinds ``load_lm`` can load (every kind but ``none``)."""
    return tuple(kind for kind in LM_KINDS if kind.loads)


def find_kind(name: str) -> LMKind | None:
    return _BY_NAME.get(name.strip().lower())


def accepted_forms(*, with_none: bool = False) -> str:
    """``embedded | embedded-base | hf:DIR | …`` for error messages."""
    return " | ".join(k.example for k in LM_KINDS if k.loads or with_none)


def spec_help() -> str:
    """The CLI's ``--llm`` help: every form, the default first."""
    from apipilot.agents.defaults import LLM

    forms = [f"{k.form} (default)" if k.name == LLM else k.form for k in LM_KINDS]
    return (
        "LM: " + ", ".join(forms) + f". Default: $APIPILOT_LLM or {LLM} (measured: the LM's "
        "steps lost to the deterministic ones on the dev split; docs/benchmarks.md)."
    )


def app_choices() -> list[tuple[str, str]]:
    """``(label, kind)`` pairs for the app's backend picker."""
    return [
        (f"{k.name} ({k.label})" if not k.target else f"{k.label} ({k.name}:)", k.name)
        for k in LM_KINDS
    ]


def kind_of(spec: str) -> LMKind | None:
    """The kind a spec string names (``None`` for an unknown one)."""
    name, sep, _ = spec.strip().partition(":")
    kind = find_kind(name)
    if kind is None or bool(sep) != bool(kind.target):
        return None
    return kind


def runs_in_process(spec: str) -> bool:
    """Whether ``spec`` names a model that runs in this process; unknown specs count as local.
    An empty spec is the agent's default LM (``agents.defaults.LLM``)."""
    from apipilot.agents.defaults import LLM

    kind = kind_of(spec) if spec.strip() else find_kind(LLM)
    return kind is None or kind.in_process


def join_spec(kind_name: str, target: str) -> str:
    """The spec for a kind and its path or URL (``hf`` + ``/m`` -> ``hf:/m``)."""
    kind = find_kind(kind_name)
    if kind is None:
        raise ConfigError(
            f"unknown LM backend {echo(kind_name)}; choose one of {', '.join(kind_names())}"
        )
    if not kind.target:
        return kind.name
    if not target.strip():
        what = "a server URL" if kind.target == "url" else "a path"
        raise ConfigError(f"the {kind.name} backend needs {what}")
    return f"{kind.name}:{target.strip()}"


def split_spec(spec: str) -> tuple[str, str]:
    """The inverse of :func:`join_spec`: ``(kind, path or URL)``; the default for unknown specs."""
    name, sep, rest = spec.partition(":")
    kind = find_kind(name)
    if kind is not None and bool(sep) == bool(kind.target):
        return kind.name, rest
    return DEFAULT_KIND, ""
