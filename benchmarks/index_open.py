"""Index open benchmark: time and resident memory of each way to open a large index.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.index_open [--count 100000] [--dim 384]

Writes a synthetic index (``--count`` random unit vectors, one short record each) per vector
index kind (``flat``: FAISS built at open from the vectors; ``hnsw``: read from
``vectors.faiss``) into ``--dir`` (kept, so a second run skips the build), then opens it in a
fresh process per variant and prints a markdown table:

- ``sha256 + read`` the path before issue 18: every file's SHA-256, vectors read into memory;
- ``sizes + read``  header digest, listing and sizes only, vectors read into memory;
- ``sizes + mmap``  the same checks, vectors memory-mapped (what ``ApiIndex.load`` does);
- ``sizes + faiss view`` the same checks, the vectors a view of FAISS's own storage.

RSS is measured from ``/proc/self/status`` after the open, minus before it (imports done):
``anon`` is private memory, ``file`` is mapped file pages (shared, reclaimable page cache).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.builder import write_index
from apipilot.indexes.meta import BM25_DIR, FAISS_FILE, RECORDS_FILE, VECTORS_FILE, IndexMeta
from apipilot.indexes.record import ApiRecord
from apipilot.retrieval.bm25 import BM25Index
from apipilot.retrieval.embedder import HashingEmbedder, Vectors
from apipilot.retrieval.search import HybridSearcher
from apipilot.retrieval.vector_index import VectorIndex, VectorIndexParams, _faiss

WARM_UP = "warm-up"
VARIANTS = ("sha256 + read", "sizes + read", "sizes + mmap", "sizes + faiss view")
WORDS = [
    "read",
    "parse",
    "shuffle",
    "batch",
    "open",
    "list",
    "filter",
    "map",
    "zip",
    "merge",
    "sort",
    "group",
    "join",
    "split",
]


def write_synthetic(directory: Path, count: int, dim: int, kind: str) -> None:
    if (directory / "meta.json").is_file():
        return
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((count, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    records = [
        ApiRecord(
            id=f"bench.api{i}",
            library="bench",
            version="1",
            name=f"api{i}",
            summary=" ".join(rng.choice(WORDS, 6)),
        )
        for i in range(count)
    ]
    start = time.perf_counter()
    write_index(
        directory,
        records,
        vectors,
        library="bench",
        version="1",
        embedder=HashingEmbedder(dim),
        embedder_spec=f"hashing:{dim}",
        source="synthetic",
        params=VectorIndexParams(kind=kind),
        build_seconds=0.0,
        apipilot_version="bench",
    )
    print(f"wrote {kind} index of {count} x {dim} in {time.perf_counter() - start:.0f} s")


def rss() -> dict[str, int]:
    """VmRSS, RssAnon, RssFile and VmHWM of this process, in kB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def open_variant(path: Path, variant: str) -> ApiIndex:
    """Open ``path`` the way ``variant`` says; the records and BM25 parts are the same."""
    if variant == "sizes + mmap":
        return ApiIndex.load(path)
    meta = IndexMeta.read(path)
    if variant == "sha256 + read":
        meta.verify_files(path)
    else:
        meta.check_quick(path)
    embedder = HashingEmbedder(meta.dim)
    records = [
        ApiRecord.from_dict(json.loads(line))
        for line in (path / RECORDS_FILE).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    bm25 = BM25Index.load(path / BM25_DIR)
    faiss_path = path / FAISS_FILE
    vectors: Vectors
    if faiss_path.is_file():
        vector_index = VectorIndex.load(faiss_path)
        if variant == "sizes + faiss view":
            vectors = faiss_vectors(vector_index, meta.record_count, meta.dim)
        else:
            vectors = np.load(path / VECTORS_FILE, allow_pickle=False)
    else:
        vectors = np.load(path / VECTORS_FILE, allow_pickle=False)
        vector_index = VectorIndex.build(vectors, VectorIndexParams(kind="flat"))
        if variant == "sizes + faiss view":
            del vectors
            vectors = faiss_vectors(vector_index, meta.record_count, meta.dim)
    return ApiIndex(meta, records, vectors, HybridSearcher(embedder, vector_index, bm25), path)


def faiss_vectors(vector_index: VectorIndex, count: int, dim: int) -> Vectors:
    """A zero-copy view of the vectors FAISS stores (flat, or an HNSW index's flat storage)."""
    faiss = _faiss()
    index: Any = vector_index._cpu_index
    flat = faiss.downcast_index(index.storage) if hasattr(index, "hnsw") else index
    view: Vectors = faiss.rev_swig_ptr(flat.get_xb(), count * dim).reshape(count, dim)
    return view


def measure(path: Path, variant: str) -> dict[str, float]:
    """Run in a fresh process: open once, report seconds and RSS growth (MB).

    A tiny index is opened first, so the libraries' imports are not counted."""
    import gc

    warm = open_variant(path.parent / WARM_UP, variant)
    warm.search("shuffle batch", 3)
    del warm
    gc.collect()
    before = rss()
    start = time.perf_counter()
    index = open_variant(path, variant)
    seconds = time.perf_counter() - start
    gc.collect()
    after = rss()
    hits = index.search("shuffle batch", 3)
    assert len(hits) == 3 and index.vectors.shape == (index.meta.record_count, index.meta.dim)
    np.testing.assert_allclose(np.linalg.norm(index.vectors[-1]), 1.0, rtol=1e-4)
    mb = {key: (after[key] - before[key]) / 1024 for key in after}
    return {
        "seconds": seconds,
        "rss": mb["VmRSS"],
        "anon": mb["RssAnon"],
        "file": mb["RssFile"],
        "peak": mb["VmHWM"],
    }


def run_variant(path: Path, variant: str, repeats: int) -> dict[str, float]:
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.index_open", "--measure", variant, str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    # the fastest run is the least disturbed by other load; memory does not vary much
    best = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    best["seconds"] = min(r["seconds"] for r in runs)
    return best


def time_checks(path: Path, repeats: int) -> tuple[float, float]:
    """Seconds (best of ``repeats``) of the full SHA-256 check and of an open's checks."""
    meta = IndexMeta.read(path)
    full, quick = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        IndexMeta.read(path).verify_files(path)
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        IndexMeta.read(path).check_quick(path)
        quick.append(time.perf_counter() - start)
    assert meta.record_count > 0
    return min(full), min(quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--kinds", default="flat,hnsw")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/apipilot-bench-index-open"))
    parser.add_argument("--measure", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[1]), args.measure[0])))
        return
    print(f"## Opening a {args.count:,} x {args.dim} index ({args.repeats} runs each)\n")
    print("open s: the fastest run; memory: the median run.\n")
    print("| kind | variant | open s | RSS MB | anon MB | file MB | peak MB |")
    print("|---|---|---|---|---|---|---|")
    checks: list[str] = []
    for kind in args.kinds.split(","):
        write_synthetic(args.dir / WARM_UP, 50, args.dim, "flat")
        path = args.dir / f"{kind}-{args.count}x{args.dim}"
        write_synthetic(path, args.count, args.dim, kind)
        for file in sorted(path.rglob("*")):  # warm the page cache alike for every variant
            if file.is_file():
                file.read_bytes()
        for variant in VARIANTS:
            r = run_variant(path, variant, args.repeats)
            print(
                f"| {kind} | {variant} | {r['seconds']:.2f} | {r['rss']:.0f} | {r['anon']:.0f} "
                f"| {r['file']:.0f} | {r['peak']:.0f} |",
                flush=True,
            )
        full, quick = time_checks(path, args.repeats)
        checks.append(f"| {kind} | {full:.3f} | {quick:.4f} |")
    print("\n## The checks alone (best run)\n")
    print("| kind | every file's SHA-256 s | header digest, listing, sizes s |\n|---|---|---|")
    print("\n".join(checks))


if __name__ == "__main__":
    main()
