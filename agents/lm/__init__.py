"""Language-model backends for the agent: one protocol, a spec string, a loader.

Importing this package loads no model and imports neither torch nor httpx; ``load_lm`` imports
only the backend that a spec names.
"""

from __future__ import annotations

from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.lm.errors import LMSpecError, LMUnavailable, PromptTooLong, ScoringUnsupported
from apipilot.agents.lm.kinds import LM_KINDS, NO_LM, LMKind
from apipilot.agents.lm.spec import LMSpec, clear_lm_cache, load_lm, parse_lm_spec, resolve_lm_spec

__all__ = [
    "LM_KINDS",
    "NO_LM",
    "LMKind",
    "LMSpec",
    "LMSpecError",
    "LMUnavailable",
    "LanguageModel",
    "PromptTooLong",
    "ScoringUnsupported",
    "clear_lm_cache",
    "load_lm",
    "parse_lm_spec",
    "resolve_lm_spec",
]
