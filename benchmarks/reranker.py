"""Fused retrieval vs fused + cross-encoder reranking: R@5 / P@5 on the five API pools.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.reranker [--home DIR] \
        [--reranker models/reranker-minilm-ce] [--embedder minilm --embedder minilm-ft] \
        [--loo torchdata=DIR]

Each task's single query is searched (fused, top 50); the reranker reorders the top 30 by the
shipped rule (``indexes.rerank.rerank_hits``). Pool indexes are kept under
``HOME/<embedder name>`` as in ``benchmarks.finetune`` (built on first use). ``--loo LIB=DIR``
adds a row for a reranker trained without LIB (``apipilot train reranker --exclude LIB``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from apipilot.evaluation.data import LIBRARIES, load_tasks
from apipilot.evaluation.metrics import precision_at, recall_at, unique_names
from apipilot.indexes.api_index import ApiIndex, SearchHit
from apipilot.indexes.rerank import rerank_hits
from apipilot.indexes.sources import read_source
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.cross_encoder import Reranker, load_reranker
from apipilot.retrieval.embedder import load_embedder
from benchmarks.finetune import TARGET_R5


def pool_index(home: Path, library: str, spec: str) -> ApiIndex:
    embedder = load_embedder(spec)
    store = IndexStore(home / embedder.name)
    if "pool" not in store.versions(library):
        records = read_source(f"corpus:{library}@pool").report.records
        store.build(records, library=library, version="pool", embedder=embedder, embedder_spec=spec)
    return store.open(library, "pool", embedder)


def score(rankings: list[list[SearchHit]], golds: list[tuple[str, ...]]) -> str:
    names = [unique_names(h.record.name for h in hits) for hits in rankings]
    r5 = np.mean([recall_at(n, g, 5) for n, g in zip(names, golds, strict=True)])
    p5 = np.mean([precision_at(n, g, 5) for n, g in zip(names, golds, strict=True)])
    return f"{r5:.3f} / {p5:.3f}"


def compare(home: Path, library: str, spec: str, reranker: Reranker) -> tuple[str, str, float]:
    """(fused, fused + rerank, seconds of reranking a query) for ``library``'s tasks."""
    tasks = load_tasks(library)
    golds = [t.gold for t in tasks]
    fused = pool_index(home, library, spec).search_batch([t.query for t in tasks], 50, "fused")
    start = time.perf_counter()
    reranked = [rerank_hits(t.query, hits, reranker) for t, hits in zip(tasks, fused, strict=True)]
    per_query = (time.perf_counter() - start) / len(tasks)
    return score(fused, golds), score(reranked, golds), per_query


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "apipilot-ft")
    parser.add_argument("--reranker", default="models/reranker-minilm-ce")
    parser.add_argument("--embedder", action="append", default=[], help="minilm, minilm-ft")
    parser.add_argument("--libraries", default=",".join(LIBRARIES))
    parser.add_argument("--loo", action="append", default=[], help="LIB=ADAPTER_DIR")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    libraries = [lib for lib in args.libraries.split(",") if lib]
    reranker = load_reranker(args.reranker)
    if reranker is None:
        parser.error("--reranker must name a reranker")
    start = time.perf_counter()
    for spec in args.embedder or ["minilm"]:
        print(f"\n## R@5 / P@5, embedder `{spec}`, reranker `{reranker.name}` (top 30)\n")
        print("| library (tasks) | fused | fused + rerank | rerank s/query | target R@5 |")
        print("|---|---|---|---|---|")
        for library in libraries:
            before, after, seconds = compare(args.home, library, spec, reranker)
            print(
                f"| {library} ({len(load_tasks(library))}) | {before} | {after} "
                f"| {seconds:.2f} | {TARGET_R5[library]:.2f} |",
                flush=True,
            )
    if args.loo:
        print("\n## Leave one library out: reranker trained without LIB, scored on LIB\n")
        print("| held-out library | fused | fused + held-out rerank |")
        print("|---|---|---|")
        for item in args.loo:
            library, _, adapter = item.partition("=")
            held_out = load_reranker(adapter)
            assert held_out is not None
            before, after, _ = compare(args.home, library, "minilm", held_out)
            print(f"| {library} | {before} | {after} |", flush=True)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
