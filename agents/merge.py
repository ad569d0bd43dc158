"""Merge the candidates of every subtask into one ranking.

Each subtask's list and the whole requirement's list vote by weighted reciprocal rank
(``score = sum_i w_i / (rrf_k + rank_i)``); evidence scores (companions of retrieved APIs, the
APIs of the nearest demonstrations: ``agents.evidence``) are added to those votes; then each
subtask's best ``cover`` candidates are put first (coverage: no subtask goes unanswered), and
every API name is listed once. The weights are chosen on the dev split (``agents.defaults``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MergeWeights:
    """How the lists are fused (see the module docstring)."""

    requirement: float = 1.0  # weight of the whole requirement's list; a subtask's list has 1
    rrf_k: int = 60
    depth: int = 20  # candidates of each list that vote
    cover: int = 1  # best candidates of each subtask put first


def rank_votes(
    subtask_lists: Sequence[Sequence[str]],
    requirement_list: Sequence[str],
    weights: MergeWeights,
) -> dict[str, float]:
    """Every candidate's fused reciprocal-rank score."""
    scores: dict[str, float] = {}
    lists = [(ranked, 1.0) for ranked in subtask_lists] + [(requirement_list, weights.requirement)]
    for ranked, weight in lists:
        for rank, record_id in enumerate(ranked[: weights.depth], start=1):
            scores[record_id] = scores.get(record_id, 0.0) + weight / (weights.rrf_k + rank)
    return scores


def merge_rankings(
    subtask_lists: Sequence[Sequence[str]],
    requirement_list: Sequence[str],
    weights: MergeWeights,
    *,
    evidence: Mapping[str, float] | None = None,
    name_of: Callable[[str], str] | None = None,
) -> list[tuple[str, float]]:
    """``(record id, score)`` best first: fused votes plus ``evidence``, each subtask's best
    ``weights.cover`` first, one record per name (``name_of``; default the id)."""
    scores = rank_votes(subtask_lists, requirement_list, weights)
    for record_id, extra in (evidence or {}).items():
        scores[record_id] = scores.get(record_id, 0.0) + extra
    ranked = sorted(scores, key=lambda record_id: -scores[record_id])  # stable on ties
    head = [ids[d] for d in range(weights.cover) for ids in subtask_lists if d < len(ids)]
    key = name_of or (lambda record_id: record_id)
    seen: set[str] = set()
    merged: list[tuple[str, float]] = []
    for record_id in head + ranked:
        name = key(record_id)
        if name in seen:
            continue
        seen.add(name)
        merged.append((record_id, scores.get(record_id, 0.0)))
    return merged
