"""Evaluation suites: the five fine-grained sets and the coarse-grained set built from them.

Fine-grained: one task per query, as published (``load_tasks``): TorchDataEval, MonkeyEval,
BeatNumEval, PandasEval, NumpyEval, scored against the ``pool`` index of each library.

Coarse-grained (our construction, not a published set): per library, ``COARSE_PER_LIBRARY``
requirements, each made by joining 2–4 distinct fine-grained tasks of that library drawn with
``random.Random(f"{COARSE_SEED}:{library}")``. The queries are joined into one sentence with
``", then "`` (trailing punctuation stripped, one final full stop); the gold list is the union of
the tasks' gold names in task order. The same seed gives the same suite on every machine.

Coarse dev, large (``coarse_dev_suite``, for choosing the agent's defaults): the same
construction over the fine-grained *dev* tasks only, ``COARSE_DEV_PER_LIBRARY`` requirements
per library with their own seed. The 30-requirement suites leave 9–13 dev requirements per
library, too few to rank candidates that differ by a task or two; this one holds no task of a
fine test query, so every requirement is dev.

Realistic (``evaluation/realistic.py``): hand-written everyday questions per installed library,
scored against ``<library>@<installed version>`` built from ``pkg:<module>``; a question's gold
names are alternatives (any one counts as a hit, ``Suite.any_gold``).

Every suite can be cut to its dev or test tasks (``with_split``; the rule is
``evaluation/splits.py``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Literal

from apipilot.evaluation.data import LIBRARIES, SUITE_NAMES, EvalTask, load_tasks
from apipilot.evaluation.realistic import (
    DEFAULT_SOURCES,
    check_sources,
    installed_version,
    load_questions,
    realistic_index,
    realistic_libraries,
)
from apipilot.evaluation.splits import SplitChoice, check_split, split_of
from apipilot.retrieval.errors import ConfigError

Kind = Literal["fine", "coarse", "realistic"]
KINDS: tuple[Kind, ...] = ("fine", "coarse", "realistic")
POOL_KINDS: tuple[Kind, ...] = ("fine", "coarse")  # the kinds scored on the shipped pools
REALISTIC_PREFIX = "Realistic-"
COARSE_SEED = 20240611
COARSE_PER_LIBRARY = 30
COARSE_SIZES = (2, 3, 4)
COARSE_DEV_SEED = 20261130
COARSE_DEV_PER_LIBRARY = 100
JOINER = ", then "
POOL_VERSION = "pool"


@dataclass(frozen=True)
class Suite:
    name: str  # TorchDataEval, Coarse-TorchDataEval, Realistic-rich, "… [test]" when split
    kind: Kind
    library: str
    version: str  # the index version the suite retrieves from
    tasks: tuple[EvalTask, ...]
    source: str | None = None  # what builds the index when it is missing (pkg:rich); None: shipped
    split: SplitChoice = "all"

    @property
    def any_gold(self) -> bool:
        """The gold names are alternatives (one hit answers the task), not a list to recall."""
        return self.kind == "realistic"


def fine_suite(library: str) -> Suite:
    tasks = tuple(load_tasks(library))
    return Suite(SUITE_NAMES[library], "fine", library, POOL_VERSION, tasks)


def join_queries(queries: list[str]) -> str:
    parts = [q.strip().rstrip(".?!;, ").strip() for q in queries]
    return JOINER.join(p for p in parts if p) + "."


def coarse_suite(library: str, count: int = COARSE_PER_LIBRARY, seed: int = COARSE_SEED) -> Suite:
    """``count`` requirements of 2–4 joined tasks of ``library`` (deterministic for ``seed``)."""
    tasks = _joined_tasks(library, load_tasks(library), count, seed, "coarse")
    return Suite(f"Coarse-{SUITE_NAMES[library]}", "coarse", library, POOL_VERSION, tasks)


def coarse_dev_suite(
    library: str, count: int = COARSE_DEV_PER_LIBRARY, seed: int = COARSE_DEV_SEED
) -> Suite:
    """``count`` requirements joining 2–4 fine-grained *dev* tasks of ``library``; all dev."""
    fine = [t for t in load_tasks(library) if split_of(t.task_id) == "dev"]
    tasks = _joined_tasks(library, fine, count, seed, "coarse-dev", distinct=True)
    name = f"Coarse-{SUITE_NAMES[library]} [dev, {count} from fine dev]"
    return Suite(name, "coarse", library, POOL_VERSION, tasks, split="dev")


def _joined_tasks(
    library: str,
    fine: list[EvalTask],
    count: int,
    seed: int,
    prefix: str,
    *,
    distinct: bool = False,
) -> tuple[EvalTask, ...]:
    """``count`` requirements, each 2–4 of ``fine`` joined; ``distinct``: redraw a combination
    already drawn."""
    rng = random.Random(f"{seed}:{library}")
    tasks: list[EvalTask] = []
    drawn: set[str] = set()
    while len(tasks) < count:
        i = len(tasks)
        chosen = rng.sample(fine, rng.choice(COARSE_SIZES))
        gold: dict[str, None] = {}
        for task in chosen:
            gold.update(dict.fromkeys(task.gold))
        task_id = "+".join(t.task_id for t in chosen)
        if distinct and task_id in drawn:
            continue
        drawn.add(task_id)
        tasks.append(
            EvalTask(
                task_id,
                f"{prefix}-{library}-{i}",
                join_queries([t.query for t in chosen]),
                tuple(gold),
            )
        )
    return tuple(tasks)


def realistic_suite(library: str, sources: str = DEFAULT_SOURCES) -> Suite:
    """The realistic questions of ``library``, against its installed version's ``pkg:`` index
    (``sources="sdist"``: its source archive's whole documentation; the suite is named
    ``Realistic-LIB (sdist)``)."""
    questions = load_questions(library)
    tasks = tuple(EvalTask(q.id, q.id, q.question, q.gold) for q in questions)
    source, version = realistic_index(questions, library, installed_version(library), sources)
    suffix = "" if sources == DEFAULT_SOURCES else f" ({sources})"
    return Suite(
        f"{REALISTIC_PREFIX}{library}{suffix}",
        "realistic",
        library,
        version,
        tasks,
        source=source,
    )


def with_split(suite: Suite, split: str) -> Suite:
    """``suite`` cut to its ``dev`` or ``test`` tasks (``all``: unchanged); the name says which."""
    chosen = check_split(split)
    if chosen == "all" or chosen == suite.split:
        return suite
    if suite.split != "all":  # a suite made of one split only (coarse_dev_suite)
        return replace(suite, name=f"{suite.name} [{chosen}]", tasks=(), split=chosen)
    tasks = tuple(t for t in suite.tasks if split_of(t.task_id) == chosen)
    return replace(suite, name=f"{suite.name} [{chosen}]", tasks=tasks, split=chosen)


def suite_choices() -> list[str]:
    return [
        "all",
        *KINDS,
        *SUITE_NAMES.values(),
        *(f"Coarse-{n}" for n in SUITE_NAMES.values()),
        *(f"{REALISTIC_PREFIX}{lib}" for lib in realistic_libraries()),
    ]


def _suite_name(kind: Kind, library: str) -> str:
    if kind == "realistic":
        return f"{REALISTIC_PREFIX}{library}"
    name = SUITE_NAMES[library]
    return name if kind == "fine" else f"Coarse-{name}"


def select_suites(
    suite: str = "all",
    library: str | None = None,
    split: str = "all",
    realistic_sources: str = DEFAULT_SOURCES,
) -> list[Suite]:
    """The suites named by ``suite`` (all, fine, coarse, realistic or one suite name), for
    ``library``, cut to ``split`` (all, dev or test); realistic suites on indexes of
    ``realistic_sources`` (``pkg`` or ``sdist``, see :mod:`evaluation.realistic`)."""
    check_split(split)
    check_sources(realistic_sources)
    realistic = realistic_libraries()
    pairs = [(kind, lib) for kind in POOL_KINDS for lib in LIBRARIES]
    pairs += [("realistic", lib) for lib in realistic]
    if library is not None and library not in (*LIBRARIES, *realistic):
        valid = ", ".join((*LIBRARIES, *realistic))
        raise ConfigError(f"unknown library {library!r}; valid: {valid}")
    wanted = [
        (kind, lib)
        for kind, lib in pairs
        if (library is None or lib == library)
        and (suite in ("all", kind) or suite.lower() == _suite_name(kind, lib).lower())
    ]
    if not wanted:
        valid = ", ".join(suite_choices())
        raise ConfigError(f"no suite {suite!r} for {library or 'any library'}; valid: {valid}")

    def realistic_of(lib: str) -> Suite:
        return realistic_suite(lib, realistic_sources)

    makers = {"fine": fine_suite, "coarse": coarse_suite, "realistic": realistic_of}
    return [with_split(makers[kind](lib), split) for kind, lib in wanted]
