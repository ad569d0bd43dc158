"""Retrieval hits reordered by a cross-encoder (``retrieval.cross_encoder``)."""

from __future__ import annotations

from apipilot.indexes.api_index import SearchHit
from apipilot.retrieval.cross_encoder import RERANK_DEPTH, Reranker, rerank_order


def rerank_hits(
    query: str, hits: list[SearchHit], reranker: Reranker, *, depth: int = RERANK_DEPTH
) -> list[SearchHit]:
    """The first ``depth`` hits in the reranker's order (fused with theirs), then the rest."""
    head, tail = hits[:depth], hits[depth:]
    order = rerank_order(query, [h.record.search_text() for h in head], reranker)
    return [head[i] for i in order] + tail
