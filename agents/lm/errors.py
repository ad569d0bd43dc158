"""Errors of the language-model layer (defined in ``apipilot.errors``, re-exported here)."""

from __future__ import annotations

from apipilot.errors import LMSpecError, LMUnavailable, PromptTooLong, ScoringUnsupported

__all__ = ["LMSpecError", "LMUnavailable", "PromptTooLong", "ScoringUnsupported"]
