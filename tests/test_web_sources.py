"""The app's Indexes tab with several sources: one a line into one library@version, each
checked against the server's source policy, and the index's sources listed."""

from __future__ import annotations

import json
from pathlib import Path

import apipilot
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore
from apipilot.ui.web_indexes import index_rows, source_lines, try_build

GUIDE = (
    "# Shuffling\n\nShuffle the elements of a pipe before batching them.\n\n```\nshuffle(p)\n```\n"
)


def test_several_sources_build_one_index_and_are_listed(
    store: IndexStore, tmp_path: Path, demo_records: list[ApiRecord]
) -> None:
    records = tmp_path / "api.jsonl"
    records.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in demo_records))
    guide = tmp_path / "guide.md"
    guide.write_text(GUIDE)
    box = f"{records}\n\n  {guide}  \n{records}\n"
    assert source_lines(box) == [str(records), str(guide)]
    policy = apipilot.SourcePolicy(roots=(tmp_path,))
    built, note = try_build(store.home, box, None, "mylib", "1.0", "hashing:64", policy=policy)
    assert built, note
    [row] = index_rows(store.home)
    assert row[:3] == ["mylib", "1.0", len(demo_records) + 1]
    assert row[6].splitlines() == [str(records), str(guide)]


def test_each_source_is_checked_against_the_policy(
    store: IndexStore, tmp_path: Path, demo_records: list[ApiRecord]
) -> None:
    records = tmp_path / "api.jsonl"
    records.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in demo_records))
    policy = apipilot.SourcePolicy(roots=(tmp_path,))
    box = f"{records}\n/etc/hostname"
    built, note = try_build(store.home, box, None, "mylib", "1.0", "hashing:64", policy=policy)
    assert not built and "/etc/hostname" in note and "not allowed" in note
    built, note = try_build(store.home, "sdist:click", None, "", "", "hashing:64", policy=policy)
    assert not built and "sdist:NAME" in note
    assert index_rows(store.home) == []
