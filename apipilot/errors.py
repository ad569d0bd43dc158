"""Every error apipilot raises on purpose, in one tree. This module imports nothing.

Only the surfaces (CLI, app, MCP server) turn these into user messages; each message names the
bad value (at most ``MAX_ECHO_CHARS`` of it) and what would be valid.

ApipilotError
├── ConfigError                 a bad argument or setting (also a ValueError)
│   ├── InputTooLong            a query, requirement or name over its length cap
│   ├── LMSpecError             an LM spec that names no backend
│   ├── EmbedderNotAllowed      a server asked to build with other than a shipped embedder
│   └── SandboxUnavailable      generated code cannot be run isolated here
├── ModelError                  a model cannot be found, loaded or used
│   ├── LMUnavailable           a model server that does not answer
│   ├── ScoringUnsupported      a backend that cannot score a given text
│   └── PromptTooLong           a prompt longer than the model's context
├── IndexStoreError             anything about an index on disk
│   ├── IndexNotFound           no index for that library (or version)
│   ├── EmbedderMismatch        queried with another embedder than it was built with
│   ├── DamagedIndex            files missing, truncated or not matching the header
│   └── LockHeld                another build or removal holds library@version
├── ApiNotFound                 no API of that name in an index (also a LookupError)
├── SourceError                 documentation that cannot be read into records
│   ├── SourceNotAllowed        a source outside what a server's policy allows
│   ├── MalformedLine           a JSONL line that is not a record
│   ├── InventoryTooLarge       an objects.inv that inflates past its cap
│   └── FetchError              a file of a documentation site could not be fetched
│       └── DeadlinePassed      a file, or the whole site, took longer than its deadline
└── AgentError                  the agent could not produce an answer

The modules that first defined these (``retrieval.errors``, ``indexes.errors``,
``agents.errors``, ``agents.lm.errors``) re-export them, so existing ``except`` clauses keep
working.
"""

from __future__ import annotations

MAX_ECHO_CHARS = 200


def echo(value: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters of the value."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value)} characters)"


class ApipilotError(Exception):
    """Base of every error apipilot raises on purpose."""


class ConfigError(ApipilotError, ValueError):
    """A bad argument or setting."""


class InputTooLong(ConfigError):
    """A query, requirement, name or path longer than its cap (see ``apipilot.LIMITS``)."""


class LMSpecError(ConfigError):
    """An LM spec string (argument or ``APIPILOT_LLM``) that names no backend."""


class ModelError(ApipilotError):
    """A model cannot be found or loaded."""


class LMUnavailable(ModelError):
    """A model server that does not answer (refused, unreachable, timed out)."""


class ScoringUnsupported(ModelError):
    """A backend that cannot return the log-likelihood of a given text."""


class PromptTooLong(ModelError):
    """A prompt (plus what must be generated or scored) longer than the model's context."""


class IndexStoreError(ApipilotError):
    """Anything wrong with an index on disk."""


class IndexNotFound(IndexStoreError):
    """No index for the requested library (or version)."""


class EmbedderMismatch(IndexStoreError):
    """The index was built with another embedder than the one asked to query it."""


class DamagedIndex(IndexStoreError):
    """Files are missing, truncated or do not match the index header."""


class ApiNotFound(ApipilotError, LookupError):
    """No API of that name (or id) in the index."""


class SourceError(ApipilotError):
    """Documentation that cannot be read into records."""


class AgentError(ApipilotError):
    """The agent could not produce an answer."""


__all__ = [
    "MAX_ECHO_CHARS",
    "AgentError",
    "ApiNotFound",
    "ApipilotError",
    "ConfigError",
    "DamagedIndex",
    "DeadlinePassed",
    "EmbedderMismatch",
    "EmbedderNotAllowed",
    "FetchError",
    "IndexNotFound",
    "IndexStoreError",
    "InputTooLong",
    "InventoryTooLarge",
    "LMSpecError",
    "LMUnavailable",
    "LockHeld",
    "MalformedLine",
    "ModelError",
    "PromptTooLong",
    "SandboxUnavailable",
    "ScoringUnsupported",
    "SourceError",
    "SourceNotAllowed",
    "echo",
]


class EmbedderNotAllowed(ConfigError):
    """An embedder spec that is not one of the shipped embedders (servers building for a client)."""


class SandboxUnavailable(ConfigError):
    """Isolation (Linux namespaces) is not available and no unisolated run was allowed."""


class LockHeld(IndexStoreError):
    """Another build (or removal) of the same library@version holds its lock."""


class SourceNotAllowed(SourceError):
    """A source outside what the policy allows."""


class MalformedLine(SourceError):
    """A JSONL line that is not a JSON object of a known shape."""


class InventoryTooLarge(SourceError):
    """An ``objects.inv`` inflates past the cap."""


class FetchError(SourceError):
    """One file of a documentation site could not be fetched."""


class DeadlinePassed(FetchError):
    """A file, or the whole site, took longer than its deadline."""
