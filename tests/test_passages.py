"""Passages: cutting, searching whole documentation, guides lifting their links, evidence."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from apipilot.indexes.api_index import ApiIndex, SearchHit
from apipilot.indexes.meta import PASSAGES_FILE, UNITS_FILE, IndexMeta
from apipilot.indexes.passages import PassageParams, cut_passages
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import Embedder
from apipilot.retrieval.search import Aggregation, Units, aggregate
from tests.conftest import make_record

DEEP = (
    "Keep a rolling journal of records.\n\n"
    "The journal writes each record to disk as it arrives.\n\n"
    "Parameters:\n    path: where the journal lives.\n\n"
    "Rotation: when the file grows past its size limit, the oldest segment is compressed "
    "into a gzip archive and a fresh segment is opened."
)


def deep_record() -> ApiRecord:
    return replace(
        make_record("Journal", "Keep a rolling journal of records."),
        kind="class",
        doc=DEEP,
    )


def guide(links: tuple[str, ...]) -> ApiRecord:
    return ApiRecord(
        id="guide:archive",
        library="demo",
        version="1.0",
        name="Archiving old logs",
        qualified_name="User guide / Archiving old logs",
        kind="guide",
        doc="To archive old logs every night, open a mailbox and enqueue the nightly tarball.",
        examples=("box = demo.mailbox()\nbox.enqueue('nightly.tar')",),
        source="docs/guide.md",
        links=links,
    )


def test_passages_cut_on_paragraphs_and_name_their_api() -> None:
    record = deep_record()
    passages = cut_passages(record, PassageParams(chars=120))
    assert len(passages) >= 2
    assert all(p.startswith("demo.Journal: ") for p in passages)
    assert all(len(p) <= len("demo.Journal: ") + 120 for p in passages)
    body = " ".join(p.removeprefix("demo.Journal: ") for p in passages).split()
    assert body == DEEP.split()  # nothing lost, nothing repeated
    assert cut_passages(record, PassageParams(chars=10_000)) == ["demo.Journal: " + DEEP]
    assert cut_passages(record, PassageParams(enabled=False)) == []


def test_a_body_that_only_repeats_the_head_line_gives_no_passage() -> None:
    plain = make_record("shuffle", "Shuffle the elements")  # doc == summary
    assert cut_passages(plain) == []
    pool_line = replace(plain, doc=plain.search_text())  # the APIRetriever pool format
    assert cut_passages(pool_line) == []
    huge = replace(plain, doc="\n\n".join(f"paragraph {i} " + "word " * 150 for i in range(99)))
    assert len(cut_passages(huge, PassageParams(max_passages=5))) == 5


def test_aggregation_max_then_bonus_lifts_and_hidden() -> None:
    owners = np.array([0, 1, 2, 0, 0, 1], dtype=np.int32)
    hits = [(4, 0.9), (1, 0.8), (3, 0.5), (5, 0.1)]
    plain = aggregate(hits, Units(owners), Aggregation())
    assert [(h.doc, h.unit) for h in plain] == [(0, 4), (1, 1)]
    assert plain[0].score == 0.9
    mixed = aggregate(hits, Units(owners), Aggregation(bonus=0.1))
    assert mixed[0].score == pytest.approx(0.9 + 0.1 * (0.5 - 0.1))  # above the last unit
    # the bonus does not depend on the score scale: every score + 0.7 keeps the same margins
    shifted = aggregate([(u, s + 0.7) for u, s in hits], Units(owners), Aggregation(bonus=0.1))
    assert [h.doc for h in shifted] == [h.doc for h in mixed]
    assert [h.score - 0.7 for h in shifted] == pytest.approx([h.score for h in mixed])
    lifted = aggregate(
        [(2, 0.95), (1, 0.3)], Units(owners, {2: (0,)}, frozenset({2})), Aggregation()
    )
    assert [(h.doc, h.unit, h.score) for h in lifted] == [(0, 2, 0.95), (1, 1, 0.3)]


def _build(
    store: IndexStore,
    records: list[ApiRecord],
    embedder: Embedder,
    passages: PassageParams | None = None,
) -> None:
    store.build(
        records,
        library="demo",
        version="1.0",
        embedder=embedder,
        embedder_spec="hashing:64",
        passages=passages,
    )


def test_a_query_matching_deep_in_a_docstring_finds_its_api(
    store: IndexStore, demo_records: list[ApiRecord], hashing: Embedder
) -> None:
    records = [*demo_records, deep_record()]
    _build(store, records, hashing)
    index = store.open("demo", "1.0")
    assert index.meta.unit_count > len(records)
    query = "compress the oldest segment into a gzip archive"
    for mode in ("bm25", "dense", "fused"):
        hits = index.search(query, 3, mode)
        assert hits[0].record.name == "Journal", mode
        assert hits[0].evidence is not None and "gzip" in hits[0].evidence.text
        assert hits[0].evidence.kind == "passage"
    _build(store, records, hashing, passages=PassageParams(enabled=False))
    head_only = store.open("demo", "1.0")
    assert head_only.meta.unit_count == 0 and head_only.meta.passages == {}
    assert all(h.record.name != "Journal" for h in head_only.search(query, 3, "bm25"))


def test_a_guide_lifts_the_apis_it_links_and_takes_no_slot(
    store: IndexStore, demo_records: list[ApiRecord], hashing: Embedder
) -> None:
    mailbox = make_record("mailbox", "Open a message queue")
    records = [*demo_records, mailbox, guide(("demo.mailbox",))]
    _build(store, records, hashing)
    index = store.open("demo", "1.0")
    hits = index.search("archive old logs every night", 5, "bm25")
    assert hits[0].record.name == "mailbox"
    assert all(h.record.kind != "guide" for h in index.search("archive logs", 20))
    evidence = hits[0].evidence
    assert evidence is not None and evidence.kind == "guide"
    assert evidence.title == "User guide / Archiving old logs"
    assert evidence.code == ("box = demo.mailbox()\nbox.enqueue('nightly.tar')",)
    assert evidence.to_dict()["code"] == [evidence.code[0]]


def test_rebuild_reuses_unit_vectors_of_unchanged_records(
    store: IndexStore, demo_records: list[ApiRecord], hashing: Embedder
) -> None:
    records = [*demo_records, deep_record()]
    _build(store, records, hashing)
    first = store.open("demo", "1.0")
    vectors = np.array(first.unit_vectors)
    _, stats = store.build(
        records, library="demo", version="1.0", embedder=hashing, embedder_spec="hashing:64"
    )
    assert stats.embedded == 0 and stats.unchanged == len(records)
    again = store.open("demo", "1.0")
    assert np.array_equal(np.array(again.unit_vectors), vectors)
    assert again.passages == first.passages


def test_an_index_without_passages_still_loads(
    store: IndexStore, demo_records: list[ApiRecord], hashing: Embedder, tmp_path: Path
) -> None:
    """An index written before passages (no units file, header without the new fields)."""
    _build(store, demo_records, hashing, passages=PassageParams(enabled=False))
    built = store.path("demo", "1.0").resolve()
    old = tmp_path / "old"
    shutil.copytree(built, old)
    header = json.loads((old / "meta.json").read_text())
    for key in ("unit_count", "passages", "sources"):
        header.pop(key, None)
    (old / "meta.json").write_text(json.dumps(header))
    assert not (old / UNITS_FILE).exists() and not (old / PASSAGES_FILE).exists()
    meta = IndexMeta.read(old)  # the digest of an older header still matches
    assert meta.units == len(demo_records)
    index = ApiIndex.load(old, hashing)
    hits = index.search("shuffle the elements", 2)
    assert hits[0].record.name == "shuffle" and hits[0].evidence is None
    assert index.passages == []


def test_search_hit_without_evidence_is_as_before(demo_records: list[ApiRecord]) -> None:
    hit = SearchHit(demo_records[0], 1.0)
    assert hit.evidence is None


def test_evidence_reaches_the_public_answers(
    store: IndexStore, demo_records: list[ApiRecord], hashing: Embedder
) -> None:
    import apipilot
    from apipilot.ui.mcp_server import _hit_block

    mailbox = make_record("mailbox", "Open a message queue")
    records = [*demo_records, mailbox, guide(("demo.mailbox",)), deep_record()]
    _build(store, records, hashing)
    found = apipilot.search(
        "demo", "archive old logs every night", k=3, mode="bm25", home=store.home
    )
    top = found.to_dict()["results"][0]
    assert top["qualified_name"] == "demo.mailbox"
    assert top["evidence"]["kind"] == "guide"
    assert top["evidence"]["title"] == "User guide / Archiving old logs"
    assert top["evidence"]["source"] == "docs/guide.md"
    assert top["evidence"]["code"] == ["box = demo.mailbox()\nbox.enqueue('nightly.tar')"]
    assert found.results[0].to_dict(["name"])["evidence"]["kind"] == "guide"
    block = _hit_block(top)
    assert 'guide "User guide / Archiving old logs"' in block and "box.enqueue" in block
    deep = apipilot.search("demo", "oldest segment gzip archive", k=1, mode="bm25", home=store.home)
    passage = deep.to_dict()["results"][0]["evidence"]
    assert passage["kind"] == "passage" and "gzip" in passage["text"]
    assert "code" not in passage
    assert deep.results[0].evidence is not None
    assert deep.results[0].evidence.line().startswith("matched: ")
    plain = apipilot.search("demo", "shuffle", k=1, mode="bm25", home=store.home)
    assert "evidence" not in plain.to_dict()["results"][0]  # the head line matched


def test_index_build_no_passages_flag(tmp_path: Path) -> None:
    """`apipilot index build --no-passages` writes a head-line-only index; the default cuts
    passages from a JSONL record's `doc`."""
    from typer.testing import CliRunner

    from apipilot.ui.cli import app

    source = tmp_path / "api.jsonl"
    source.write_text(json.dumps(deep_record().to_dict()) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    runner = CliRunner()
    for flags, version in ((["--no-passages"], "1"), ([], "2")):
        args = ["index", "build", str(source), "-l", "demo", "-v", version, "--embedder"]
        result = runner.invoke(app, [*args, "hashing:64", *flags, "--home", str(home)])
        assert result.exit_code == 0, result.output
    store = IndexStore(home)
    assert store.open("demo", "1").meta.unit_count == 0
    whole = store.open("demo", "2")
    assert whole.meta.unit_count > 1 and whole.meta.passages["chars"] == PassageParams().chars


def test_a_guide_passage_lifts_only_the_apis_it_names(
    store: IndexStore, demo_records: list[ApiRecord], hashing: Embedder
) -> None:
    mailbox = make_record("mailbox", "Open a message queue")
    ledger = make_record("ledger", "Keep accounts")
    long_guide = replace(
        guide(("demo.mailbox", "demo.ledger")),
        doc="Nightly archives: open a mailbox and enqueue the tarball.\n\n"
        + "Bookkeeping of quarterly invoices goes into the ledger. " * 12,
        examples=(),
    )
    _build(store, [*demo_records, mailbox, ledger, long_guide], hashing, PassageParams(chars=200))
    index = store.open("demo", "1.0")
    assert len(index.passages) >= 2
    names = [h.record.name for h in index.search("quarterly invoices bookkeeping", 3, "bm25")]
    assert names[0] == "ledger" and "mailbox" not in names
