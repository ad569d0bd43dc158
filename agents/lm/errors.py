"""Errors of the language-model layer (leaves of the tree in ``retrieval.errors``)."""

from __future__ import annotations

from apipilot.retrieval.errors import ConfigError, ModelError


class LMSpecError(ConfigError):
    """An LM spec string (argument or ``APIPILOT_LLM``) that names no backend."""


class LMUnavailable(ModelError):
    """A model server that does not answer (refused, unreachable, timed out)."""


class ScoringUnsupported(ModelError):
    """A backend that cannot return the log-likelihood of a given text."""


class PromptTooLong(ModelError):
    """A prompt (plus what must be generated or scored) longer than the model's context."""
