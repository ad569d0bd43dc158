"""Exact inner-product search with numpy over (memory-mapped) vectors: no FAISS import.

Small indexes (below ``VectorIndexParams.exact_threshold``) are searched this way. A flat
FAISS index would copy the vectors into memory and importing FAISS costs 0.1-0.35 s, a third
of a cold ``apipilot search`` (benchmarks/startup.py); scoring a few thousand vectors is one
matrix product either way. Results equal ``IndexFlatIP``'s: best first, ties by lower id.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from apipilot.retrieval.embedder import Vectors
from apipilot.retrieval.errors import ConfigError


class ExactIndex:
    """Cosine search over L2-normalised vectors (inner product), computed in full."""

    kind = "flat"
    on_gpu = False

    def __init__(self, vectors: Vectors) -> None:
        if vectors.ndim != 2:
            raise ConfigError(f"expected a 2-d array of vectors, got shape {vectors.shape}")
        self._vectors = vectors  # not copied: a memory-mapped file stays mapped

    @property
    def dim(self) -> int:
        return int(self._vectors.shape[1])

    def __len__(self) -> int:
        return int(self._vectors.shape[0])

    def search(
        self, queries: Vectors, k: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Top-``k`` per query: ``(scores, ids)``, each ``(n_queries, k)``; missing ids are -1."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ConfigError(f"query shape {queries.shape} does not match dimension {self.dim}")
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        count = len(self)
        if count == 0 or len(queries) == 0:
            return scores, ids
        found = min(k, count)
        all_scores = queries @ np.asarray(self._vectors, dtype=np.float32).T
        for row, row_scores in enumerate(all_scores):
            best = (
                np.argpartition(-row_scores, found - 1)[:found]
                if found < count
                else np.arange(count)
            )
            order = np.lexsort((best, -row_scores[best]))  # by score, then by id
            ids[row, :found] = best[order]
            scores[row, :found] = row_scores[best[order]]
        return scores, ids
