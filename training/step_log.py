"""When a training loop writes its ``step N/M …`` line.

Every ``every`` steps and at the last step, as before, and also whenever ``interval`` seconds
have passed since the previous line: on a loaded CPU twenty steps can take minutes, and the
progress of ``apipilot train`` (``ui.progress.logging_progress`` reads these lines) must move
at least every ``$APIPILOT_PROGRESS_INTERVAL`` seconds (10 by default).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class StepClock:
    """``due(step)`` says whether step ``step`` (0-based) of ``total`` should be logged."""

    def __init__(
        self,
        total: int,
        every: int,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval is None:
            from apipilot.ui.progress import progress_interval

            interval = progress_interval()
        self.total = total
        self.every = every
        self.interval = interval
        self._clock = clock
        self._last = clock()

    def due(self, step: int) -> bool:
        now = self._clock()
        if step % self.every == 0 or step == self.total - 1 or now - self._last >= self.interval:
            self._last = now
            return True
        return False
