"""Progress of long phases (read, embed, write, eval, train) on stderr.

On a terminal: a rich progress bar per phase. Otherwise (a log, a CI job, a pipe): plain lines
such as ``apipilot: embed 1200/7000 records (17%), 41 s, ~3 min left``, at most every
``interval`` seconds (``$APIPILOT_PROGRESS_INTERVAL``, default 10) and when a phase ends. A
background thread repeats the current state when no update came for ``interval`` seconds, so
a slow batch, a long read or a long write still prints a line at least that often. A job that
ends within its first ``interval`` prints nothing, so quick commands and their errors stay
one line.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

import apipilot

INTERVAL_ENV = "APIPILOT_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 10.0
PREFIX = "apipilot:"


def progress_interval(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds between plain progress lines: ``$APIPILOT_PROGRESS_INTERVAL`` or 10."""
    text = environ.get(INTERVAL_ENV, "").strip()
    if not text:
        return DEFAULT_INTERVAL
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise apipilot.ConfigError(
            f"{INTERVAL_ENV}={text!r} is not a number of seconds above 0, e.g. 10 or 0.5"
        )
    return seconds


def duration(seconds: float) -> str:
    """``41 s``, ``3 min``, ``1 h 5 min``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


@dataclass
class _Phase:
    name: str
    unit: str
    started: float
    done: int = 0
    total: int = 0
    ended: bool = False


def progress_line(phase: str, done: int, total: int, unit: str, elapsed: float) -> str:
    """``apipilot: embed 1200/7000 records (17%), 41 s, ~3 min left`` (no count while the
    total is unknown, no estimate in the first second or after the last item)."""
    if total <= 0:
        count = f" {done} {unit}" if done else ""
        return f"{PREFIX} {phase}{count}, {duration(elapsed)}"
    line = f"{PREFIX} {phase} {done}/{total} {unit} ({100 * done // total}%), {duration(elapsed)}"
    if 0 < done < total and elapsed >= 1:  # too early for an estimate before that
        line += f", ~{duration(elapsed / done * (total - done))} left"
    return line


class PhaseProgress:
    """Call :meth:`update` with ``(phase, done, total)``; use as a context manager.

    ``tty`` (default: whether ``stream`` is a terminal) picks the rich bar or plain lines;
    ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        label: str = "",
        *,
        stream: TextIO | None = None,
        tty: bool | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = progress_interval() if interval is None else interval
        self.clock = clock
        self._lock = threading.Lock()
        self._phase: _Phase | None = None
        self._last_line = clock()  # the first line comes after one interval
        self._printed = False
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._bar: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    # ---- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> PhaseProgress:
        if self.tty:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._bar.start()
        else:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(finished=exc_type is None)

    def close(self, finished: bool = True) -> None:
        """Stop the bar or the ticker; a plain final line for a phase that did not end."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._bar is not None:
            self._bar.stop()
        with self._lock:
            phase = self._phase
            if phase is not None and not phase.ended and self._printed and finished:
                self._print(phase)

    # ---- updates ------------------------------------------------------------------------

    def update(self, phase: str, done: int, total: int, unit: str = "records") -> None:
        """``done`` of ``total`` ``unit`` of ``phase`` (total 0: not known yet)."""
        with self._lock:
            now = self.clock()
            current = self._phase
            if current is None or current.name != phase:
                if current is not None and not current.ended and self._printed:
                    self._print(current)  # the previous phase's last state
                current = self._phase = _Phase(phase, unit, now)
            ended_now = total > 0 and done >= total and not current.ended
            current.done, current.total, current.unit = done, total, unit
            current.ended = current.ended or ended_now
            if self._bar is not None:
                self._show_bar(current)
            elif (ended_now and self._printed) or now - self._last_line >= self.interval:
                self._print(current)

    def callback(self, phase: str, unit: str = "records") -> Callable[[int, int], None]:
        """A ``(done, total)`` callback that reports ``phase``."""
        return lambda done, total: self.update(phase, done, total, unit)

    # ---- output -------------------------------------------------------------------------

    def _title(self, phase: str) -> str:
        return f"{self.label} {phase}".strip()

    def _show_bar(self, phase: _Phase) -> None:
        assert self._bar is not None
        task = self._tasks.get(phase.name)
        if task is None:
            task = self._tasks[phase.name] = self._bar.add_task(self._title(phase.name))
        self._bar.update(task, completed=phase.done, total=phase.total or None)

    def _print(self, phase: _Phase) -> None:
        """Print ``phase``'s state (the caller holds the lock)."""
        now = self.clock()
        name = self._title(phase.name)
        line = progress_line(name, phase.done, phase.total, phase.unit, now - phase.started)
        print(line, file=self.stream, flush=True)
        self._last_line = now
        self._printed = True

    def _tick(self) -> None:
        """Repeat the current state when nothing was printed for ``interval`` seconds."""
        step = min(self.interval, 1.0) / 4
        while not self._stop.wait(step):
            with self._lock:
                phase = self._phase
                due = self.clock() - self._last_line >= self.interval
                if phase is not None and not phase.ended and due:
                    self._print(phase)


_STEP = re.compile(r"^step (\d+)/(\d+)\b")


def logging_progress(
    progress: PhaseProgress, log: Callable[[str], None], phase: str = "train"
) -> Callable[[str], None]:
    """A training ``log`` callback that also reports its ``step N/M …`` lines as ``phase``
    progress (the training loops log a step line every 20 steps and at the last)."""

    def report(line: str) -> None:
        log(line)
        if match := _STEP.match(line):
            progress.update(phase, int(match.group(1)), int(match.group(2)), unit="steps")

    return report
