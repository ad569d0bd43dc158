"""One in-process LM shared by every request of the process, through a queue.

Callers (MCP tool threads, app sessions, LangGraph branches) put LM calls on the queue of a
``SharedLM`` and wait for their answer. One worker thread takes the oldest pending call (waiting
up to a short gather window for others to join it) together with every pending call of the same
kind, and runs them as one batch: completions with the same stop/max_tokens/temperature settings
as one left-padded ``generate`` (``BatchCompleter``), scorings of the same prompt as one ``score``
call. Scorings of different prompts are not merged: a scoring pass is already a batch over all
candidates, and on CPU it is compute-bound, so merging prompts would add padding, not speed.

"Oldest" is by the start of the user request a call belongs to (``request_scope``; the agent
opens one per recommendation), else by the call's own arrival: the request that came first gets
its answer first instead of every request finishing together at the end.

``shared_lm(spec)`` keeps one ``SharedLM`` per spec for in-process models (one loaded model per
spec: ``load_lm`` caches the backend); a model behind a server is returned as is. For a model on
a CPU it caps batches at one call (``CPU_MAX_BATCH``): measured there, batching did not shorten
the last of several answers and delayed the first (docs/benchmarks.md, "Shared LM").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from apipilot.agents.lm.base import BatchCompleter, LanguageModel
from apipilot.agents.lm.contract import check_completion_args, check_continuations, clean_stops
from apipilot.agents.lm.errors import LMUnavailable
from apipilot.agents.lm.kinds import find_kind
from apipilot.agents.lm.spec import LMSpec, load_lm, resolve_lm_spec
from apipilot.retrieval.errors import ConfigError

T = TypeVar("T")

DEFAULT_MAX_BATCH = 8
DEFAULT_GATHER_S = 0.01
# On a CPU a batch costs about as much as its calls one by one, and delays the first answers:
# measured in docs/benchmarks.md, "Shared LM". There the queue only orders calls, oldest first.
CPU_MAX_BATCH = 1

_REQUEST_STARTED: ContextVar[float | None] = ContextVar("apipilot_lm_request", default=None)


@contextmanager
def request_scope(started: float | None = None) -> Iterator[None]:
    """Mark the LM calls made inside (in this thread and in threads that copy its context, as
    LangGraph's do) as parts of one user request that started at ``started`` (a
    ``time.monotonic()`` value; default now). A shared LM serves older requests first. Nested
    scopes keep the outer request's start."""
    if _REQUEST_STARTED.get() is not None:
        yield
        return
    token = _REQUEST_STARTED.set(time.monotonic() if started is None else started)
    try:
        yield
    finally:
        _REQUEST_STARTED.reset(token)


def _priority() -> float:
    started = _REQUEST_STARTED.get()
    return time.monotonic() if started is None else started


@dataclass
class _Request:
    """One caller's request; requests with equal ``key`` can run as one batch."""

    prompt: str
    continuations: tuple[str, ...] = ()  # empty: a completion
    stop: tuple[str, ...] = ()
    max_tokens: int = 0
    temperature: float = 0.0
    future: Future[object] = field(default_factory=Future)
    queued_at: float = field(default_factory=time.monotonic)
    priority: float = field(default_factory=_priority)  # lower runs first

    @property
    def key(self) -> tuple[object, ...]:
        if self.continuations:
            return ("score", self.prompt)
        return ("complete", self.stop, self.max_tokens, self.temperature)


