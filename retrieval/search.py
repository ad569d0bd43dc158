"""Hybrid search over one collection: dense (FAISS or exact numpy) + BM25, fused by reciprocal
rank."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from apipilot.retrieval.bm25 import BM25Index
from apipilot.retrieval.embedder import Embedder, Vectors
from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.fusion import reciprocal_rank_fusion

Mode = str  # one of MODES
MODES: tuple[str, ...] = ("fused", "dense", "bm25")


class DenseIndex(Protocol):
    """What the searcher needs of a vector index: ``VectorIndex`` (FAISS) or ``ExactIndex``."""

    def search(
        self, queries: Vectors, k: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...


@dataclass(frozen=True)
class Hit:
    """A document position in the collection and its score under the chosen mode."""

    doc: int
    score: float


class HybridSearcher:
    """Searches a collection by position; knows nothing of what the documents are."""

    def __init__(
        self, embedder: Embedder, vectors: DenseIndex, bm25: BM25Index, *, depth: int = 50
    ) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self.bm25 = bm25
        self.depth = depth  # candidates taken from each ranking before fusion

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
        dense: list[list[Hit]] = [[] for _ in queries]
        lexical: list[list[Hit]] = [[] for _ in queries]
        if mode in ("dense", "fused"):
            scores, ids = self.vectors.search(self.embedder.encode(list(queries)), depth)
            dense = [
                [Hit(int(d), float(s)) for d, s in zip(row_ids, row_scores, strict=True) if d >= 0]
                for row_ids, row_scores in zip(ids, scores, strict=True)
            ]
        if mode in ("bm25", "fused"):
            lexical = [
                [Hit(int(d), float(s)) for d, s in zip(ids_, scores_, strict=True)]
                for ids_, scores_ in self.bm25.search(queries, depth)
            ]
        if mode == "dense":
            return [hits[:k] for hits in dense]
        if mode == "bm25":
            return [hits[:k] for hits in lexical]
        return [
            [
                Hit(doc, score)
                for doc, score in reciprocal_rank_fusion(
                    [[h.doc for h in d], [h.doc for h in b]], limit=k
                )
            ]
            for d, b in zip(dense, lexical, strict=True)
        ]
