from __future__ import annotations

import json
from pathlib import Path

import pytest

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.jsonl import MalformedLine, read_jsonl, split_pool_text
from tests.conftest import REPO

SHARED = REPO.parent / "shared" / "data"


def test_reads_shared_torchdata_docs_as_they_are() -> None:
    path = SHARED / "torchdata-docs" / "torchdata_v0.7.1_api_docs.jsonl"
    if not path.exists():
        pytest.skip("../shared is not beside the checkout")
    report = read_jsonl(path, "torchdata", "0.7.1")
    assert len(report.records) == 95 and not report.skipped
    shuffler = next(r for r in report.records if r.qualified_name.endswith("iter.Shuffler"))
    assert shuffler.aliases == ("shuffle",)
    assert shuffler.summary.startswith("Shuffles the input DataPipe")
    assert "buffer_size" in shuffler.signature


def test_pool_text_with_annotations_in_signature() -> None:
    name, sig, summary = split_pool_text(
        "bucketbatch(datapipe: IterDataPipe[+T_co], batch_size: int) -> 'X': Creates batches."
    )
    assert (name, summary) == ("bucketbatch", "Creates batches.")
    assert sig == "(datapipe: IterDataPipe[+T_co], batch_size: int) -> 'X'"
    assert split_pool_text("hex(): Return a hex string.") == ("hex", "()", "Return a hex string.")


def test_own_records_round_trip(tmp_path: Path, demo_records) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r.to_dict()) for r in demo_records) + "\n\n")
    assert read_jsonl(path, "demo", "1.0").records == demo_records


def test_malformed_line_strict_and_lenient(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text_id": 1, "text": "f(x): does f"}\n{oops\n[1, 2]\n{"x": 1}\n')
    with pytest.raises(MalformedLine, match=r"bad.jsonl:2: not valid JSON"):
        read_jsonl(path, "demo", "1")
    report = read_jsonl(path, "demo", "1", strict=False)
    assert [r.name for r in report.records] == ["f"]
    assert [w.rsplit(":", 1)[1] for w, _ in report.skipped] == ["2", "3", "4"]


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        read_jsonl(tmp_path / "missing.jsonl", "demo", "1")
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\x00\x01\xff\xfe" * 10)
    with pytest.raises(SourceError, match="binary"):
        read_jsonl(binary, "demo", "1")


def test_duplicate_ids_are_made_unique(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text_id": 7, "text": "a(): x"}\n{"text_id": 7, "text": "b(): y"}\n')
    assert [r.id for r in read_jsonl(path, "demo", "1").records] == ["7", "7#2"]
