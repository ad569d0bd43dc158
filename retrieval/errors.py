"""The error tree of apipilot. Only ``ui/`` turns these into user messages.

ApipilotError
├── ConfigError              a bad argument or setting (names the value and what is valid)
├── ModelError               a model cannot be found or loaded
├── IndexStoreError          (indexes.errors) anything about an index on disk
│   ├── IndexNotFound
│   ├── EmbedderMismatch
│   └── DamagedIndex
├── SourceError              (indexes.errors) documentation that cannot be read
└── AgentError               (agents.errors) the agent could not answer
"""

from __future__ import annotations


class ApipilotError(Exception):
    """Base of every error apipilot raises on purpose."""


class ConfigError(ApipilotError, ValueError):
    """A bad argument or setting."""


class ModelError(ApipilotError):
    """A model cannot be found or loaded."""
