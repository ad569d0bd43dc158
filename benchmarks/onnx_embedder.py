"""ONNX Runtime (int8) against torch for the default embedder, side by side in one run.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.onnx_embedder [--home DIR] [--build-texts N]

Prints markdown tables: dense R@5 of the five fine suites with torch-embedded and with
ONNX-embedded queries against the same torch-built pool index vectors (the harness's scoring),
cosine between the two backends' vectors (queries and API texts), single-query latency,
cold import+load time of each path in a fresh process, and build-time throughput (texts/s).
Pool indexes come from ``--home`` (built there with torch when missing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from apipilot.evaluation.data import LIBRARIES, EvalTask
from apipilot.evaluation.harness import score_cell
from apipilot.evaluation.methods import Env, Ranking, identity
from apipilot.evaluation.suites import Suite, fine_suite
from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.sources import read_source
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import Backend, Embedder, minilm_embedder

BACKENDS: tuple[Backend, ...] = ("torch", "onnx")
DEPTH = 50


class DenseWith:
    """Dense search of a suite's pool index with the queries embedded by ``embedder``."""

    uses_lm = False

    def __init__(self, embedder: Embedder, backend: Backend) -> None:
        self.embedder = embedder
        self.name = f"dense-{backend}"
        self.description = f"dense search, queries embedded on {backend}"

    def supports(self, suite: Suite) -> bool:
        return True

    def rank(self, suite: Suite, tasks: Sequence[EvalTask], env: Env) -> list[Ranking]:
        path = env.store.path(suite.library, suite.version).resolve()
        index = ApiIndex.load(path, self.embedder)
        results = index.search_batch([t.query for t in tasks], DEPTH, "dense")
        return [Ranking([identity(h.record) for h in hits]) for hits in results]


def ensure_pools(store: IndexStore, torch_embedder: Embedder, libraries: Sequence[str]) -> None:
    for library in libraries:
        if "pool" not in store.versions(library):
            start = time.perf_counter()
            read = read_source(f"corpus:{library}@pool")
            store.build(
                read.report.records,
                library=library,
                version="pool",
                embedder=torch_embedder,
                embedder_spec="minilm",
            )
            print(f"built {library}@pool with torch in {time.perf_counter() - start:.0f} s")


def cosine_row(what: str, a: np.ndarray, b: np.ndarray) -> str:
    cos = (a * b).sum(axis=1)
    return (
        f"| {what} ({len(cos)}) | {cos.min():.4f} | {np.percentile(cos, 1):.4f} "
        f"| {np.median(cos):.4f} | {cos.mean():.5f} |"
    )


def quality(
    store: IndexStore, embedders: dict[Backend, Embedder], libraries: Sequence[str]
) -> list[str]:
    """R@5 table rows; returns the suites' queries for the latency and cosine tables."""
    print("## Dense R@5, fine suites, same torch-built index vectors\n")
    print("| suite (tasks) | torch queries | ONNX int8 queries | difference |")
    print("|---|---|---|---|")
    env = Env(store)
    queries: list[str] = []
    gaps = []
    for library in libraries:
        suite = fine_suite(library)
        queries += [t.query for t in suite.tasks]
        r5 = {
            backend: score_cell(suite, DenseWith(embedder, backend), env).metrics["R@5"]
            for backend, embedder in embedders.items()
        }
        gaps.append(r5["onnx"] - r5["torch"])
        print(
            f"| {suite.name} ({len(suite.tasks)}) | {r5['torch']:.3f} | {r5['onnx']:.3f} "
            f"| {gaps[-1]:+.3f} |"
        )
    print(f"\nLargest |difference|: {max(abs(g) for g in gaps):.3f} (target: <= 0.01)\n")
    return queries


def cosines(embedders: dict[Backend, Embedder], queries: list[str], texts: list[str]) -> None:
    print("## Cosine between ONNX int8 and torch vectors\n")
    print("| texts | min | p1 | median | mean |\n|---|---|---|---|---|")
    for what, batch in (("fine-suite queries", queries), ("API search texts", texts)):
        print(cosine_row(what, embedders["onnx"].encode(batch), embedders["torch"].encode(batch)))
    print()


