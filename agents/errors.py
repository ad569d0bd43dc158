"""Errors of the agent (defined in ``apipilot.errors``, re-exported here)."""

from __future__ import annotations

from apipilot.errors import AgentError

__all__ = ["AgentError"]