class SharedLM:
    """A ``LanguageModel`` that serves concurrent callers from one backend in batches.

    ``max_batch`` caps the requests in one batch; ``gather_s`` is how long the worker waits, from
    the arrival of the oldest pending request, for others to join it (0: take only what is
    already pending).
    The worker thread starts with the first request; ``close`` stops it and fails what is left.
    """

    def __init__(
        self,
        backend: LanguageModel,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        gather_s: float = DEFAULT_GATHER_S,
        autostart: bool = True,
    ) -> None:
        if max_batch < 1:
            raise ConfigError(f"max_batch must be at least 1, got {max_batch}")
        if gather_s < 0:
            raise ConfigError(f"gather_s must be 0 or more seconds, got {gather_s}")
        self.backend = backend
        self.name = backend.name
        self.max_batch = max_batch
        self.gather_s = gather_s
        self._autostart = autostart
        self._pending: list[_Request] = []
        self._cond = threading.Condition()
        self._closed = False
        self._worker: threading.Thread | None = None
        self.batch_sizes: list[int] = []  # requests per backend call, in order (stats, tests)

    # ---- LanguageModel ---------------------------------------------------------------------

    def complete(
        self,
        prompt: str,
        *,
        stop: Sequence[str] = (),
        max_tokens: int = 128,
        temperature: float = 0.0,
    ) -> str:
        check_completion_args(max_tokens, temperature)
        request = _Request(
            prompt, stop=tuple(clean_stops(stop)), max_tokens=max_tokens, temperature=temperature
        )
        return str(self._submit(request))

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        items = check_continuations(continuations)
        if not items:
            return []
        answer = self._submit(_Request(prompt, tuple(items)))
        assert isinstance(answer, list)
        return answer

    def info(self) -> dict[str, str]:
        return self.backend.info() | {
            "shared": f"one queue, batches of up to {self.max_batch}, "
            f"gather window {self.gather_s * 1000:g} ms"
        }

    # ---- queue ---------------------------------------------------------------------------

    def pending(self) -> int:
        """How many requests wait for the worker."""
        with self._cond:
            return len(self._pending)

    def wait_pending(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` requests wait (True), or ``timeout`` seconds pass."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._pending) >= count, timeout)

    def start(self) -> None:
        """Start the worker thread (the first request does it unless ``autostart`` is off)."""
        with self._cond:
            if self._closed:
                raise LMUnavailable(f"the shared LM {self.name} is shut down")
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name=f"shared-lm:{self.name}", daemon=True
                )
                self._worker.start()

    def close(self, timeout: float | None = None) -> None:
        """Stop taking requests; the batch running finishes, the ones still waiting fail with
        ``LMUnavailable``. Idempotent."""
        with self._cond:
            self._closed = True
            left = list(self._pending)
            self._pending.clear()
            worker = self._worker
            self._cond.notify_all()
        for request in left:
            request.future.set_exception(LMUnavailable(f"the shared LM {self.name} shut down"))
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    def _submit(self, request: _Request) -> object:
        with self._cond:
            if self._closed:
                raise LMUnavailable(f"the shared LM {self.name} is shut down")
            self._pending.append(request)
            self._cond.notify_all()
        if self._autostart and self._worker is None:
            self.start()
        return request.future.result()

    def _take(self) -> list[_Request] | None:
        """The next batch (None when closed): after waiting up to the gather window for more to
        arrive, the first pending call by priority and up to ``max_batch - 1`` others of its kind.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._closed)
            if self._closed:
                return None
            # the window runs from the oldest request's arrival: one that queued while a batch
            # ran has waited already
            deadline = self._pending[0].queued_at + self.gather_s
            while len(self._pending) < self.max_batch and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    break
            if not self._pending:
                return []
            ordered = sorted(self._pending, key=lambda r: r.priority)  # stable: FIFO on ties
            key = ordered[0].key
            group = [r for r in ordered if r.key == key][: self.max_batch]
            chosen = {id(r) for r in group}
            self._pending = [r for r in self._pending if id(r) not in chosen]
            return group

    def _run(self) -> None:
        while (group := self._take()) is not None:
            if not group:
                continue
            try:
                if group[0].continuations:
                    self._score_group(group)
                else:
                    self._complete_group(group)
            except BaseException as exc:  # never leave a caller waiting on a dead worker
                for request in group:
                    if not request.future.done():
                        request.future.set_exception(exc)

    def _complete_group(self, group: list[_Request]) -> None:
        first = group[0]
        stop, max_tokens, temperature = first.stop, first.max_tokens, first.temperature
        backend = self.backend
        if len(group) > 1 and isinstance(backend, BatchCompleter):
            prompts = [r.prompt for r in group]
            batched = _attempt(
                lambda: backend.complete_batch(
                    prompts, stop=stop, max_tokens=max_tokens, temperature=temperature
                )
            )
            if isinstance(batched, list) and len(batched) == len(group):
                self.batch_sizes.append(len(group))
                for request, text in zip(group, batched, strict=True):
                    request.future.set_result(text)
                return
        # One at a time: a backend without batches, one request, or a batch that failed
        # (so that a bad request fails only its own caller).
        for request in group:
            self.batch_sizes.append(1)
            call = partial(
                backend.complete,
                request.prompt,
                stop=stop,
                max_tokens=max_tokens,
                temperature=temperature,
            )
            _resolve(request, call)

    def _score_group(self, group: list[_Request]) -> None:
        prompt = group[0].prompt
        merged = [c for r in group for c in r.continuations]
        backend = self.backend
        if len(group) > 1:
            scores = _attempt(lambda: backend.score(prompt, merged))
            if isinstance(scores, list) and len(scores) == len(merged):
                self.batch_sizes.append(len(group))
                at = 0
                for request in group:
                    n = len(request.continuations)
                    request.future.set_result(scores[at : at + n])
                    at += n
                return
        for request in group:
            self.batch_sizes.append(1)
            _resolve(request, partial(backend.score, request.prompt, request.continuations))


def _attempt(call: Callable[[], object]) -> object:
    """``call()``, or the exception it raised (the caller then retries request by request)."""
    try:
        return call()
    except Exception as exc:  # every request is then retried alone, errors and all
        return exc


def _resolve(request: _Request, call: Callable[[], object]) -> None:
    try:
        request.future.set_result(call())
    except BaseException as exc:  # the caller's thread re-raises it
        request.future.set_exception(exc)


_SHARED: dict[LMSpec, SharedLM] = {}
_SHARED_LOCK = threading.Lock()


def shared_lm(spec: str | LMSpec | None = None) -> LanguageModel:
    """The process-wide model a spec names: for an in-process model one ``SharedLM`` per spec
    around the one loaded backend (``load_lm``); a model behind a server as ``load_lm`` gives it.
    """
    key = resolve_lm_spec(spec)
    backend = load_lm(key)
    kind = find_kind(key.kind)
    if kind is None or not kind.in_process:
        return backend
    with _SHARED_LOCK:
        shared = _SHARED.get(key)
        if shared is None or shared.backend is not backend or shared.closed:
            # a new backend (``clear_lm_cache`` dropped the old one): serve it, stop the old
            if shared is not None:
                shared.close(timeout=0)
            on_cpu = backend.info().get("device") == "cpu"
            shared = SharedLM(backend, max_batch=CPU_MAX_BATCH if on_cpu else DEFAULT_MAX_BATCH)
            _SHARED[key] = shared
        return shared


def close_shared_lms() -> None:
    """Stop every shared LM's worker (tests; shutting a server down)."""
    with _SHARED_LOCK:
        items = list(_SHARED.values())
        _SHARED.clear()
    for shared in items:
        shared.close()


def in_request_scope(items: Iterator[T], started: float | None = None) -> Iterator[T]:
    """``items``, each produced inside ``request_scope(started)`` (default: now), so that the LM
    calls a generator (the agent's graph stream) makes count as one request. The scope is not
    held while the consumer has the item."""
    started = time.monotonic() if started is None else started
    while True:
        with request_scope(started):
            try:
                item = next(items)
            except StopIteration:
                return
        yield item
