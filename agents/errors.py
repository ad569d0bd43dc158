"""Errors of the agent (a leaf of the tree in ``retrieval.errors``)."""

from __future__ import annotations

from apipilot.retrieval.errors import ApipilotError


class AgentError(ApipilotError):
    """The agent could not produce an answer."""
