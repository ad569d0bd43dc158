"""Builds on a local Ray instance (started once for this module): the same records, vectors and
headers as the local build path, published through the same store, searchable, and
``index project --ray``. Skipped when Ray is not installed (the ``ray`` extra; CI has it)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import apipilot
from apipilot.indexes.build_many import BuildRequest, build_many_local
from apipilot.indexes.build_ray import RayOptions, build_on_ray
from apipilot.indexes.meta import IndexMeta
from apipilot.indexes.store import IndexStore
from apipilot.ui.cli import app
from tests.test_build_many import write_jsonl
from tests.test_index_project import FAKES
from tests.test_index_project import venv as venv  # the fixture

ray = pytest.importorskip("ray")

EMBEDDER = "hashing:64"
GUIDE = """# Tiny guide

## Loading rows

Read the file with `tiny.read_csv`, then shuffle the rows:

```python
import tiny as t
rows = t.read_csv("a.csv")
t.shuffle(rows)
```
"""


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local Ray instance for the module (its start takes seconds)."""
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")  # no usage report leaves the machine
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[BuildRequest]:
    folder = tmp_path_factory.mktemp("sources")
    tiny = write_jsonl(folder / "tiny.jsonl", ["read_csv", "shuffle", "batch"])
    guide = folder / "guide.md"
    guide.write_text(GUIDE, encoding="utf-8")
    return [
        BuildRequest("corpus:beatnum@pool"),
        BuildRequest(str(tiny), "tiny", "1.0"),
        BuildRequest(str(guide), "tinyguide", "1.0"),
        BuildRequest(str(folder / "missing.jsonl"), "gone", "1"),
    ]


def index_files(store: IndexStore, library: str, version: str) -> dict[str, Any]:
    """A build's header less what differs from build to build (its time, and so the header's
    own digest; ``files`` keeps the SHA-256 of every data file: records, passages, vectors,
    BM25), and its text files."""
    path = store.path(library, version)
    meta = asdict(IndexMeta.read(path))
    for key in ("built_at", "build_seconds", "header_sha256"):
        meta.pop(key)
    files = {p.name: p.read_bytes() for p in path.iterdir() if p.suffix in (".jsonl", ".json")}
    files.pop("meta.json")
    return {"meta": meta, "files": files, "vectors": np.load(path / "vectors.npy")}


def test_ray_builds_the_same_indexes_as_local_processes(
    sources: list[BuildRequest], tmp_path: Path
) -> None:
    local, on_ray = IndexStore(tmp_path / "local"), IndexStore(tmp_path / "ray")
    expected = build_many_local(sources, local, embedder_spec=EMBEDDER, workers=1)
    seen: list[tuple[str, int, int]] = []
    got = build_on_ray(
        sources,
        on_ray,
        embedder_spec=EMBEDDER,
        options=RayOptions(workers=2, round_size=3),  # two rounds: 3 sources, then 1
        phases=lambda phase, done, total: seen.append((phase, done, total)),
    )
    assert [(o.library, o.version, o.status, o.records) for o in got] == [
        (o.library, o.version, o.status, o.records) for o in expected
    ]
    assert [o.status for o in got] == ["built", "built", "built", "failed"]
    assert got[3].detail == expected[3].detail  # the same reason for the missing file
    assert "texts embedded on the driver" not in " ".join(o.detail for o in got)
    for o in got[:3]:
        mine, theirs = (
            index_files(on_ray, o.library, o.version),
            index_files(local, o.library, o.version),
        )
        assert mine["meta"] == theirs["meta"]  # every data file's checksum included
        assert mine["files"] == theirs["files"]  # records (guides linked), passages
        np.testing.assert_array_equal(mine["vectors"], theirs["vectors"])
    guide = [
        json.loads(line)
        for line in (on_ray.path("tinyguide", "1.0") / "records.jsonl").read_text().splitlines()
    ]
    assert any(r["kind"] == "guide" for r in guide)
    reads = [s for s in seen if s[0] == "read"]
    assert reads[0] == ("read", 0, 4) and reads[-1] == ("read", 4, 4)
    assert [done for _, done, _ in reads] == sorted(done for _, done, _ in reads)
    embed = [s for s in seen if s[0] == "embed"]
    assert embed[0][1] == 0 and any(done == total > 0 for _, done, total in embed)

    hits = apipilot.search("tiny", "shuffle the rows", k=1, home=tmp_path / "ray")
    assert (hits.version, hits.results[0].name) == ("1.0", "shuffle")

    # Built again on Ray: the store reuses every unchanged vector, as a local rebuild does.
    again = build_on_ray(sources[1:2], on_ray, embedder_spec=EMBEDDER)
    assert "unchanged 3" in again[0].detail


def test_cli_build_many_on_ray(sources: list[BuildRequest], tmp_path: Path) -> None:
    listed = tmp_path / "list.txt"
    listed.write_text(f"corpus:monkey@pool\n{sources[1].source} tiny@2.0\n", encoding="utf-8")
    home = tmp_path / "home"
    args = ["index", "build-many", str(listed), "--ray", "--workers", "1"]
    result = CliRunner().invoke(app, [*args, "--embedder", EMBEDDER, "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "2 built, 0 failed" in result.stdout
    assert {(i.library, i.version) for i in apipilot.list_indexes(home)} == {
        ("monkey", "pool"),
        ("tiny", "2.0"),
    }


def test_index_project_on_ray_matches_the_local_build(
    venv: tuple[Path, Path], tmp_path: Path
) -> None:
    python, _ = venv  # five fake distributions (tests/test_index_project.py)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "requirements.txt").write_text("\n".join(FAKES), encoding="utf-8")

    def run(home: Path, **options: Any) -> apipilot.ProjectSummary:
        return apipilot.index_project(
            project, python=python, embedder=EMBEDDER, home=home, jobs=2, **options
        )

    local = run(tmp_path / "local")
    on_ray = run(tmp_path / "ray", ray=True)
    assert [(d.library, d.version, d.status) for d in on_ray.dependencies] == [
        (d.library, d.version, "built") for d in local.dependencies
    ]
    for d in on_ray.dependencies:
        mine = index_files(IndexStore(tmp_path / "ray"), d.library, d.version)
        theirs = index_files(IndexStore(tmp_path / "local"), d.library, d.version)
        assert mine["meta"] == theirs["meta"] and mine["files"] == theirs["files"]
    again = run(tmp_path / "ray", ray=True)  # nothing changed: nothing reaches Ray
    assert {d.status for d in again.dependencies} == {"unchanged"}
