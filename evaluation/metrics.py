"""Ranking metrics over de-duplicated API names.

A method returns a ranked list of records; each is reduced to its API name (``ApiRecord.name``:
``Shuffler``, ``read_csv``), repeats are dropped keeping the first, and the top ``k`` unique
names are compared with the task's gold names (exact, case-sensitive).

When the gold names are alternatives (the realistic suite: any one of them answers the
question), ``one_answer`` turns them into one relevant item first, so R@k is the hit rate at k,
MRR the reciprocal rank of the first accepted name and nDCG@10 has an ideal of one hit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 to 1) of ``values``; 0.0 when there are none."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def unique_names(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def recall_at(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    gold_set = set(gold)
    return len(gold_set & set(ranked[:k])) / len(gold_set) if gold_set else 0.0


def precision_at(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    return len(set(gold) & set(ranked[:k])) / k


def reciprocal_rank(ranked: Sequence[str], gold: Sequence[str]) -> float:
    gold_set = set(gold)
    for rank, name in enumerate(ranked, start=1):
        if name in gold_set:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    gold_set = set(gold)
    dcg = sum(1.0 / math.log2(i + 2) for i, name in enumerate(ranked[:k]) if name in gold_set)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(gold_set))))
    return dcg / ideal if ideal else 0.0


ANSWER = "\x00answer"  # stands for every accepted name of a task whose gold are alternatives


def one_answer(ranked: Sequence[str], gold: Sequence[str]) -> tuple[list[str], list[str]]:
    """``ranked`` with every gold name replaced by one answer (repeats dropped), and that
    answer as the only gold item."""
    gold_set = set(gold)
    return unique_names(ANSWER if name in gold_set else name for name in ranked), [ANSWER]
