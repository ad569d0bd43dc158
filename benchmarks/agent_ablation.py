"""Agent ablation: coarse R@5 of agent variants on the same requirements, one table.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.agent_ablation \\
        [--llm embedded] [--first 15] [--home DIR] [--libraries torchdata ...]

Variants: the LM's likelihood reranking on and off (``recommend(rerank=...)``), with the LM
decomposing, and the deterministic agent (``--llm none``) for reference. Each scores the first
``--first`` coarse requirements of every library (the evaluation's ``AgentMethod``: k=10, the
pool indexes under ``--home``) and reports R@5 and how many decompositions the LM wrote (no
fallback). Evaluation tasks are only scored here; nothing is tuned on them.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from apipilot.evaluation.data import LIBRARIES
from apipilot.evaluation.methods import AgentMethod, Env
from apipilot.evaluation.metrics import recall_at
from apipilot.evaluation.naming import ranked_names
from apipilot.evaluation.suites import coarse_suite
from apipilot.indexes.store import IndexStore


def score(method: AgentMethod, library: str, first: int, env: Env) -> tuple[float, int]:
    """Mean R@5 over the first ``first`` coarse requirements, and how many the LM decomposed."""
    suite = coarse_suite(library)
    tasks = suite.tasks[:first]
    rankings = method.rank(suite, tasks, env)
    recalls = [
        recall_at(ranked_names(r.items, t.gold), t.gold, 5)
        for r, t in zip(rankings, tasks, strict=True)
    ]
    decomposed = sum(r.paths.get("decompose") == "lm" for r in rankings)
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
    variants = [
        AgentMethod(f"{args.llm}, LM rerank", args.llm, "LM decomposes and reranks"),
        AgentMethod(f"{args.llm}, no rerank", args.llm, "LM decomposes", rerank=False),
        AgentMethod("none (deterministic)", "none", "no LM"),
    ]
    print("| variant | " + " | ".join(args.libraries) + " | mean R@5 |")
    print("|---|" + "---|" * (len(args.libraries) + 1), flush=True)
    for method in variants:
        cells: list[str] = []
        recalls: list[float] = []
        for library in args.libraries:
            recall, decomposed = score(method, library, args.first, env)
            recalls.append(recall)
            cells.append(f"{recall:.3f} ({decomposed}/{args.first} LM)")
        mean = statistics.fmean(recalls)
        print(f"| {method.name} | " + " | ".join(cells) + f" | {mean:.3f} |", flush=True)


if __name__ == "__main__":
    main()
