"""Evaluation suites: the five fine-grained sets and the coarse-grained set built from them.

Fine-grained: one task per query, as published (``load_tasks``): TorchDataEval, MonkeyEval,
BeatNumEval, PandasEval, NumpyEval, scored against the ``pool`` index of each library.

Coarse-grained (our construction, not a published set): per library, ``COARSE_PER_LIBRARY``
requirements, each made by joining 2–4 distinct fine-grained tasks of that library drawn with
``random.Random(f"{COARSE_SEED}:{library}")``. The queries are joined into one sentence with
``", then "`` (trailing punctuation stripped, one final full stop); the gold list is the union of
the tasks' gold names in task order. The same seed gives the same suite on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from apipilot.evaluation.data import LIBRARIES, SUITE_NAMES, EvalTask, load_tasks
from apipilot.retrieval.errors import ConfigError

Kind = Literal["fine", "coarse"]
KINDS: tuple[Kind, ...] = ("fine", "coarse")
COARSE_SEED = 20240611
COARSE_PER_LIBRARY = 30
COARSE_SIZES = (2, 3, 4)
JOINER = ", then "
POOL_VERSION = "pool"


@dataclass(frozen=True)
class Suite:
    name: str  # TorchDataEval, Coarse-TorchDataEval, …
    kind: Kind
    library: str
    version: str  # the index version the suite retrieves from
    tasks: tuple[EvalTask, ...]


def fine_suite(library: str) -> Suite:
    tasks = tuple(load_tasks(library))
    return Suite(SUITE_NAMES[library], "fine", library, POOL_VERSION, tasks)


def join_queries(queries: list[str]) -> str:
    parts = [q.strip().rstrip(".?!;, ").strip() for q in queries]
    return JOINER.join(p for p in parts if p) + "."


def coarse_suite(library: str, count: int = COARSE_PER_LIBRARY, seed: int = COARSE_SEED) -> Suite:
    """``count`` requirements of 2–4 joined tasks of ``library`` (deterministic for ``seed``)."""
    fine = load_tasks(library)
    rng = random.Random(f"{seed}:{library}")
    tasks: list[EvalTask] = []
    for i in range(count):
        chosen = rng.sample(fine, rng.choice(COARSE_SIZES))
        gold: dict[str, None] = {}
        for task in chosen:
            gold.update(dict.fromkeys(task.gold))
        task_id = "+".join(t.task_id for t in chosen)
        tasks.append(
            EvalTask(
                task_id,
                f"coarse-{library}-{i}",
                join_queries([t.query for t in chosen]),
                tuple(gold),
            )
        )
    return Suite(f"Coarse-{SUITE_NAMES[library]}", "coarse", library, POOL_VERSION, tuple(tasks))


def suite_choices() -> list[str]:
    return ["all", *KINDS, *SUITE_NAMES.values(), *(f"Coarse-{n}" for n in SUITE_NAMES.values())]


def select_suites(suite: str = "all", library: str | None = None) -> list[Suite]:
    """The suites named by ``suite`` (all, fine, coarse or one suite name), for ``library``."""
    libraries = LIBRARIES if library is None else (library,)
    if library is not None and library not in LIBRARIES:
        raise ConfigError(f"unknown library {library!r}; valid: {', '.join(LIBRARIES)}")
    wanted: list[tuple[Kind, str]] = []
    for lib in libraries:
        name = SUITE_NAMES[lib]
        for kind in KINDS:
            full = name if kind == "fine" else f"Coarse-{name}"
            if suite in ("all", kind) or suite.lower() == full.lower():
                wanted.append((kind, lib))
    if not wanted:
        valid = ", ".join(suite_choices())
        raise ConfigError(f"no suite {suite!r} for {library or 'any library'}; valid: {valid}")
    order = {kind: i for i, kind in enumerate(KINDS)}
    wanted.sort(key=lambda item: order[item[0]])
    return [fine_suite(lib) if kind == "fine" else coarse_suite(lib) for kind, lib in wanted]
