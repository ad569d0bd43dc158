"""Base vs fine-tuned embedder: R@5 / P@5 on the five API pools, dense and fused.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.finetune [--home DIR] \
        [--adapter models/embedder-minilm-ft] [--loo monkey=DIR --loo torchdata=DIR]

Pool indexes are kept under ``HOME/<embedder name>`` (built on first use; default home is a
folder in the system temp directory, so later runs reuse them). ``--loo LIB=DIR`` adds a row
for an adapter trained without LIB (``apipilot train embedder --exclude LIB``), scored on LIB.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from apipilot.evaluation.data import LIBRARIES, load_tasks
from apipilot.evaluation.metrics import precision_at, recall_at, unique_names
from apipilot.evaluation.splits import split_of
from apipilot.indexes.sources import read_source
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import Embedder, load_embedder

# ../shared/data/README.md, "Baselines measured on this data"; targets of issue 6
APIRETRIEVER_R5 = {
    "torchdata": 0.816,
    "monkey": 0.827,
    "beatnum": 0.814,
    "pandas": 0.738,
    "numpy": 0.620,
}
TARGET_R5 = {"torchdata": 0.87, "monkey": 0.87, "beatnum": 0.86, "pandas": 0.79, "numpy": 0.68}
MODES = ("dense", "fused")


def pool_scores(
    home: Path, library: str, spec: str, embedder: Embedder, split: str = "all"
) -> dict[str, str]:
    """``mode -> "R@5 / P@5"`` for ``library``'s pool searched with ``embedder``, over the
    tasks of ``split`` (``dev``, ``test`` or ``all``; see evaluation/splits.py)."""
    store = IndexStore(home / embedder.name)
    if "pool" not in store.versions(library):
        records = read_source(f"corpus:{library}@pool").report.records
        store.build(records, library=library, version="pool", embedder=embedder, embedder_spec=spec)
    index = store.open(library, "pool", embedder)
    tasks = [t for t in load_tasks(library) if split in ("all", split_of(t.task_id))]
    cells = {}
    for mode in MODES:
        ranked = index.search_batch([t.query for t in tasks], 50, mode)
        names = [unique_names(h.record.name for h in hits) for hits in ranked]
        pairs = list(zip(names, tasks, strict=True))
        r5 = np.mean([recall_at(n, t.gold, 5) for n, t in pairs])
        p5 = np.mean([precision_at(n, t.gold, 5) for n, t in pairs])
        cells[mode] = f"{r5:.3f} / {p5:.3f}"
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "apipilot-ft")
    parser.add_argument(
        "--adapter", default="models/embedder-minilm-ft", help="fine-tuned embedder spec or dir"
    )
    parser.add_argument("--base", default="minilm", help="base embedder spec; 'none': skip it")
    parser.add_argument("--libraries", default=",".join(LIBRARIES))
    parser.add_argument("--split", default="all", choices=("all", "dev", "test"))
    parser.add_argument("--loo", action="append", default=[], help="LIB=ADAPTER_DIR")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    libraries = [lib for lib in args.libraries.split(",") if lib]
    skipped = dict.fromkeys(MODES, "–")
    base = None if args.base == "none" else load_embedder(args.base)
    tuned = load_embedder(args.adapter)
    shown = base.name if base is not None else "not run"
    print(
        f"## R@5 / P@5 on the API pools ({args.split} tasks): base `{shown}` "
        f"vs fine-tuned `{tuned.name}`\n"
    )
    print(
        "| library (tasks) | base dense | fine-tuned dense | base fused | fine-tuned fused "
        "| APIRetriever R@5 | target R@5 |"
    )
    print("|---|---|---|---|---|---|---|")
    start = time.perf_counter()
    for library in libraries:
        before = (
            skipped
            if base is None
            else pool_scores(args.home, library, args.base, base, args.split)
        )
        after = pool_scores(args.home, library, args.adapter, tuned, args.split)
        print(
            f"| {library} | {before['dense']} | {after['dense']} "
            f"| {before['fused']} | {after['fused']} | {APIRETRIEVER_R5[library]:.3f} "
            f"| {TARGET_R5[library]:.2f} |",
            flush=True,
        )
    if args.loo:
        print("\n## Leave one library out: adapter trained without LIB, scored on LIB\n")
        print("| held-out library | base dense | held-out dense | base fused | held-out fused |")
        print("|---|---|---|---|---|")
        for item in args.loo:
            library, _, adapter = item.partition("=")
            before = (
                skipped
                if base is None
                else pool_scores(args.home, library, args.base, base, args.split)
            )
            after = pool_scores(args.home, library, adapter, load_embedder(adapter), args.split)
            print(
                f"| {library} | {before['dense']} | {after['dense']} | {before['fused']} "
                f"| {after['fused']} |",
                flush=True,
            )
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
