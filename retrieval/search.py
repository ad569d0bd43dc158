"""Hybrid search over one collection: dense (FAISS or exact numpy) + BM25, fused by weighted
reciprocal rank.

A collection is made of search units (a record's head line, its passages); each unit belongs
to a document (``Units.owners``). Each ranking is first turned into a ranking of documents (a
document scores by its best unit, plus a small bonus for its other matching units), a
document may lift others (a guide lifts the APIs it links) and some documents are never
returned (guides are evidence, not answers); only then are the document rankings fused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from apipilot.retrieval.bm25 import BM25Index
from apipilot.retrieval.embedder import Embedder, Vectors, encode_queries
from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.fusion import (
    DEFAULT_WEIGHTS,
    RRF_K,
    FusionWeights,
    lexical_lead,
    reciprocal_rank_fusion,
)

Mode = str  # one of MODES
MODES: tuple[str, ...] = ("fused", "dense", "bm25")
UNIT_DEPTH_FACTOR = 4  # units taken from each ranking per document wanted, when units > docs


class DenseIndex(Protocol):
    """What the searcher needs of a vector index: ``VectorIndex`` (FAISS) or ``ExactIndex``."""

    def search(
        self, queries: Vectors, k: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...


@dataclass(frozen=True)
class Hit:
    """A document position in the collection, its score under the chosen mode, and the unit
    that gave it (its own head line, one of its passages, or a guide that lifted it)."""

    doc: int
    score: float
    unit: int = -1


@dataclass(frozen=True)
class Units:
    """How the units of a collection map to documents. ``owners[u]`` is unit ``u``'s document
    (``None``: unit ``u`` is document ``u``); ``lifts[u]`` the documents that unit ``u`` lifts
    to its own score times ``Aggregation.lift``; ``hidden`` documents are never returned."""

    owners: npt.NDArray[np.int32] | None = None
    lifts: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    hidden: frozenset[int] = frozenset()
    documents: int = 0  # units below this are head lines (one a document), the rest passages

    def owner(self, unit: int) -> int:
        return unit if self.owners is None else int(self.owners[unit])

    def is_passage(self, unit: int) -> bool:
        return self.owners is not None and unit >= self.documents


@dataclass(frozen=True)
class Aggregation:
    """How unit scores make a document's: ``best + bonus * (sum of its other matching units)``
    within one ranking, where a passage's score counts ``dense_passages`` (dense ranking) or
    ``bm25_passages`` (BM25 ranking) times (0: passages are ignored there); a lifted document
    gets ``lift`` times the lifting document's score."""

    bonus: float = 0.0
    lift: float = 1.0
    dense_passages: float = 1.0
    bm25_passages: float = 1.0


# Chosen on the realistic dev split by the rule used for the fusion weights (best MRR, R@5
# within noise): a bonus of 0.1 raised MRR at every fusion weight tried (docs/results/realistic.md).
DEFAULT_AGGREGATION = Aggregation(bonus=0.1)


