"""Errors about indexes and documentation sources (see ``retrieval.errors`` for the tree)."""

from __future__ import annotations

from apipilot.retrieval.errors import ApipilotError


class IndexStoreError(ApipilotError):
    """Anything wrong with an index on disk."""


class IndexNotFound(IndexStoreError):
    """No index for the requested library (or version)."""


class EmbedderMismatch(IndexStoreError):
    """The index was built with another embedder than the one asked to query it."""


class DamagedIndex(IndexStoreError):
    """Files are missing, truncated or do not match the index header."""


class SourceError(ApipilotError):
    """Documentation that cannot be read into records."""
