"""The decomposer's training set: the agent's prompt formats, valid targets, no evaluation text."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from apipilot.agents.prompts import DECOMPOSE_HEADER, SKILLS_HEADER
from apipilot.agents.text import parse_numbered_list, valid_skills, valid_subtasks
from apipilot.evaluation.data import LIBRARIES, normalise
from apipilot.evaluation.suites import coarse_suite
from apipilot.indexes.record import ApiRecord
from apipilot.training.dataset import ContaminationError, forbidden_texts
from apipilot.training.decomposer_data import (
    PART_STEPS,
    DecomposerExample,
    assert_clean,
    build_decomposer_set,
    compound_example,
    join_parts,
    library_examples,
    numbered,
    read_examples,
    write_examples,
)
from apipilot.training.decomposer_phrases import requirement_text, skill_phrase, step_phrase
from tests.conftest import make_record

SUMMARIES = [
    ("shuffle", "Shuffles the elements of a sequence with a buffer."),
    ("batch", "Groups consecutive elements into mini-batches of a given size."),
    ("parse_csv", "Parses rows of comma separated values from text files."),
    ("list_files", "Lists the files in a directory matching a pattern."),
    ("open_files", "Opens files and yields file handles."),
    ("zip_with", "Combines two sequences element by element."),
    ("Table", "Tabular data that is two-dimensional."),
    ("sort_rows", "Sorts the rows by the values of a column."),
    ("fill_na", "Fills missing values with a given constant."),
    ("drop_dupes", "Removes duplicated rows of a table."),
]


@pytest.fixture(scope="module")
def records() -> list[ApiRecord]:
    return [make_record(name, summary) for name, summary in SUMMARIES]


def test_steps_and_skills_from_summaries(records: list[ApiRecord]) -> None:
    by_name = {r.name: r for r in records}
    assert step_phrase(by_name["shuffle"]) == "Shuffle the elements of a sequence with a buffer"
    assert step_phrase(by_name["Table"]) is None  # not an operation
    assert skill_phrase("Read rows of `data.csv` with IterableWrapper") == "read rows"
    assert skill_phrase("Shuffle the elements of a sequence with a buffer") == (
        "shuffle the elements of a sequence"
    )


def test_requirement_keeps_every_step_in_order() -> None:
    rng = random.Random(3)
    steps = ["Sort the rows by a column", "Remove duplicated rows", "Fill missing values"]
    for _ in range(30):
        text = requirement_text(steps, rng).lower()
        spots = [text.find(s.split(" ", 1)[1].lower()) for s in steps]
        assert all(s >= 0 for s in spots) and spots == sorted(spots)


def test_long_forms_and_background_keep_the_steps() -> None:
    rng = random.Random(0)
    steps = ["Sort the rows", "Fill missing values"]
    long = ["Sort the rows by the values of a column", "Fill missing values with a constant"]
    texts = [requirement_text(steps, rng, long) for _ in range(60)]
    assert any("by the values of a column" in t for t in texts)
    assert any(t.startswith("First, ") and "Finally, " in t for t in texts)
    for text in texts:
        assert valid_subtasks(list(steps), text, []) == steps


def test_compound_requirement_holds_both_parts_and_lists_every_step(
    records: list[ApiRecord],
) -> None:
    from apipilot.agents.demonstrations import ApiGroup

    by_name = {r.name: r for r in records}
    first = ApiGroup("a", (by_name["sort_rows"], by_name["drop_dupes"]))
    second = ApiGroup("b", (by_name["shuffle"], by_name["batch"]))
    parts = [
        (first, ["Sort the rows by the values of a column", "Remove duplicated rows"]),
        (second, ["Shuffle the elements of a sequence", "Group consecutive elements"]),
    ]
    made = [compound_example("demo", parts, [], random.Random(seed)) for seed in range(40)]
    examples = [e for e in made if e is not None]
    assert len(examples) > 30 and any(len(parse_numbered_list(e.completion)) > 2 for e in examples)
    for example in examples:
        assert example.group == "a+b"
        steps = parse_numbered_list(example.completion)
        assert steps[0] == parts[0][1][0] and parts[1][1][0] in steps  # each part, in order
        text = example.requirement.lower()
        spots = [text.find(s.split(" ", 1)[1].lower()) for s in steps]
        assert all(s >= 0 for s in spots) and spots == sorted(spots)


def test_join_parts_reads_as_one_text() -> None:
    joined = {
        join_parts("Sort the rows.", "First, drop nulls.", random.Random(n)) for n in range(30)
    }
    assert "Sort the rows, then drop nulls." in joined
    assert "Sort the rows. Also, drop nulls." in joined
    background = join_parts("Sort.", "Drop nulls.", random.Random(0), "I have a table. ")
    assert background == "Sort. I have a table. Drop nulls."


def test_examples_are_deterministic_given_a_seed(records: list[ApiRecord]) -> None:
    a = library_examples("demo", records, 12, seed=1)
    assert a == library_examples("demo", records, 12, seed=1)
    assert a != library_examples("demo", records, 12, seed=2)
    assert {e.kind for e in a} == {"skills", "decompose"}


def test_examples_use_the_agents_prompts_and_parse(records: list[ApiRecord]) -> None:
    for example in library_examples("demo", records, 20, seed=0):
        if example.kind == "skills":
            assert example.prompt.startswith(SKILLS_HEADER)
            assert example.prompt.endswith(f"Requirement: {example.requirement}\nSkills:")
            assert example.completion.startswith(" ") and example.completion.endswith("\n")
            skills = example.completion.strip()
            assert valid_skills(example.completion, example.requirement) == skills
        else:
            assert example.prompt.startswith(DECOMPOSE_HEADER)
            assert example.prompt.endswith(f"Requirement: {example.requirement}\nSubtasks:\n1.")
            assert example.completion.endswith("\n\n")
            items = parse_numbered_list(example.completion)
            assert 1 <= len(items) <= (4 if "+" not in example.group else 2 * max(PART_STEPS))
            assert valid_subtasks(items, example.requirement, []) == items


def test_numbered_continues_the_prompts_first_item() -> None:
    assert numbered(["Read rows", "Sort them"]) == " Read rows\n2. Sort them\n\n"


def test_examples_round_trip(tmp_path: Path, records: list[ApiRecord]) -> None:
    examples = library_examples("demo", records, 6, seed=0)
    write_examples(examples, tmp_path / "x.jsonl")
    assert read_examples(tmp_path / "x.jsonl") == examples


@pytest.mark.slow
def test_no_evaluation_text_in_the_decomposer_training_set() -> None:
    forbidden = forbidden_texts()
    examples = build_decomposer_set(seed=0, per_library=160, forbidden=forbidden)
    assert {e.library for e in examples} == set(LIBRARIES)
    assert len(examples) > 700
    assert_clean(examples, forbidden)
    again = build_decomposer_set(["monkey"], seed=0, per_library=160, forbidden=forbidden)
    assert again == [e for e in examples if e.library == "monkey"]  # deterministic
    texts = {normalise(e.requirement) for e in examples}
    for library in LIBRARIES:  # nor a coarse-grained requirement
        assert not texts & {normalise(t.query) for t in coarse_suite(library).tasks}


def test_a_leaked_requirement_is_caught() -> None:
    forbidden = forbidden_texts()
    leaked = DecomposerExample("monkey", "skills", "g", forbidden[0], "Requirement: x", " y\n")
    with pytest.raises(ContaminationError):
        assert_clean([leaked], forbidden)
    hidden = replace(leaked, requirement="r", prompt=f"Requirement: {forbidden[1]} and more")
    with pytest.raises(ContaminationError):
        assert_clean([hidden], forbidden)
