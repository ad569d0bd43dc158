"""Reciprocal-rank fusion (Cormack et al., 2009) of several rankings, with a weight each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RRF_K = 60


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the dense and the BM25 ranking in the fused one (weighted RRF).

    ``bm25_lead``: when BM25's first document scores at least this many times its second (or
    is its only one), it goes first in the fused ranking; 0 turns this off. Weighted RRF alone
    cannot do it: at dense 2 : BM25 1 and k = 60, a BM25 first hit that dense does not list
    ranks below every one of dense's first 60.
    """

    dense: float = 1.0
    bm25: float = 1.0
    bm25_lead: float = 0.0


# Chosen on the dev splits (fine, coarse and realistic suites; docs/results/realistic.md,
# "Fusion weights"): dense 2 : BM25 1 had the best MRR on the fine and realistic dev splits
# (0.005 below 1.5 : 1 on coarse), and a pooled R@5 within one question of dense alone,
# while keeping BM25's exact matches of identifiers. The BM25 lead of 1.5 (docs/benchmarks.md,
# "Agent ablation"): any ratio from 1.3 to 2.0 raised the agent's R@5 on both coarse and fine
# dev and left fused search's dev R@5 level or higher.
DEFAULT_WEIGHTS = FusionWeights(dense=2.0, bm25=1.0, bm25_lead=1.5)


def lexical_lead(scores: Sequence[float], ratio: float) -> bool:
    """Whether the first of BM25's ``scores`` (best first) stands out by ``ratio``."""
    if ratio <= 0 or not scores:
        return False
    return len(scores) == 1 or scores[1] <= 0 or scores[0] >= ratio * scores[1]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]],
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
    limit: int | None = None,
) -> list[tuple[int, float]]:
    """Fuse ranked id lists: ``score(d) = sum_i w_i / (k + rank_i(d))`` with 1-based ranks.

    Returns ``(id, score)`` sorted by score, ties broken by first appearance.
    """
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    scores: dict[int, float] = {}
    for i, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[i]
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
    fused = sorted(scores.items(), key=lambda item: -item[1])  # stable: first seen wins ties
    return fused[:limit] if limit is not None else fused
