"""The open indexes of a process: one per library@version and embedder, a bounded number.

An entry remembers which build it was loaded from (the build directory the store's link
points to). When a newer build of the same library@version is published, by this process or
another, the next lookup drops the superseded index before loading the new one, so a
long-running server holds one build per library@version however often it is rebuilt. Beyond
``capacity`` entries the least recently used index is dropped.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from apipilot.indexes.api_index import ApiIndex
from apipilot.retrieval.errors import ConfigError

DEFAULT_CAPACITY = 16
CAPACITY_ENV = "APIPILOT_MAX_OPEN_INDEXES"


class CacheKey(NamedTuple):
    library: str
    version: str
    embedder: str  # the embedder's name; "" for the one that built the index


class IndexCache:
    """A thread-safe LRU of loaded indexes, keyed by library@version and embedder."""

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = default_capacity() if capacity is None else capacity
        if self.capacity < 1:
            raise ConfigError(f"the index cache needs room for at least 1 index, got {capacity}")
        self._entries: OrderedDict[CacheKey, tuple[str, ApiIndex]] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: CacheKey, build_id: str, load: Callable[[], ApiIndex]) -> ApiIndex:
        """The index of ``key`` loaded from build ``build_id``; ``load`` it if not cached.

        Loading happens under the cache's lock, so two first lookups load an index once.
        """
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and cached[0] == build_id:
                self._entries.move_to_end(key)
                return cached[1]
            self._entries.pop(key, None)  # superseded: let it go before loading the new build
            del cached
            index = load()
            self._entries[key] = (build_id, index)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
            return index

    def discard(self, library: str, version: str | None = None) -> None:
        """Drop every cached index of ``library@version`` (every version when None)."""
        with self._lock:
            for key in [k for k in self._entries if k.library == library]:
                if version is None or key.version == version:
                    del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def default_capacity() -> int:
    """``$APIPILOT_MAX_OPEN_INDEXES``, else :data:`DEFAULT_CAPACITY`."""
    value = os.environ.get(CAPACITY_ENV, "").strip()
    if not value:
        return DEFAULT_CAPACITY
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{CAPACITY_ENV} must be a whole number >= 1, got {value!r}")
    return int(value)
