"""The root of apipilot's error tree; the tree itself is drawn and defined in ``apipilot.errors``.

Re-exported here so that ``from apipilot.retrieval.errors import ConfigError`` keeps working.
"""

from __future__ import annotations

from apipilot.errors import ApipilotError, ConfigError, ModelError

__all__ = ["ApipilotError", "ConfigError", "ModelError"]
