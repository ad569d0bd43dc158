"""The evaluation suites: published task counts and the deterministic coarse-grained suite."""

from __future__ import annotations

import pytest

from apipilot.evaluation.data import LIBRARIES, load_tasks
from apipilot.evaluation.suites import (
    COARSE_PER_LIBRARY,
    JOINER,
    coarse_suite,
    fine_suite,
    select_suites,
)
from apipilot.retrieval.errors import ConfigError

COUNTS = {"torchdata": 49, "monkey": 87, "beatnum": 78, "pandas": 87, "numpy": 78}


@pytest.mark.parametrize("library", LIBRARIES)
def test_fine_suites_have_the_published_task_counts(library: str) -> None:
    suite = fine_suite(library)
    assert len(suite.tasks) == COUNTS[library]
    assert suite.version == "pool" and suite.kind == "fine"
    assert all(t.gold and t.query for t in suite.tasks)


@pytest.mark.parametrize("library", LIBRARIES)
def test_coarse_suite_is_deterministic_and_built_from_fine_tasks(library: str) -> None:
    first, second = coarse_suite(library), coarse_suite(library)
    assert first == second
    assert len(first.tasks) == COARSE_PER_LIBRARY
    fine = {t.task_id: t for t in load_tasks(library)}
    for task in first.tasks:
        parts = task.task_id.split("+")
        assert 2 <= len(parts) <= 4 and len(set(parts)) == len(parts)
        assert task.query.count(JOINER) == len(parts) - 1 and task.query.endswith(".")
        union = {name for p in parts for name in fine[p].gold}
        assert set(task.gold) == union and len(task.gold) == len(union)
    assert coarse_suite(library, seed=1) != first


def test_select_suites() -> None:
    assert [s.name for s in select_suites("all", "monkey")] == ["MonkeyEval", "Coarse-MonkeyEval"]
    assert len(select_suites("fine")) == 5
    assert [s.name for s in select_suites("coarse-pandaseval")] == ["Coarse-PandasEval"]
    with pytest.raises(ConfigError):
        select_suites("nope")
    with pytest.raises(ConfigError):
        select_suites("all", "scipy")
