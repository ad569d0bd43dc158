"""The evaluation suites: published task counts, the deterministic coarse-grained suite, the
realistic suite and the fixed dev/test split."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest

from apipilot.evaluation.data import (
    LIBRARIES,
    contaminated,
    evaluation_texts,
    load_tasks,
    normalise,
)
from apipilot.evaluation.realistic import load_questions, package_of, realistic_libraries
from apipilot.evaluation.splits import split_of
from apipilot.evaluation.suites import (
    COARSE_DEV_PER_LIBRARY,
    COARSE_PER_LIBRARY,
    JOINER,
    coarse_dev_suite,
    coarse_suite,
    fine_suite,
    realistic_suite,
    select_suites,
    with_split,
)
from apipilot.indexes.sources import read_source
from apipilot.retrieval.errors import ConfigError
from apipilot.training.dataset import forbidden_texts

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


@pytest.mark.parametrize("library", LIBRARIES)
def test_the_large_coarse_dev_suite_joins_fine_dev_tasks_only(library: str) -> None:
    suite = coarse_dev_suite(library)
    assert suite == coarse_dev_suite(library) and suite.split == "dev"
    assert len(suite.tasks) == COARSE_DEV_PER_LIBRARY
    assert len({t.task_id for t in suite.tasks}) == len(suite.tasks)  # no combination twice
    fine = {t.task_id: t for t in load_tasks(library)}
    for task in suite.tasks:
        parts = task.task_id.split("+")
        assert all(split_of(p) == "dev" for p in parts)
        assert set(task.gold) == {name for p in parts for name in fine[p].gold}
    assert with_split(suite, "dev") is suite and with_split(suite, "test").tasks == ()


def test_select_suites() -> None:
    assert [s.name for s in select_suites("all", "monkey")] == ["MonkeyEval", "Coarse-MonkeyEval"]
    assert len(select_suites("fine")) == 5
    assert [s.name for s in select_suites("coarse-pandaseval")] == ["Coarse-PandasEval"]
    with pytest.raises(ConfigError):
        select_suites("nope")
    with pytest.raises(ConfigError):
        select_suites("all", "scipy")


def test_the_split_rule_is_fixed_and_about_40_60() -> None:
    # known values: changing the rule (salt, hash, share) must show up here
    assert [split_of(f"TorchDataEval/{i}") for i in range(6)] == KNOWN_SPLITS
    shares = [split_of(f"task-{i}") for i in range(2000)]
    assert 0.37 < shares.count("dev") / len(shares) < 0.43


KNOWN_SPLITS = ["test", "dev", "dev", "test", "test", "test"]


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_split_partitions_every_suite(library: str) -> None:
    for whole in (fine_suite(library), coarse_suite(library)):
        dev, test = with_split(whole, "dev"), with_split(whole, "test")
        assert with_split(whole, "all") is whole
        assert dev.name == f"{whole.name} [dev]" and test.split == "test"
        dev_ids = {t.task_id for t in dev.tasks}
        test_ids = {t.task_id for t in test.tasks}
        assert not dev_ids & test_ids
        assert dev_ids | test_ids == {t.task_id for t in whole.tasks}
        assert dev.tasks and test.tasks


def test_coarse_split_sizes() -> None:
    sizes = [len(s.tasks) for s in select_suites("coarse", split="dev")]
    assert sizes == [10, 12, 9, 12, 13]  # of 30 each: the rest is test


def test_select_suites_by_split_and_realistic_kind() -> None:
    names = [s.name for s in select_suites("realistic", split="test")]
    assert names == [f"Realistic-{lib} [test]" for lib in realistic_libraries()]
    assert [s.kind for s in select_suites("Realistic-rich")] == ["realistic"]
    assert [s.name for s in select_suites("all", "click")] == ["Realistic-click"]
    with pytest.raises(ConfigError, match="unknown split 'train'"):
        select_suites("fine", split="train")
    with pytest.raises(ConfigError, match="no suite 'realistic' for torchdata"):
        select_suites("realistic", "torchdata")


def test_the_realistic_suite_is_large_enough_and_stores_the_split_rule() -> None:
    libraries = realistic_libraries()
    assert len(libraries) >= 6
    suites = [realistic_suite(lib) for lib in libraries]
    assert sum(len(s.tasks) for s in suites) >= 60
    for suite in suites:
        assert suite.any_gold and suite.source == f"pkg:{package_of(load_questions(suite.library))}"
        assert suite.version == metadata.version(suite.library)
        for question in load_questions(suite.library):
            assert question.split == split_of(question.id)  # load_questions checks it too
    ids = [t.task_id for s in suites for t in s.tasks]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x-1", "library": "demo", "question": "q", "gold": ["demo.f"]}', "missing split"),
        (
            '{"id": "x-1", "library": "other", "question": "q", "gold": ["demo.f"], "split": "S"}',
            "library 'other' in the file of 'demo'",
        ),
        (
            '{"id": "x-1", "library": "demo", "question": "q", "gold": [], "split": "S"}',
            "gold must be a non-empty list",
        ),
        (
            '{"id": "x-1", "library": "demo", "question": "q", "gold": ["demo.f"], "split": "W"}',
            "the split rule gives",
        ),
        ("[1, 2]", "must be a JSON object"),
        ("{nope", "not JSON"),
    ],
)
def test_bad_realistic_lines_are_refused_naming_file_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    right = split_of("x-1")
    wrong = "dev" if right == "test" else "test"
    (tmp_path / "demo.jsonl").write_text(
        "\n" + line.replace('"S"', f'"{right}"').replace('"W"', f'"{wrong}"') + "\n"
    )
    with pytest.raises(ConfigError, match=message) as caught:
        load_questions("demo", tmp_path)
    assert "demo.jsonl:2" in str(caught.value)


def test_duplicate_realistic_ids_are_refused(tmp_path: Path) -> None:
    row = {"id": "x-1", "library": "demo", "question": "q", "gold": ["demo.f"]}
    line = json.dumps(row | {"split": split_of("x-1")})
    (tmp_path / "demo.jsonl").write_text(f"{line}\n{line}\n")
    with pytest.raises(ConfigError, match=r"demo\.jsonl:2: id .x-1. is used twice"):
        load_questions("demo", tmp_path)
    with pytest.raises(ConfigError, match="valid: demo"):
        load_questions("nope", tmp_path)


def test_realistic_questions_are_forbidden_in_training_data() -> None:
    questions = [q.question for lib in realistic_libraries() for q in load_questions(lib)]
    # like every evaluation text, a question under 20 characters is too generic to forbid
    short = [q for q in questions if len(normalise(q)) < 20]
    assert short == ["show a progress bar"]
    for forbidden in (evaluation_texts(), forbidden_texts()):
        assert {normalise(q) for q in questions if q not in short} <= set(forbidden)
    assert contaminated(f"A pair: {questions[0].upper()}!", forbidden)


@pytest.mark.parametrize("library", realistic_libraries())
def test_every_realistic_gold_name_is_a_record_of_the_pkg_reader(library: str) -> None:
    """The reader the eval index is built with produces every gold name (qualified names)."""
    suite = realistic_suite(library)
    assert suite.source is not None
    read = read_source(suite.source)
    assert (read.library, read.version) == (suite.library, suite.version)
    names = {r.qualified_name for r in read.report.records}
    missing = {g for t in suite.tasks for g in t.gold} - names
    assert not missing, f"{library}: gold names the reader does not produce: {sorted(missing)}"
