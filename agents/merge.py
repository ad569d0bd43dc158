"""Merge the candidates of every subtask into one ranking.

Each subtask's list and the whole requirement's list vote by weighted reciprocal rank
(``score = sum_i w_i / (rrf_k + rank_i)``); evidence scores (companions of retrieved APIs, the
APIs of the nearest demonstrations: ``agents.evidence``) are added to those votes; then each
subtask's best ``cover`` candidates are put first (coverage: no subtask goes unanswered), and
every API name is listed once. The covered candidates come depth by depth (every subtask's
first, then every subtask's second), and within a depth the candidate its subtask's search
scored highest comes first: a long requirement has more subtasks than the top five has
places, and a subtask whose retrievers agree on its first hit is more often right than one
that names nothing the library does. The weights are chosen on the dev split
(``agents.defaults``).
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
    confident_first: bool = True  # within a depth of the covered head (``coverage_head``)


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
    confidence: Sequence[Mapping[str, float]] | None = None,
) -> list[tuple[str, float]]:
    """``(record id, score)`` best first: fused votes plus ``evidence``, each subtask's best
    ``weights.cover`` first (``coverage_head``), one record per name (``name_of``; default the
    id)."""
    scores = rank_votes(subtask_lists, requirement_list, weights)
    for record_id, extra in (evidence or {}).items():
        scores[record_id] = scores.get(record_id, 0.0) + extra
    ranked = sorted(scores, key=lambda record_id: -scores[record_id])  # stable on ties
    head = coverage_head(
        subtask_lists, weights.cover, confidence if weights.confident_first else None
    )
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


def coverage_head(
    subtask_lists: Sequence[Sequence[str]],
    cover: int,
    confidence: Sequence[Mapping[str, float]] | None = None,
) -> list[str]:
    """Each subtask's first ``cover`` candidates, depth by depth; within a depth, by
    ``confidence[i][record id]`` (the retrieval score in subtask ``i``'s search), highest
    first, subtask order on ties and without ``confidence``."""
    head: list[str] = []
    for depth in range(cover):
        level = [(i, ids[depth]) for i, ids in enumerate(subtask_lists) if depth < len(ids)]
        if confidence is not None:
            level.sort(key=lambda item: -confidence[item[0]].get(item[1], 0.0))
        head.extend(record_id for _, record_id in level)
    return head
