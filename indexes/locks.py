"""One exclusive lock per library@version, so two builds of one index never interleave.

A lock is ``fcntl.flock`` on a file that records the holder's pid. The kernel releases it when
the holder exits, killed or not, so a crashed build never leaves a stale lock behind. Each
acquisition opens its own descriptor, so the lock also excludes threads of one process.

(The ``filelock`` package would fit the locking itself, but its native lock neither records
nor reports who holds it; the message a waiting build gives must name the holder.)
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apipilot.errors import LockHeld as LockHeld

_POLL_SECONDS = (0.01, 0.05, 0.1, 0.25)


@contextmanager
def exclusive(path: Path, what: str, timeout: float) -> Iterator[None]:
    """Hold the lock file ``path`` for ``what``, waiting up to ``timeout`` seconds for it.

    Raises :class:`LockHeld`, naming the holder's pid, when the wait runs out.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, what, timeout)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, what: str, timeout: float) -> None:
    deadline = time.monotonic() + max(0.0, timeout)
    attempt = 0
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockHeld(_held_message(fd, path, what, timeout)) from None
            time.sleep(min(left, _POLL_SECONDS[min(attempt, len(_POLL_SECONDS) - 1)]))
            attempt += 1


def _held_message(fd: int, path: Path, what: str, timeout: float) -> str:
    pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
    if not pid.isdigit():
        holder = "a process that is starting it"
    elif int(pid) == os.getpid():
        holder = f"pid {pid} (this process)"
    else:
        holder = f"pid {pid}"
    waited = f"after waiting {timeout:g} s" if timeout > 0 else "and waiting was not asked for"
    return (
        f"{what} is being built or removed by {holder}, {waited}; let it finish and retry, "
        f"or stop that process (lock file: {path})"
    )
