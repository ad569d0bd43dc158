"""Tell which reader a documentation source is for (the registered readers decide)."""

from __future__ import annotations

from apipilot.indexes.readers.markdown import SUFFIXES as DOC_SUFFIXES
from apipilot.indexes.readers.registry import BUILTIN, accepted, detect_reader

KINDS = tuple(reader.kind for reader in BUILTIN)  # the shipped readers; see registry.kinds()
__all__ = ["DOC_SUFFIXES", "KINDS", "accepted", "detect_source"]


def detect_source(source: str) -> str:
    """The ``kind`` of the reader for ``source``; :class:`SourceError` naming what is accepted."""
    return detect_reader(source)[0].kind