class HybridSearcher:
    """Searches a collection by position; knows nothing of what the documents are."""

    def __init__(
        self,
        embedder: Embedder,
        vectors: DenseIndex,
        bm25: BM25Index,
        *,
        depth: int = 50,
        units: Units | None = None,
        weights: FusionWeights = DEFAULT_WEIGHTS,
        aggregation: Aggregation = DEFAULT_AGGREGATION,
    ) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self.bm25 = bm25
        self.depth = depth  # candidates taken from each ranking before fusion
        self.units = units or Units()
        self.weights = weights
        self.aggregation = aggregation

    def search(self, query: str, k: int = 10, mode: Mode = "fused") -> list[Hit]:
        return self.search_batch([query], k, mode)[0]

    def search_batch(
        self, queries: Sequence[str], k: int = 10, mode: Mode = "fused"
    ) -> list[list[Hit]]:
        if mode not in MODES:
            raise ConfigError(f"unknown search mode {mode!r}; valid: {', '.join(MODES)}")
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        if not queries:
            return []
        depth = max(k, self.depth)
        unit_depth = self._unit_depth(depth)
        dense: list[list[Hit]] = [[] for _ in queries]
        lexical: list[list[Hit]] = [[] for _ in queries]
        if mode in ("dense", "fused"):
            scores, ids = self.vectors.search(encode_queries(self.embedder, queries), unit_depth)
            dense = [
                self._documents(
                    [
                        (int(u), float(s))
                        for u, s in zip(row_ids, row_scores, strict=True)
                        if u >= 0
                    ],
                    self.aggregation.dense_passages,
                )
                for row_ids, row_scores in zip(ids, scores, strict=True)
            ]
        if mode in ("bm25", "fused"):
            lexical = [
                self._documents(
                    [(int(u), float(s)) for u, s in zip(ids_, scores_, strict=True)],
                    self.aggregation.bm25_passages,
                )
                for ids_, scores_ in self.bm25.search(queries, unit_depth)
            ]
        if mode == "dense":
            return [hits[:k] for hits in dense]
        if mode == "bm25":
            return [hits[:k] for hits in lexical]
        return [self._fuse(d[:depth], b[:depth], k) for d, b in zip(dense, lexical, strict=True)]

    def _unit_depth(self, depth: int) -> int:
        many_units = self.units.owners is not None or self.units.hidden or self.units.lifts
        return depth * UNIT_DEPTH_FACTOR if many_units else depth

    def _documents(self, unit_hits: list[tuple[int, float]], passages: float) -> list[Hit]:
        """One ranking of units (best first) as a ranking of documents."""
        if passages != 1.0 and self.units.owners is not None:
            unit_hits = [
                (u, s * passages if self.units.is_passage(u) else s)
                for u, s in unit_hits
                if passages > 0 or not self.units.is_passage(u)
            ]
            unit_hits.sort(key=lambda hit: -hit[1])
        return aggregate(unit_hits, self.units, self.aggregation)

    def _fuse(self, dense: list[Hit], lexical: list[Hit], k: int) -> list[Hit]:
        weights = (self.weights.dense, self.weights.bm25)
        fused = reciprocal_rank_fusion(
            [[h.doc for h in dense], [h.doc for h in lexical]], weights=weights, limit=k
        )
        if lexical_lead([h.score for h in lexical[:2]], self.weights.bm25_lead):
            fused = _put_first(fused, lexical[0].doc, k)
        # the evidence of a document: its unit in the ranking that gave it the most
        evidence: dict[int, tuple[float, int]] = {}
        for weight, hits in zip(weights, (dense, lexical), strict=True):
            for rank, hit in enumerate(hits, start=1):
                share = weight / (RRF_K + rank)
                if share > evidence.get(hit.doc, (-1.0, -1))[0]:
                    evidence[hit.doc] = (share, hit.unit)
        return [Hit(doc, score, evidence.get(doc, (0.0, -1))[1]) for doc, score in fused]


def _put_first(fused: list[tuple[int, float]], doc: int, k: int) -> list[tuple[int, float]]:
    """``doc`` first, with the top score (the order stays sorted by score), then the others."""
    top = fused[0][1] if fused else 0.0
    rest = [(d, score) for d, score in fused if d != doc]
    return [(doc, top), *rest[: k - 1]]


def aggregate(
    unit_hits: Sequence[tuple[int, float]], units: Units, aggregation: Aggregation
) -> list[Hit]:
    """Document hits from ``(unit, score)`` pairs sorted best first: each document scores its
    best unit plus ``bonus`` times the sum of how far its other units score above the last
    unit listed; then lifts, then hidden ones dropped. Sorted by score, ties by first
    appearance.

    Measuring the other units from the last one makes the bonus independent of the model's
    score scale: e5's cosines all lie near 0.8, so summing raw cosines let any document with
    many passages win (realistic dev, dense R@5 0.500 with raw sums, 0.841 with this rule;
    docs/results/retriever-training.md)."""
    best: dict[int, tuple[float, int]] = {}
    extra: dict[int, float] = {}
    floor = unit_hits[-1][1] if unit_hits else 0.0
    for unit, score in unit_hits:
        doc = units.owner(unit)
        if doc not in best:
            best[doc] = (score, unit)
        else:
            extra[doc] = extra.get(doc, 0.0) + score - floor
    scored = {
        doc: (score + aggregation.bonus * extra.get(doc, 0.0), unit)
        for doc, (score, unit) in best.items()
    }
    if units.lifts:
        for unit, score in unit_hits:
            lifted = aggregation.lift * score
            for target in units.lifts.get(unit, ()):
                if target not in scored or scored[target][0] < lifted:
                    scored[target] = (lifted, unit)
    ranked = sorted(
        (item for item in scored.items() if item[0] not in units.hidden),
        key=lambda item: -item[1][0],
    )
    return [Hit(doc, score, unit) for doc, (score, unit) in ranked]
