"""The index stores and open indexes of this process, one per home directory.

Repeated calls (and the MCP server and the app, which make many) do not reload an index.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apipilot.indexes.api_index import ApiIndex
    from apipilot.indexes.store import IndexStore

_stores: dict[Path, IndexStore] = {}
_lock = threading.RLock()


def index_home(home: str | Path | None = None) -> Path:
    """The index directory: ``home``, else ``$APIPILOT_HOME``, else the user cache."""
    from apipilot.indexes.store import default_home

    return (Path(home) if home is not None else default_home()).expanduser().resolve()


def store_for(home: str | Path | None = None) -> IndexStore:
    """The process-wide store of ``home``."""
    from apipilot.indexes.store import IndexStore

    root = index_home(home)
    with _lock:
        if root not in _stores:
            _stores[root] = IndexStore(root)
        return _stores[root]


def open_index(
    library: str, version: str | None = None, home: str | Path | None = None
) -> ApiIndex:
    """The index of ``library@version`` (newest when ``version`` is None, or the version the
    indexed project around the current folder uses), loaded once."""
    store = store_for(home)
    if version is None:
        version = default_version(store, library)
    with _lock:  # two first calls at once would otherwise load the same index twice
        return store.open(library, version)


def default_version(store: IndexStore, library: str) -> str | None:
    """The version of ``library`` that the indexed project around the current folder uses,
    when that version is built; None (the newest) otherwise."""
    from apipilot.indexes.project_manifest import project_version

    version = project_version(store.home, library)
    return version if version is not None and version in store.versions(library) else None
