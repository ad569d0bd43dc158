"""Scale benchmark: FAISS indexes of 1M 384-d vectors that fit in RAM (issue 18).

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.scale [--n 1000000] [--work DIR]

Writes a synthetic collection (a mixture of Gaussian clusters around real MiniLM vectors of
shipped API texts, see :mod:`benchmarks.scale_data`) into ``--work``, computes exact top-10 for
1,000 queries by brute force, then builds and serves each candidate in its own process, one
FAISS thread, and prints markdown tables. The collection, the queries and the exact answers in
``--work`` are reused when present; the indexes are rebuilt. ``--centres real`` (the default)
embeds 2,000 API texts once with the shipped MiniLM (about two minutes here, then cached).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.scale_candidates import (
    CANDIDATES,
    Candidate,
    build,
    ground_truth,
    in_child,
    nlist_for,
    serve,
    serve_product,
    train_size,
)
from benchmarks.scale_data import (
    Mixture,
    gaussian_centres,
    real_centres,
    write_collection,
)

DIM = 384
CLUSTERS = 2000
NOISE = 1.2  # noise norm per unit centre: IVF with nprobe=1 finds ~0.6 of the exact top-10
QUERIES = 1000


def prepare(work: Path, n: int, centres_kind: str) -> tuple[Path, Path, Path]:
    work.mkdir(parents=True, exist_ok=True)
    centres_path = work / f"centres-{centres_kind}.npy"
    if not centres_path.exists():
        centres = (
            real_centres(CLUSTERS, 0)
            if centres_kind == "real"
            else gaussian_centres(CLUSTERS, DIM, 0)
        )
        np.save(centres_path, centres)
    mixture = Mixture.around(np.load(centres_path), NOISE, 1)
    tag = f"{centres_kind}-{n}"
    vectors, queries, exact = (
        work / f"{name}-{tag}.npy" for name in ("vectors", "queries", "exact")
    )
    if not vectors.exists():
        start = time.perf_counter()
        partial = vectors.with_suffix(".partial.npy")
        write_collection(partial, n, mixture, seed=2)
        partial.rename(vectors)
        print(f"generated {n:,} vectors in {time.perf_counter() - start:.0f} s -> {vectors}")
    if not queries.exists():
        np.save(queries, mixture.sample(QUERIES, np.random.default_rng(3)))
    if not exact.exists():
        stats = in_child(ground_truth, vectors, queries, exact)
        print(
            f"exact top-10 of {QUERIES} queries: {stats['exact_s']:.0f} s, "
            f"peak RSS {stats['exact_peak_mb']:.0f} MB"
        )
    return vectors, queries, exact


def run_candidate(
    candidate: Candidate,
    work: Path,
    vectors: Path,
    queries: Path,
    exact: Path,
    n: int,
    target: float,
) -> list[dict[str, Any]]:
    index_path = work / f"{candidate.name}-{vectors.stem}.faiss"
    built = in_child(build, candidate, vectors, index_path)
    served = in_child(serve, candidate, index_path, queries, exact, target)
    rows = [{"name": candidate.name, "spec": candidate.spec(n), **built, **served}]
    if candidate.product:
        product = in_child(serve_product, index_path, queries, exact)
        rows.append({**rows[0], "name": f"{candidate.name}, as served by VectorIndex", **product})
    return rows


def print_tables(rows: list[dict[str, Any]], n: int, target: float) -> None:
    print(f"\n## {n:,} records x {DIM}-d, {QUERIES} single queries, k=10, 1 FAISS thread\n")
    print(
        "| index (factory) | build s | build peak RSS MB | disk MB | open s | setting "
        "| recall@10 | p50 ms | p95 ms | RSS serving MB (before open) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        reached = "" if r["recall"] >= target else " (below target)"
        print(
            f"| {r['name']} (`{r['spec']}`) | {r['build_s']:.0f} | {r['build_peak_mb']:.0f} "
            f"| {r['disk_mb']:.0f} | {r['open_s']:.2f} | {r['knob']} "
            f"| {r['recall']:.3f}{reached} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} "
            f"| {r['rss_serving_mb']:.0f} ({r['rss_before_open_mb']:.0f}) |"
        )
    print(
        "\nSweep (batch of all queries, 1 thread; stops at the first value reaching "
        f"recall@10 {target}):\n"
    )
    print("| index | setting: recall@10 / ms per query |\n|---|---|")
    for r in filter(lambda r: r["sweep"], rows):
        knob = r["knob"].split("=")[0]
        cells = ", ".join(
            f"{knob}={s['value']}: {s['recall']:.3f} / {s['batch_ms']:.2f}" for s in r["sweep"]
        )
        print(f"| {r['name']} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="records")
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/apipilot-scale"),
        help="directory for the collection and the index files",
    )
    parser.add_argument(
        "--centres",
        choices=("real", "gaussian"),
        default="real",
        help="cluster centres: MiniLM vectors of API texts, or random",
    )
    parser.add_argument("--only", default="", help="comma-separated candidate names")
    parser.add_argument("--target", type=float, default=0.95, help="recall@10 to reach")
    args = parser.parse_args()
    vectors, queries, exact = prepare(args.work, args.n, args.centres)
    print(f"nlist={nlist_for(args.n)}, trained on {train_size(args.n):,} rows")
    wanted = set(filter(None, args.only.split(",")))
    rows = []
    for candidate in CANDIDATES:
        if wanted and candidate.name not in wanted:
            continue
        if candidate.max_n and args.n > candidate.max_n:
            print(f"skip {candidate.name}: above {candidate.max_n:,} records")
            continue
        found = run_candidate(candidate, args.work, vectors, queries, exact, args.n, args.target)
        print(found, flush=True)
        rows += found
    print_tables(rows, args.n, args.target)


if __name__ == "__main__":
    main()
