"""Retrieval benchmark: build rate, vector search latency/recall, and R@5/P@5 on the API pools.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.retrieval [--home DIR] [--sizes 10000,100000]

Uses ``$APIPILOT_HOME`` indexes of the pools when they exist (``apipilot index defaults``),
otherwise builds them in a temporary directory. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from apipilot.evaluation.data import APIRETRIEVER_P5, LIBRARIES, PUBLISHED_R5, load_tasks
from apipilot.evaluation.metrics import precision_at, recall_at, unique_names
from apipilot.indexes.passages import PassageParams
from apipilot.indexes.sources import read_source
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import Embedder, load_embedder
from apipilot.retrieval.vector_index import VectorIndex, VectorIndexParams


def build_rate(embedder: Embedder, home: Path, doc_source: str = "pkg:rich") -> None:
    """Records/s of the raw embedder and of index builds with and without passages, on the
    pandas pool (head lines only: its bodies repeat them, so it gets no passages) and on a
    source whose records carry whole docstrings (``doc_source``), side by side in one run."""
    records = read_source("corpus:pandas@pool").report.records[:3000]
    texts = [r.search_text() for r in records]
    embedder.encode(texts[:64])  # load and warm up
    start = time.perf_counter()
    embedder.encode(texts)
    raw = len(texts) / (time.perf_counter() - start)
    store = IndexStore(home)
    print("## Build rate (all-MiniLM-L6-v2)\n")
    print("| records | what | units (head lines + passages) | records/s |\n|---|---|---|---|")
    print(f"| 3,000 pandas pool | raw embedder (`encode`) | 3,000 | {raw:.0f} |")
    docs = read_source(doc_source).report.records
    for label, chosen in (("3,000 pandas pool", records), (f"{len(docs):,} `{doc_source}`", docs)):
        for what, passages in (
            ("index build, head lines only (`--no-passages`)", PassageParams(enabled=False)),
            ("index build with passages (default)", PassageParams()),
        ):
            version = f"{len(chosen)}-{int(passages.enabled)}"
            start = time.perf_counter()
            meta, _ = store.build(
                chosen,
                library="bench",
                version=version,
                embedder=embedder,
                embedder_spec="minilm",
                passages=passages,
            )
            rate = len(chosen) / (time.perf_counter() - start)
            print(f"| {label} | {what} | {meta.units:,} | {rate:.0f} |")
    print()


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(10, n // 100), dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.4 * rng.standard_normal((n, dim))
    out: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


def latencies(index: VectorIndex, queries: np.ndarray) -> tuple[float, float, np.ndarray]:
    times, ids = [], []
    for q in queries:
        start = time.perf_counter()
        _, found = index.search(q[None, :], 10)
        times.append((time.perf_counter() - start) * 1000)
        ids.append(found[0])
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    return p50, p95, np.array(ids)


def vector_search(sizes: list[int], dim: int = 384) -> None:
    print(f"## Vector search, synthetic clustered {dim}-d vectors, 200 single queries, k=10\n")
    print("| records | index | build s | p50 ms | p95 ms | recall@10 vs exact |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        # queries come from the same clusters as the records, as real queries do
        points = clustered(n + 200, dim, 0)
        base, queries = points[:n], points[n:]
        exact_ids = None
        for kind in ("flat", "hnsw"):
            start = time.perf_counter()
            index = VectorIndex.build(base, VectorIndexParams(kind=kind))
            build_s = time.perf_counter() - start
            p50, p95, ids = latencies(index, queries)
            if kind == "flat":
                exact_ids = ids
                recall = "1 (exact)"
            else:
                assert exact_ids is not None
                hits = [len(set(a) & set(e)) / 10 for a, e in zip(ids, exact_ids, strict=True)]
                recall = f"{np.mean(hits):.3f}"
            print(f"| {n:,} | {kind} | {build_s:.1f} | {p50:.2f} | {p95:.2f} | {recall} |")
    print()


def pool_quality(store: IndexStore, embedder: Embedder) -> None:
    print("## Single-query retrieval on the API pools (R@5 / P@5 over de-duplicated names)\n")
    print(
        "| library (tasks) | BM25 | dense | fused | baseline BM25 R@5 | baseline MiniLM R@5 "
        "| APIRetriever R@5 / P@5 |"
    )
    print("|---|---|---|---|---|---|---|")
    for library in LIBRARIES:
        if "pool" not in store.versions(library):
            read = read_source(f"corpus:{library}@pool")
            store.build(
                read.report.records,
                library=library,
                version="pool",
                embedder=embedder,
                embedder_spec="minilm",
            )
        index = store.open(library, "pool", embedder)
        tasks = load_tasks(library)
        cells = []
        for mode in ("bm25", "dense", "fused"):
            ranked = index.search_batch([t.query for t in tasks], 50, mode)
            names = [unique_names(h.record.name for h in hits) for hits in ranked]
            r5 = np.mean([recall_at(n, t.gold, 5) for n, t in zip(names, tasks, strict=True)])
            p5 = np.mean([precision_at(n, t.gold, 5) for n, t in zip(names, tasks, strict=True)])
            cells.append(f"{r5:.3f} / {p5:.3f}")
        bm25, minilm, apir = PUBLISHED_R5[library]
        apip = APIRETRIEVER_P5[library]
        print(
            f"| {library} ({len(tasks)}) | {' | '.join(cells)} | {bm25:.3f} | {minilm:.3f} "
            f"| {apir:.3f} / {apip:.3f} |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="index home with the pool indexes")
    parser.add_argument("--sizes", default="10000,100000", help="synthetic collection sizes")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    embedder = load_embedder("minilm", purpose="build")  # builds embed with torch
    with tempfile.TemporaryDirectory() as tmp:
        build_rate(embedder, Path(tmp))
    vector_search([int(s) for s in args.sizes.split(",")])
    pool_quality(IndexStore(args.home), embedder)


if __name__ == "__main__":
    main()
