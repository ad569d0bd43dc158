"""Errors about indexes and documentation sources (defined in ``apipilot.errors``, the tree)."""

from __future__ import annotations

from apipilot.errors import (
    DamagedIndex,
    EmbedderMismatch,
    IndexNotFound,
    IndexStoreError,
    SourceError,
)

__all__ = ["DamagedIndex", "EmbedderMismatch", "IndexNotFound", "IndexStoreError", "SourceError"]