def latency(embedders: dict[Backend, Embedder], queries: list[str]) -> None:
    print(f"## Single-query embedding latency ({len(queries)} queries, warm)\n")
    print("| backend | p50 ms | p95 ms |\n|---|---|---|")
    for backend, embedder in embedders.items():
        embedder.encode(queries[:4])
        times = []
        for query in queries:
            start = time.perf_counter()
            embedder.encode([query])
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"| {backend} | {statistics.median(times):.1f} | {p95:.1f} |")
    print()


COLD = """
import sys, time
start = time.perf_counter()
from apipilot.retrieval.embedder import minilm_embedder
minilm_embedder({backend!r}).encode(["shuffle the elements of a datapipe"])
heavy = [m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules]
print(f"{{time.perf_counter() - start:.3f}} {{','.join(heavy) or '-'}}")
"""


def cold_start(repeats: int) -> None:
    print(f"## Cold path: fresh process, import + load + first query (median of {repeats})\n")
    print("| backend | process wall s | import+load+encode s | heavy modules imported |")
    print("|---|---|---|---|")
    rows: dict[Backend, list[tuple[float, float, str]]] = {b: [] for b in BACKENDS}
    for _ in range(repeats):
        for backend in BACKENDS:  # alternate, so load from other processes hits both alike
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", COLD.format(backend=backend)],
                capture_output=True,
                text=True,
                check=True,
            )
            wall = time.perf_counter() - start
            seconds, heavy = done.stdout.split()
            rows[backend].append((wall, float(seconds), heavy))
    for backend, runs in rows.items():
        process = statistics.median(r[0] for r in runs)
        inner = statistics.median(r[1] for r in runs)
        print(f"| {backend} | {process:.2f} | {inner:.2f} | {runs[0][2]} |")
    print()


def throughput(embedders: dict[Backend, Embedder], texts: list[str], rounds: int) -> None:
    print(f"## Build-time embedding throughput ({len(texts)} pandas pool search texts)\n")
    print("| backend | texts/s (best of rounds) |\n|---|---|")
    best: dict[Backend, float] = dict.fromkeys(BACKENDS, 0.0)
    for _ in range(rounds):
        for backend, embedder in embedders.items():
            embedder.encode(texts[:32])
            start = time.perf_counter()
            embedder.encode(texts)
            best[backend] = max(best[backend], len(texts) / (time.perf_counter() - start))
    for backend, rate in best.items():
        print(f"| {backend} | {rate:.0f} |")
    print(f"\nONNX int8 / torch: {best['onnx'] / best['torch']:.2f}x (issue 15 asks >= 3x)\n")


def api_texts(count: int, library: str = "pandas") -> list[str]:
    records = read_source(f"corpus:{library}@pool").report.records
    step = max(1, len(records) // count)
    return [r.search_text() for r in records[::step][:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="index home with (or for) the pool indexes")
    parser.add_argument("--build-texts", type=int, default=2000, help="texts for throughput")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds per backend")
    parser.add_argument("--cold-repeats", type=int, default=3, help="fresh processes per path")
    parser.add_argument("--libraries", default=",".join(LIBRARIES), help="fine suites to score")
    args = parser.parse_args()
    import torch

    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    print(f"Threads per backend: {threads} (OMP_NUM_THREADS)\n")
    embedders = {backend: minilm_embedder(backend) for backend in BACKENDS}
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore(args.home or Path(tmp))
        libraries = [lib.strip() for lib in args.libraries.split(",") if lib.strip()]
        ensure_pools(store, embedders["torch"], libraries)
        queries = quality(store, embedders, libraries)
    cosines(embedders, queries, api_texts(500))
    latency(embedders, queries[:200])
    cold_start(args.cold_repeats)
    throughput(embedders, api_texts(args.build_texts), args.rounds)


if __name__ == "__main__":
    main()
