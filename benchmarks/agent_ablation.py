"""Agent ablation: coarse R@5 of agent variants on the same requirements, one table.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.agent_ablation \\
        [--llm embedded] [--first 15] [--home DIR] [--libraries torchdata ...]

Variants: the LM's likelihood reranking on and off (``recommend(rerank=...)``), with the LM
decomposing, and the deterministic agent (``--llm none``) for reference. Each scores the first
``--first`` coarse requirements of every library (k=10, the pool indexes under ``--home``) and
reports R@5 and how many decompositions the LM wrote (no fallback). Evaluation tasks are only
scored here; nothing is tuned on them.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from agents.recommend import recommend
from evaluation.data import LIBRARIES
from evaluation.methods import AGENT_K, Env, identity
from evaluation.metrics import recall_at
from evaluation.naming import ranked_names
from evaluation.suites import coarse_suite
from indexes.store import IndexStore


def score(library: str, first: int, env: Env, options: dict[str, Any]) -> tuple[float, int]:
    """Mean R@5 over the first ``first`` coarse requirements, and how many the LM decomposed."""
    suite = coarse_suite(library)
    index = env.index(suite)
    recalls: list[float] = []
    decomposed = 0
    for task in suite.tasks[:first]:
        answer = recommend(
            task.query, library, suite.version, k=AGENT_K, store=env.store_for(None), **options
        )
        records = [r for api in answer["apis"] if (r := index.get(api["id"]))]
        ranked = ranked_names([identity(r) for r in records], task.gold)
        recalls.append(recall_at(ranked, task.gold, 5))
        decomposed += answer["paths"].get("decompose") == "lm"
    return statistics.fmean(recalls), decomposed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", default="embedded", help="LM spec of the LM variants")
    parser.add_argument("--first", type=int, default=15, help="coarse requirements per library")
    parser.add_argument("--home", type=Path, default=None, help="APIPILOT_HOME of the indexes")
    parser.add_argument("--libraries", nargs="*", default=list(LIBRARIES))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    env = Env(IndexStore(args.home))
    variants = {
        f"{args.llm}, LM rerank": {"llm": args.llm, "rerank": True},
        f"{args.llm}, no rerank": {"llm": args.llm, "rerank": False},
        "none (deterministic)": {"llm": "none"},
    }
    print("| variant | " + " | ".join(args.libraries) + " | mean R@5 |")
    print("|---|" + "---|" * (len(args.libraries) + 1), flush=True)
    for name, options in variants.items():
        cells: list[str] = []
        recalls: list[float] = []
        for library in args.libraries:
            recall, decomposed = score(library, args.first, env, options)
            recalls.append(recall)
            cells.append(f"{recall:.3f} ({decomposed}/{args.first} LM)")
        print(
            f"| {name} | " + " | ".join(cells) + f" | {statistics.fmean(recalls):.3f} |", flush=True
        )


if __name__ == "__main__":
    main()
