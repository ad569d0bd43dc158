"""Fusion weights on the dev splits: dense : BM25 weights and the BM25 lead, through the real
search and agent (the searcher's ``FusionWeights`` swapped per setting, as the ablation does).

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.fusion_sweep --home DIR \\
        [--split dev|test] [--analyzer words] [--default-only] [--embedder e5-small]

Columns (mean R@5 on ``--split``, dev by default: this chooses a default; test reports it;
the large coarse set is dev only): fused search on the realistic dev split
(any accepted name is a hit), fused search and the default agent on the fine dev split, the
agent on the large coarse dev set (``evaluation.suites.coarse_dev_suite``). The realistic
indexes are built in DIR from ``pkg:`` when missing, as ``apipilot eval`` builds them.
``--analyzer`` rebuilds each index's BM25 in memory with another analyzer
(``retrieval.bm25.ANALYZERS``; the words-only A/B of session 7). ``--embedder`` runs on that
embedder's indexes (``DIR/embedders/SPEC``, as ``apipilot eval`` keeps them).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from apipilot.evaluation.data import LIBRARIES
from apipilot.evaluation.methods import AgentMethod, Env, Method, SearchMethod
from apipilot.evaluation.naming import ranked_names
from apipilot.evaluation.realistic import realistic_libraries
from apipilot.evaluation.suites import (
    Suite,
    coarse_dev_suite,
    fine_suite,
    realistic_suite,
    with_split,
)
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.fusion import DEFAULT_WEIGHTS, FusionWeights
from benchmarks.agent_ablation import WithSearcher, _metrics, with_bm25_analyzer

SETTINGS = [
    FusionWeights(dense=2.0, bm25=1.0, bm25_lead=1.5),
    FusionWeights(dense=3.0, bm25=1.0, bm25_lead=1.5),
    FusionWeights(dense=4.0, bm25=1.0, bm25_lead=1.5),
    FusionWeights(dense=1.0, bm25=1.0, bm25_lead=1.5),
    FusionWeights(dense=2.0, bm25=1.0, bm25_lead=0.0),
    FusionWeights(dense=3.0, bm25=1.0, bm25_lead=0.0),
    FusionWeights(dense=3.0, bm25=1.0, bm25_lead=2.0),
]


def with_weights(method: Method, weights: FusionWeights) -> WithSearcher:
    return WithSearcher(method, f"fusion {weights}", "weights", lambda index: weights)


def any_hit_recall(method: Method, suite: Suite, env: Env) -> list[float]:
    """Per task, 1 when an accepted name is in the top 5 (the realistic suites' rule)."""
    tasks = list(suite.tasks)
    hits = []
    for ranking, task in zip(method.rank(suite, tasks, env), tasks, strict=True):
        names = ranked_names(ranking.items, task.gold)
        hits.append(1.0 if any(name in task.gold for name in names[:5]) else 0.0)
    return hits


def sweep(
    env: Env,
    libraries: list[str],
    settings: list[FusionWeights],
    split: str = "dev",
    analyzer: str | None = None,
) -> list[tuple[FusionWeights, list[float]]]:
    realistic = [with_split(realistic_suite(lib), split) for lib in realistic_libraries()]
    fine = [with_split(fine_suite(lib), split) for lib in libraries]
    large = [coarse_dev_suite(lib) for lib in libraries] if split == "dev" else []
    rows = []
    for weights in settings:
        fused: Method = with_weights(SearchMethod("fused", "fused"), weights)
        agent: Method = with_weights(AgentMethod("agent", "none", "the defaults"), weights)
        if analyzer is not None:
            fused, agent = with_bm25_analyzer(fused, analyzer), with_bm25_analyzer(agent, analyzer)
        real = [hit for suite in realistic for hit in any_hit_recall(fused, suite, env)]
        cells = [
            statistics.fmean(real),
            statistics.fmean(_metrics(fused.rank(s, s.tasks, env), s.tasks)[0] for s in fine),
            statistics.fmean(_metrics(agent.rank(s, s.tasks, env), s.tasks)[0] for s in fine),
        ]
        if large:
            cells.append(
                statistics.fmean(_metrics(agent.rank(s, s.tasks, env), s.tasks)[0] for s in large)
            )
        rows.append((weights, cells))
        print(f"scored {weights}", flush=True)
    return rows


def table(rows: list[tuple[FusionWeights, list[float]]]) -> str:
    head = "| dense : BM25, lead | realistic fused | fine fused | fine agent | large coarse agent |"
    if rows and len(rows[0][1]) == 3:
        head = head.removesuffix(" large coarse agent |")
    lines = [head, "|---" * head.count(" | ") + "|---|"]
    for weights, cells in rows:
        name = f"{weights.dense:g} : {weights.bm25:g}, lead {weights.bm25_lead:g}"
        if weights == DEFAULT_WEIGHTS:
            name += " (default)"
        lines.append(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="APIPILOT_HOME of the indexes")
    parser.add_argument("--libraries", nargs="*", default=list(LIBRARIES))
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--analyzer", default=None, help="BM25 analyzer (default: the index's)")
    parser.add_argument("--default-only", action="store_true", help="only the default weights")
    parser.add_argument(
        "--embedder", default=None, help="indexes of this embedder (built in DIR when missing)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    settings = [DEFAULT_WEIGHTS] if args.default_only else SETTINGS
    env = Env(IndexStore(args.home))
    if args.embedder is not None:  # the embedder's own store, its pool indexes built once
        for library in args.libraries:
            env.index(with_split(fine_suite(library), "dev"), args.embedder)
        env = Env(env.store_for(args.embedder), build_embedder=args.embedder)
    rows = sweep(env, args.libraries, settings, args.split, args.analyzer)
    took = time.perf_counter() - started
    print(f"\n{args.split} R@5, BM25 {args.analyzer or 'as built'} ({took:.0f} s):\n")
    print(table(rows))


if __name__ == "__main__":
    main()
