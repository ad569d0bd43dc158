"""Concurrent small ``encode`` calls share one model pass.

A server embeds one query per search; sixteen concurrent searches would run sixteen passes of
the model, each paying its fixed cost. Here a caller that finds fewer than ``max_passes``
passes running leads: it encodes itself and every call waiting at that moment as one batch and
hands the results back. Calls that arrive while the passes run wait; when a pass ends, the
oldest of them leads the next batch. Nothing waits for a timer, so a call that finds a pass free
is encoded at once, as before.

Measured by ``python -m benchmarks.query_batching`` (docs/benchmarks.md, startup).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from apipilot.retrieval.embedder import Vectors


class _Call:
    __slots__ = ("error", "finished", "leads", "result", "texts", "wake")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.leads = False
        self.finished = False
        self.result: Vectors | None = None
        self.error: BaseException | None = None
        self.wake = threading.Event()


class QueryBatcher:
    """``encode(texts)`` through ``encode_batch``, merging the calls that overlap in time into
    batches of at most ``max_texts`` texts (a call is never split), with at most
    ``max_passes`` batches running at once."""

    def __init__(
        self,
        encode_batch: Callable[[list[str]], Vectors],
        max_texts: int = 32,
        max_passes: int = 1,
    ) -> None:
        if max_texts < 1:
            raise ValueError(f"max_texts must be at least 1, got {max_texts}")
        if max_passes < 1:
            raise ValueError(f"max_passes must be at least 1, got {max_passes}")
        self._encode_batch = encode_batch
        self._max_texts = max_texts
        self._max_passes = max_passes
        self._lock = threading.Lock()
        self._waiting: list[_Call] = []
        self._running = 0

    def encode(self, texts: Sequence[str]) -> Vectors:
        call = _Call(list(texts))
        with self._lock:
            self._waiting.append(call)
            if self._running < self._max_passes:
                self._running += 1
                call.leads = True
        while not call.finished:
            if call.leads:
                self._run_batch(call)
            else:
                call.wake.wait()
        if call.error is not None:
            raise call.error
        assert call.result is not None
        return call.result

    def _run_batch(self, leader: _Call) -> None:
        with self._lock:
            self._waiting.remove(leader)
            batch, left = [leader], []
            size = len(leader.texts)
            for call in self._waiting:  # oldest first; a call that leads runs its own batch
                if not call.leads and size + len(call.texts) <= self._max_texts:
                    batch.append(call)
                    size += len(call.texts)
                else:
                    left.append(call)
            self._waiting = left
        texts = [text for call in batch for text in call.texts]
        try:
            vectors: Vectors | None = self._encode_batch(texts)
            error: BaseException | None = None
        except BaseException as exc:  # every caller of the batch gets the error
            vectors, error = None, exc
        start = 0
        for call in batch:
            if vectors is not None:
                call.result = np.ascontiguousarray(vectors[start : start + len(call.texts)])
            call.error = error
            start += len(call.texts)
        with self._lock:
            successor = next((call for call in self._waiting if not call.leads), None)
            if successor is not None:
                successor.leads = True  # this pass goes on with the oldest waiting call
            else:
                self._running -= 1
        for call in batch:
            call.finished = True
            call.wake.set()
        if successor is not None:
            successor.wake.set()
