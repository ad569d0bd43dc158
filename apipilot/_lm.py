"""Language-model specs for the surfaces: the kinds (one table, ``agents.lm.kinds``), help
text, the app's choices and syntax checks. Loads no model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apipilot.agents.lm.kinds import (
    DEFAULT_KIND,
    LM_KINDS,
    NO_LM,
    LMKind,
    app_choices,
    join_spec,
    kind_names,
    runs_in_process,
    spec_help,
    split_spec,
)
from apipilot.agents.lm.spec import ENV_VAR as LM_ENV_VAR

if TYPE_CHECKING:
    from apipilot.agents.lm.base import LanguageModel

__all__ = [
    "DEFAULT_KIND",
    "LM_ENV_VAR",
    "LM_KINDS",
    "NO_LM",
    "LMKind",
    "app_choices",
    "check_lm_spec",
    "join_spec",
    "kind_names",
    "load_lm",
    "runs_in_process",
    "spec_help",
    "split_spec",
]


def check_lm_spec(value: str) -> str:
    """The normalised spec (``none`` for no LM); LMSpecError naming what is accepted otherwise.

    Syntax only: files and servers are checked when the model is loaded.
    """
    from apipilot.agents.lm.spec import parse_lm_spec

    text = value.strip()
    if text.lower() == NO_LM:
        return NO_LM
    return str(parse_lm_spec(text))


def load_lm(spec: str | None = None) -> LanguageModel:
    """The model ``spec`` names (None: ``$APIPILOT_LLM`` or the embedded model), loaded once
    per process. This is the call that loads a model.

    A model that runs in this process comes back as the process-wide shared instance: every
    caller of the same spec gets the same object, whose calls from concurrent threads are
    queued, oldest request first, and batched off a CPU (``agents.lm.shared.SharedLM``). A
    server model comes as is.
    """
    from apipilot.agents.lm.shared import shared_lm

    return shared_lm(spec)
