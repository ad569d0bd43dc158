"""The shipped example banks: made from documentation, never from evaluation tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from apipilot.agents.demonstrations import make_demonstrations, subtask_text
from apipilot.agents.examples import ExampleBank, examples_dir, find_bank
from apipilot.evaluation.data import contaminated, evaluation_texts
from apipilot.retrieval.embedder import HashingEmbedder
from tests.conftest import make_record


def test_no_evaluation_query_or_solution_in_any_bank() -> None:
    banks = sorted(examples_dir().glob("*.jsonl"))
    assert banks, "corpora/examples has no bank"
    forbidden = evaluation_texts()
    assert len(forbidden) > 400
    for bank in banks:
        leaked = contaminated(bank.read_text(), forbidden)
        assert not leaked, f"{bank.name} contains evaluation text: {leaked[:2]}"


def test_banks_load_and_find() -> None:
    path = find_bank("torchdata", "0.7.1")
    assert path is not None and path.name == "torchdata@0.7.1.jsonl"
    assert find_bank("torchdata", "9.9") == examples_dir() / "torchdata@0.7.1.jsonl"
    assert find_bank("no-such-library", "1") is None
    bank = ExampleBank.load(path, HashingEmbedder(64))
    assert len(bank) > 50
    assert all(d.subtasks and d.apis and d.skills for d in bank.demonstrations)


def test_demonstrations_are_deterministic_and_doc_derived() -> None:
    records = [make_record(f"api{i}", f"Does thing number {i} to the data") for i in range(8)]
    records[0] = make_record("reader", "Reads rows from a file").__class__(
        **{
            **records[0].to_dict(),
            "examples": ("x = reader(p)\ny = api3(x)",),
            "aliases": (),
            "name": "reader",
        }
    )
    a = make_demonstrations(records, seed=1, composed=5)
    assert a == make_demonstrations(records, seed=1, composed=5)
    from_example = [d for d in a if d.code]
    assert from_example[0].apis == ("reader", "api3")
    assert len([d for d in a if not d.code]) == 5
    assert (
        subtask_text(make_record("x", "Shuffles the input (functional name: ``shuffle``)."))
        == "Shuffle the input"
    )


@pytest.mark.parametrize("path", sorted(Path(examples_dir()).glob("*.jsonl")), ids=lambda p: p.name)
def test_bank_apis_exist_in_their_corpus(path: Path) -> None:
    from apipilot.indexes.sources import read_source

    names = set()
    for record in read_source(f"corpus:{path.stem}").report.records:
        names.update({record.name, *record.aliases})
    bank = ExampleBank.load(path, HashingEmbedder(8))
    for demo in bank.demonstrations:
        assert set(demo.apis) <= names, demo.id
