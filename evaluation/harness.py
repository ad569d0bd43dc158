"""Run methods over suites and score every task: R@k, P@k (k = 1, 5, 10), MRR, nDCG@10, latency."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apipilot.evaluation.defaults import DEFAULT_LM_LIMIT
from apipilot.evaluation.methods import Env, Method, Ranking
from apipilot.evaluation.metrics import (
    ndcg_at,
    one_answer,
    percentile,
    precision_at,
    recall_at,
    reciprocal_rank,
)
from apipilot.evaluation.naming import ranked_names
from apipilot.evaluation.suites import Suite

CUTOFFS = (1, 5, 10)
METRICS = (
    *(f"R@{k}" for k in CUTOFFS),
    *(f"P@{k}" for k in CUTOFFS),
    "MRR",
    "nDCG@10",
)


@dataclass
class CellResult:
    """One method on one suite."""

    suite: str
    kind: str
    library: str
    method: str
    tasks: int  # tasks scored
    suite_tasks: int  # tasks in the suite
    metrics: dict[str, float]
    latency: dict[str, dict[str, float]]  # step -> {"p50": s, "p95": s}
    seconds: float
    paths: dict[str, dict[str, int]] = field(default_factory=dict)  # step -> {lm: n, fallback: n}
    errors: int = 0
    uses_lm: bool = False  # the method ran a generative LM (its paths show parse rates)
    per_task: list[dict[str, Any]] = field(default_factory=list)
    split: str = "all"  # the suite's tasks: all, dev or test (evaluation/splits.py)


def task_metrics(
    names: Sequence[str], gold: Sequence[str], *, any_gold: bool = False
) -> dict[str, float]:
    """Every metric of one task; with ``any_gold`` the gold names are alternatives."""
    if any_gold:
        names, gold = one_answer(names, gold)
    values = {f"R@{k}": recall_at(names, gold, k) for k in CUTOFFS}
    values |= {f"P@{k}": precision_at(names, gold, k) for k in CUTOFFS}
    values["MRR"] = reciprocal_rank(names, gold)
    values["nDCG@10"] = ndcg_at(names, gold, 10)
    return values


def latency_summary(rankings: Sequence[Ranking]) -> dict[str, dict[str, float]]:
    """p50/p95 per step; ``retrieve:<branch>`` entries are folded into ``retrieve``."""
    steps: dict[str, list[float]] = {}
    for ranking in rankings:
        for step, seconds in ranking.timings.items():
            if ":" not in step:
                steps.setdefault(step, []).append(seconds)
    return {
        step: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95)} for step, v in steps.items()
    }


def path_counts(rankings: Sequence[Ranking]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for ranking in rankings:
        for step, path in ranking.paths.items():
            counts.setdefault(step, Counter())[path] += 1
    return {step: dict(c) for step, c in counts.items()}


def score_cell(suite: Suite, method: Method, env: Env, limit: int | None = None) -> CellResult:
    tasks = list(suite.tasks[:limit] if limit is not None else suite.tasks)
    start = time.perf_counter()
    rankings = method.rank(suite, tasks, env)
    seconds = time.perf_counter() - start
    per_task: list[dict[str, Any]] = []
    scores: list[dict[str, float]] = []
    for task, ranking in zip(tasks, rankings, strict=True):
        names = ranked_names(ranking.items, task.gold)
        scores.append(task_metrics(names, task.gold, any_gold=suite.any_gold))
        per_task.append(
            {
                "task_id": task.task_id,
                "gold": list(task.gold),
                "ranked": names[:10],
                "metrics": scores[-1],
            }
            | ({"error": ranking.error} if ranking.error else {})
        )
    metrics = {m: statistics.fmean(t[m] for t in scores) if scores else 0.0 for m in METRICS}
    return CellResult(
        suite=suite.name,
        kind=suite.kind,
        library=suite.library,
        method=method.name,
        tasks=len(tasks),
        suite_tasks=len(suite.tasks),
        metrics=metrics,
        latency=latency_summary(rankings),
        seconds=seconds,
        paths=path_counts(rankings),
        errors=sum(1 for r in rankings if r.error),
        uses_lm=method.uses_lm,
        per_task=per_task,
        split=suite.split,
    )


def run_eval(
    suites: Sequence[Suite],
    methods: Sequence[Method],
    env: Env,
    *,
    limit: int | None = None,
    lm_limit: int | None = DEFAULT_LM_LIMIT,
    progress: Callable[[str], None] | None = None,
    cells_done: Callable[[int, int], None] | None = None,
) -> list[CellResult]:
    """Every method that supports a suite, on that suite. ``limit`` caps the tasks of every
    suite (first N in suite order); ``lm_limit`` further caps them for methods that run an LM.
    ``progress`` hears a line per scored cell, ``cells_done`` ``(cells scored, cells)``."""
    results: list[CellResult] = []
    cells = [(s, m) for s in suites for m in methods if m.supports(s)]
    if cells_done:
        cells_done(0, len(cells))
    for suite, method in cells:
        cap = limit
        if method.uses_lm and lm_limit is not None:
            cap = lm_limit if cap is None else min(cap, lm_limit)
        cell = score_cell(suite, method, env, cap)
        if progress:
            progress(
                f"{suite.name} / {method.name}: R@5 {cell.metrics['R@5']:.3f} "
                f"on {cell.tasks} tasks in {cell.seconds:.1f} s"
            )
        results.append(cell)
        if cells_done:
            cells_done(len(results), len(cells))
    return results
