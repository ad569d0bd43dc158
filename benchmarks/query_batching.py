"""Query embedding under concurrency: what a pass of the shipped ONNX embedder costs per batch
size, and N threads embedding one query at a time with and without the shared pass
(``retrieval.query_batcher``; the embedder allows ``query_passes`` at once), alternating, in
one run.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.query_batching [--threads 16] [--calls 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence

from apipilot.evaluation.metrics import percentile
from apipilot.retrieval.embedder import Vectors, minilm_embedder
from apipilot.retrieval.onnx_embedder import OnnxEmbedder
from apipilot.retrieval.query_batcher import QueryBatcher

QUERIES = [
    "shuffle the rows of a datapipe",
    "batch the rows",
    "read csv files from a folder",
    "open files by name",
    "filter elements by a predicate",
    "zip two datapipes together",
    "parse json lines",
    "group the elements by a key",
]


def per_batch(embedder: OnnxEmbedder, sizes: Sequence[int], repeats: int) -> dict[int, float]:
    """Median seconds of one pass over ``size`` queries."""
    out: dict[int, float] = {}
    for size in sizes:
        texts = (QUERIES * (size // len(QUERIES) + 1))[:size]
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            embedder._encode_sorted(texts)
            times.append(time.perf_counter() - start)
        out[size] = statistics.median(times)
    return out


def concurrent(encode: Callable[[list[str]], Vectors], threads: int, calls: int) -> list[float]:
    """Latency of every call when ``threads`` threads each embed ``calls`` single queries."""
    latencies: list[float] = []
    lock = threading.Lock()
    start_all = threading.Barrier(threads)

    def client(i: int) -> None:
        start_all.wait()
        for j in range(calls):
            start = time.perf_counter()
            encode([QUERIES[(i + j) % len(QUERIES)]])
            with lock:
                latencies.append(time.perf_counter() - start)

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--calls", type=int, default=10, help="Queries per thread.")
    parser.add_argument("--rounds", type=int, default=5, help="Alternating rounds.")
    args = parser.parse_args()
    embedder = minilm_embedder("onnx")
    assert isinstance(embedder, OnnxEmbedder)
    embedder.encode(["warm up"])
    costs = per_batch(embedder, (1, 2, 4, 8, 16), repeats=15)
    paths: dict[str, Callable[[list[str]], Vectors]] = {
        "one pass per query": embedder._encode_sorted
    }
    for passes in (1, 2):
        batcher = QueryBatcher(embedder._encode_sorted, max_passes=passes)
        paths[f"shared, at most {passes} pass(es) at once"] = batcher.encode
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in paths}
    for _ in range(args.rounds):
        for name, encode in paths.items():
            start = time.perf_counter()
            latencies = concurrent(encode, args.threads, args.calls)
            wall = time.perf_counter() - start
            runs[name].append((statistics.median(latencies), percentile(latencies, 0.95), wall))
    threads = os.environ.get("OMP_NUM_THREADS")
    print(f"## Query embedding ({os.cpu_count()} cores, OMP_NUM_THREADS={threads})\n")
    print("| queries in one pass | ms a pass | ms a query |")
    print("|---|---|---|")
    for size, seconds in costs.items():
        print(f"| {size} | {seconds * 1000:.1f} | {seconds * 1000 / size:.1f} |")
    print(
        f"\n{args.threads} threads x {args.calls} single-query calls, median of {args.rounds} "
        "alternating rounds:\n"
    )
    print("| path | p50 ms | p95 ms | wall s |")
    print("|---|---|---|---|")
    for name, rows in runs.items():
        p50, p95, wall = (statistics.median(column) for column in zip(*rows, strict=True))
        print(f"| {name} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {wall:.2f} |")
    print(f"\n`{' '.join(['python -m benchmarks.query_batching', *sys.argv[1:]])}`")


if __name__ == "__main__":
    main()
