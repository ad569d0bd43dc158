"""Finished answers kept per (requirement, index, options): a bounded LRU in the process.

The key holds the index, LM, cross-encoder and example bank objects themselves (compared by
identity), so an index that was rebuilt and reopened, or another LM, never meets an old answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from apipilot.agents.context import AgentContext

CACHE_SIZE = 256
Events = tuple[tuple[str, Any], ...]


class AnswerCache:
    """At most ``size`` answers, least recently used dropped first; thread-safe."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Events] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Events | None:
        with self._lock:
            events = self._entries.get(key)
            if events is not None:
                self._entries.move_to_end(key)
            return events

    def put(self, key: Hashable, events: Events) -> None:
        with self._lock:
            self._entries[key] = events
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def answer_key(requirement: str, context: AgentContext) -> Hashable:
    """What an answer depends on: the requirement, the objects it ran with, every setting."""
    c = context
    return (
        requirement,
        _Same(c.index),
        _Same(c.lm),
        _Same(c.examples),
        _Same(c.reranker),
        _Same(c.companions),
        c.k,
        c.candidates_per_subtask,
        c.n_examples,
        c.rerank,
        c.write_code,
        c.decomposer,
        c.merge,
        c.companion_weight,
        c.companion_top,
        c.demonstration_weight,
        c.clauses,
    )


class _Same:
    """An object compared and hashed by identity (and kept alive, so its id is not reused)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value

    def __hash__(self) -> int:
        return id(self.value)


answers = AnswerCache()
