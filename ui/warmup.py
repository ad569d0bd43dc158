"""Warm-up for the servers: load the indexes, the query embedder and the LM before the first call.

The MCP server and the app start a :class:`Warmup` as they start. It runs its steps once, in a
background thread; a call that needs them waits (:meth:`Warmup.wait`) instead of loading them a
second time. A step that fails is logged and skipped: the first call that needs it then meets
the same error, with its usual message.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import apipilot

logger = logging.getLogger(__name__)

WARMUP_QUERY = "warm up"
Step = tuple[str, Callable[[], object]]  # (what it loads, the call that loads it)


@dataclass(frozen=True)
class WarmupReport:
    """What a warm-up loaded, what failed (``name: reason``), and how long it took."""

    loaded: tuple[str, ...]
    failed: tuple[str, ...]
    seconds: float
    indexes: int
    lm: bool

    def summary(self, what: str) -> str:
        """``"<what> ready (9 indexes, embedder, LM) in 2.1 s"``."""
        parts = [f"{self.indexes} index{'es' if self.indexes != 1 else ''}"]
        if self.indexes:
            parts.append("embedder")
        if self.lm:
            parts.append("LM")
        failed = f"; not loaded: {', '.join(self.failed)}" if self.failed else ""
        return f"{what} ready ({', '.join(parts)}) in {self.seconds:.1f} s{failed}"


class Warmup:
    """Runs ``steps`` once in a daemon thread; :meth:`wait` blocks until they are done."""

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        on_ready: Callable[[WarmupReport], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._steps = list(steps)
        self._on_ready = on_ready
        self._clock = clock
        self._done = threading.Event()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None
        self.report: WarmupReport | None = None

    @classmethod
    def finished(cls) -> Warmup:
        """A warm-up with nothing to do, already done (``--no-warmup``)."""
        warmup = cls([])
        warmup.run()
        return warmup

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def start(self) -> Warmup:
        """Start the background thread (once; later calls do nothing)."""
        if self._started.acquire(blocking=False):
            self._thread = threading.Thread(target=self.run, name="apipilot-warmup", daemon=True)
            self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the warm-up is done (or ``timeout`` seconds); whether it is done."""
        return self._done.wait(timeout)

    def run(self) -> WarmupReport:
        """Run every step in this thread, then report (what :meth:`start` runs)."""
        began = self._clock()
        loaded: list[str] = []
        failed: list[str] = []
        try:
            for name, load in self._steps:
                try:
                    load()
                    loaded.append(name)
                except Exception as exc:  # the first call that needs it reports it properly
                    logger.warning("warm-up could not load %s: %s", name, exc)
                    failed.append(f"{name}: {type(exc).__name__}")
        finally:
            self.report = WarmupReport(
                tuple(loaded),
                tuple(failed),
                self._clock() - began,
                indexes=sum(1 for name in loaded if "@" in name),
                lm=LM_STEP in loaded,
            )
            self._done.set()
        if self._on_ready is not None:
            self._on_ready(self.report)
        return self.report


LM_STEP = "LM"
AGENT_STEP = "agent"


def serving_steps(home: Path | None, llm: str | None, *, with_lm: bool) -> list[Step]:
    """What a first call would load: the newest version of every library, searched once so the
    embedder runs too; with ``with_lm``, the LM and the agent (one recommend without the LM).

    Without an in-process LM the agent is not warmed: servers started with ``--llm none``
    (tests, CI) stay cheap to start, and their first ``recommend_apis`` imports the agent."""
    steps: list[Step] = []
    try:
        libraries = apipilot.list_libraries(home)
    except apipilot.ApipilotError as exc:
        logger.warning("warm-up could not list the indexes: %s", exc)
        libraries = []
    for library in libraries:

        def search(name: str = library.library, version: str = library.latest) -> object:
            return apipilot.search(name, WARMUP_QUERY, version=version, k=1, home=home)

        steps.append((f"{library.library}@{library.latest}", search))
    if with_lm:
        steps.append((LM_STEP, lambda: apipilot.load_lm(llm)))
        if libraries:
            # the agent's modules and the library's example bank; "none": no generation here
            names = [info.library for info in libraries]
            agent_library = (
                apipilot.DEFAULT_LIBRARY if apipilot.DEFAULT_LIBRARY in names else names[0]
            )
            options = apipilot.RecommendOptions(k=1, llm=apipilot.NO_LM)

            def recommend() -> object:
                return apipilot.recommend(WARMUP_QUERY, agent_library, options=options, home=home)

            steps.append((AGENT_STEP, recommend))
    return steps


def lm_in_process(llm: str | None) -> bool:
    """Whether ``llm`` (``$APIPILOT_LLM`` or the embedded model when None) runs in this process."""
    spec = llm if llm is not None else os.environ.get(apipilot.LM_ENV_VAR, "")
    return apipilot.lm_runs_in_process(spec)
