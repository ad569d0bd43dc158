from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.errors import DamagedIndex, EmbedderMismatch, IndexNotFound
from apipilot.indexes.meta import RECORDS_FILE, VECTORS_FILE
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore, parse_ref, version_key
from apipilot.retrieval.embedder import Embedder, HashingEmbedder
from apipilot.retrieval.errors import ConfigError
from tests.conftest import REPO, make_record


def build(store: IndexStore, records: list[ApiRecord], embedder: Embedder, version: str = "1.0"):
    return store.build(
        records, library="demo", version=version, embedder=embedder, embedder_spec="hashing:64"
    )


def test_save_load_round_trip(store, demo_records, hashing) -> None:
    meta, stats = build(store, demo_records, hashing)
    assert (meta.record_count, meta.dim, meta.embedder) == (8, 64, "hashing-64")
    assert stats.added == 8 and stats.embedded == 8
    index = IndexStore(store.home).open("demo")
    assert [r.to_dict() for r in index.records] == [r.to_dict() for r in demo_records]
    assert index.search("parse csv rows", 1)[0].record.name == "parse_csv"
    assert index.find("SHUFFLE")[0].name == "shuffle"
    header = json.loads((store.path("demo", "1.0") / "meta.json").read_text())
    for key in (
        "format_version",
        "embedder",
        "dim",
        "library",
        "version",
        "record_count",
        "corpus_hash",
    ):
        assert key in header


def test_versions_side_by_side_newest_by_default(store, demo_records, hashing) -> None:
    for version in ("0.9", "1.10", "1.2", "pool"):
        build(store, demo_records, hashing, version)
    assert store.versions("demo") == ["pool", "0.9", "1.2", "1.10"]
    assert store.resolve("demo") == "1.10"
    assert store.open("demo", "0.9").meta.version == "0.9"
    with pytest.raises(IndexNotFound, match=r"built versions: pool, 0\.9, 1\.2, 1\.10"):
        store.resolve("demo", "2.0")
    with pytest.raises(IndexNotFound, match="known libraries: demo"):
        store.open("nope")
    assert store.remove("demo", "0.9") == ["demo@0.9"]
    assert "0.9" not in store.versions("demo")
    assert sorted(store.remove("demo")) == ["demo@1.10", "demo@1.2", "demo@pool"]
    assert store.libraries() == []


def test_refused_with_another_embedder(store, demo_records, hashing) -> None:
    build(store, demo_records, hashing)
    with pytest.raises(EmbedderMismatch, match=r"built with embedder 'hashing-64'.*rebuild"):
        ApiIndex.load(store.path("demo", "1.0"), HashingEmbedder(32))


@pytest.mark.parametrize(
    "damage",
    ["delete_records", "truncate_vectors", "corrupt_meta", "edit_records", "delete_meta"],
)
def test_refused_when_damaged(store, demo_records, hashing, damage: str) -> None:
    build(store, demo_records, hashing)
    path = store.path("demo", "1.0")
    if damage == "delete_records":
        (path / RECORDS_FILE).unlink()
    elif damage == "truncate_vectors":
        data = (path / VECTORS_FILE).read_bytes()
        (path / VECTORS_FILE).write_bytes(data[: len(data) // 2])
    elif damage == "corrupt_meta":
        (path / "meta.json").write_text("{not json")
    elif damage == "edit_records":
        with (path / RECORDS_FILE).open("a") as handle:
            handle.write("\n")
    else:
        (path / "meta.json").unlink()
    with pytest.raises(DamagedIndex, match="rebuild"):
        ApiIndex.load(path, hashing)


def test_failed_build_keeps_previous_index(store, demo_records, hashing) -> None:
    build(store, demo_records, hashing)

    class Exploding(HashingEmbedder):
        def encode(self, texts, *, show_progress=False):
            raise RuntimeError("out of memory")

    changed = [replace(r, summary=r.summary + " now") for r in demo_records]
    with pytest.raises(RuntimeError):
        build(store, changed, Exploding(64))
    assert IndexStore(store.home).open("demo").records[0].summary == demo_records[0].summary
    assert not list((store.root / "demo" / ".builds").glob("*.tmp-*"))


def test_build_killed_half_way_leaves_previous_usable(store, demo_records, hashing) -> None:
    build(store, demo_records, hashing)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.slow_build", str(store.home)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "embedding"  # the child is mid-build
    child.kill()
    child.wait()
    index = IndexStore(store.home).open("demo")
    assert len(index.records) == 8 and index.search("shuffle", 1)[0].record.name == "shuffle"
    # the next build cleans up what the killed one left
    build(store, demo_records, hashing)
    assert not list((store.root / "demo" / ".builds").glob("*.tmp-*"))


def test_rebuild_reuses_vectors_of_unchanged_records(store, demo_records, hashing) -> None:
    build(store, demo_records, hashing)
    before = IndexStore(store.home).open("demo").vectors.copy()
    edited = [*demo_records[:-1], make_record("brand_new", "A new API")]
    edited[0] = replace(edited[0], summary="Shuffle with a buffer", doc="Shuffle with a buffer")

    calls: list[int] = []

    class Counting(HashingEmbedder):
        def encode(self, texts, *, show_progress=False):
            calls.append(len(texts))
            return super().encode(texts)

    _, stats = build(store, edited, Counting(64))
    assert (stats.added, stats.changed, stats.unchanged, stats.removed) == (1, 1, 6, 1)
    assert sum(calls) == 2
    after = IndexStore(store.home).open("demo").vectors
    np.testing.assert_array_equal(after[1:7], before[1:7])


def test_names_are_validated() -> None:
    assert parse_ref("torchdata@0.7.1") == ("torchdata", "0.7.1")
    assert parse_ref("numpy") == ("numpy", None)
    with pytest.raises(ConfigError, match=r"'\.\./etc'"):
        parse_ref("../etc")
    assert version_key("0.10") > version_key("0.9") > version_key("pool")
