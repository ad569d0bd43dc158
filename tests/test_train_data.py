"""Training data: rephrasing, seeded synthesis, batching rules, no evaluation text inside."""

from __future__ import annotations

from dataclasses import replace

import pytest

from apipilot.indexes.record import ApiRecord
from apipilot.indexes.sources import read_source
from apipilot.retrieval.embedder import HashingEmbedder
from apipilot.training.batches import balance, make_batches
from apipilot.training.dataset import (
    ContaminationError,
    assert_clean,
    build_training_set,
    forbidden_texts,
    read_pairs,
    write_pairs,
)
from apipilot.training.negatives import mine_hard_negatives
from apipilot.training.pairs import TrainingPair, synthesise_pairs
from apipilot.training.rephrase import base_verb, imperative, parameters, strip_names
from tests.conftest import make_record


def test_imperative_turns_returns_into_get() -> None:
    assert (
        imperative("Returns the sum of the array elements.") == "get the sum of the array elements"
    )
    assert imperative("Creates mini-batches of data.") == "create mini-batches of data"
    assert imperative("Applies a function over each item.") == "apply a function over each item"
    assert imperative("Iterable DataPipe that lists files in a folder") == "list files in a folder"
    assert base_verb("Concatenates") == "concatenate"


def test_strip_names_removes_identifiers_not_plain_words() -> None:
    assert "read_csv" not in strip_names("Use read_csv() to read a CSV file", ["read_csv"])
    assert strip_names("Return the average value", ["average"]) == "Return the average value"
    assert "Shuffler" not in strip_names("``Shuffler`` shuffles the input", ["Shuffler"])


def test_parameters_skip_self_and_varargs() -> None:
    signature = "(self, axis=None, skipna: bool = True, *args, **kwargs) -> 'Series'"
    assert parameters(signature) == ["axis", "skipna"]


def pool(name: str) -> list[ApiRecord]:
    return read_source(f"corpus:{name}").report.records


def test_synthesis_is_deterministic_given_a_seed() -> None:
    records = pool("monkey@pool")
    first = synthesise_pairs(records, seed=3)
    assert first == synthesise_pairs(records, seed=3)
    assert first != synthesise_pairs(records, seed=4)
    assert len(first) > 2 * len(records)


def test_queries_do_not_name_their_api() -> None:
    records = pool("torchdata@0.7.1")
    for pair in synthesise_pairs(records, seed=0):
        code_names = [n for n in (pair.name, *pair.aliases) if "_" in n or n[:1].isupper()]
        assert not any(n in pair.query.split() for n in code_names), pair


def test_ambiguous_queries_are_dropped() -> None:
    records = [make_record("mean", "Return the mean."), make_record("avg", "Return the mean.")]
    assert synthesise_pairs(records, seed=0) == []


def test_hard_negatives_are_other_apis(demo_records: list[ApiRecord]) -> None:
    pairs = synthesise_pairs(demo_records, seed=0)
    mined = mine_hard_negatives(pairs, demo_records, HashingEmbedder(64), seed=0)
    assert len(mined) == len(pairs)
    by_text = {r.search_text(): r for r in demo_records}
    for pair in mined:
        assert pair.negative and by_text[pair.negative].name != pair.name


def test_batches_never_hold_one_api_twice() -> None:
    pairs = [
        TrainingPair("lib", f"api{i % 5}", f"query {i}", f"text {i % 5}", f"text {(i + 1) % 5}")
        for i in range(40)
    ]
    batches = make_batches(pairs, 4, seed=0)
    assert batches == make_batches(pairs, 4, seed=0)
    for batch in batches:
        assert len({p.name for p in batch}) == len(batch)
        positives = {p.positive for p in batch}
        assert not positives & {p.negative for p in batch}


def test_balance_repeats_small_libraries() -> None:
    pairs = [TrainingPair("small", f"a{i}", f"q{i}", f"t{i}") for i in range(3)]
    pairs += [TrainingPair("big", f"b{i}", f"q{i}", f"t{i}") for i in range(10)]
    balanced = balance(pairs, 7, seed=0)
    assert sum(p.library == "small" for p in balanced) == 7
    assert sum(p.library == "big" for p in balanced) == 10


def test_pairs_round_trip(tmp_path, demo_records: list[ApiRecord]) -> None:
    pairs = synthesise_pairs(demo_records, seed=0)
    write_pairs(pairs, tmp_path / "pairs.jsonl")
    assert read_pairs(tmp_path / "pairs.jsonl") == pairs


def test_no_evaluation_text_in_any_training_set() -> None:
    """Every library's pairs, as `apipilot train embedder` builds them, hold no eval text."""
    forbidden = forbidden_texts()
    assert len(forbidden) > 900  # queries, requirement comments and solutions of five suites
    pairs = build_training_set(
        ["torchdata", "monkey", "beatnum", "pandas", "numpy"],
        HashingEmbedder(64),
        seed=0,
        max_records=150,
    )
    assert {p.library for p in pairs} == {"torchdata", "monkey", "beatnum", "pandas", "numpy"}
    assert_clean(pairs, forbidden)


def test_a_leaked_query_is_caught() -> None:
    forbidden = forbidden_texts()
    leaked = TrainingPair("monkey", "x", forbidden[0], "some api text")
    with pytest.raises(ContaminationError):
        assert_clean([leaked], forbidden)
    with pytest.raises(ContaminationError):
        assert_clean([replace(leaked, query="q", negative=f"prefix {forbidden[1]} suffix")])


def test_leaving_a_library_out_keeps_the_other_pairs() -> None:
    embedder = HashingEmbedder(64)
    full = build_training_set(["torchdata", "monkey", "beatnum"], embedder, seed=0)
    held_out = build_training_set(["torchdata", "beatnum"], embedder, seed=0)
    assert held_out == [p for p in full if p.library != "monkey"]
