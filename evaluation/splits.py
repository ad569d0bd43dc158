"""The fixed dev/test split of every evaluation suite: one rule, derived from the task id.

A task is in ``dev`` when the first 8 bytes of ``sha256("apipilot-split-v1:" + task_id)``, read
as a fraction of 2**64, fall below ``DEV_SHARE``; otherwise in ``test``. The rule looks at the
task alone, so a task keeps its split when tasks are added to or removed from its suite, and the
same id gives the same split on every machine. 40/60 because test is where numbers are
reported: its larger share keeps their noise down, while dev only has to rank a handful of
candidate defaults (see evaluation/README.md, "Dev and test"). The realistic suite stores each
question's split in its file; a test checks that it equals this rule.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from apipilot.retrieval.errors import ConfigError

Split = Literal["dev", "test"]
SplitChoice = Literal["dev", "test", "all"]
SPLIT_CHOICES: tuple[SplitChoice, ...] = ("all", "dev", "test")
DEV_SHARE = 0.4
SALT = "apipilot-split-v1:"


def split_of(task_id: str) -> Split:
    """``dev`` or ``test`` for the task ``task_id`` (deterministic, see the module docstring)."""
    digest = hashlib.sha256((SALT + task_id).encode("utf-8")).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return "dev" if fraction < DEV_SHARE else "test"


def check_split(split: str) -> SplitChoice:
    """``split`` when it is a valid choice; otherwise a ConfigError naming the choices."""
    for choice in SPLIT_CHOICES:
        if split == choice:
            return choice
    raise ConfigError(f"unknown split {split!r}; valid: {', '.join(SPLIT_CHOICES)}")
