from __future__ import annotations

from pathlib import Path

import pytest

from apipilot.retrieval.bm25 import BM25Index, tokenize
from apipilot.retrieval.embedder import HashingEmbedder
from apipilot.retrieval.fusion import reciprocal_rank_fusion
from apipilot.retrieval.search import HybridSearcher
from apipilot.retrieval.vector_index import VectorIndex


def test_tokenize_splits_identifiers_and_drops_stop_words() -> None:
    tokens = tokenize("Use read_csv and the IterableWrapper of a DataPipe")
    assert {"read_csv", "read", "csv", "iterablewrapper", "iterable", "wrapper"} <= set(tokens)
    assert "the" not in tokens and "of" not in tokens


def test_bm25_ranks_matching_document_first(tmp_path: Path) -> None:
    texts = ["shuffle elements randomly", "batch elements together", "open files on disk"]
    index = BM25Index.build(texts)
    ids, scores = index.search(["randomly shuffle"], 3)[0]
    assert ids[0] == 0 and scores[0] > 0
    index.save(tmp_path)
    again = BM25Index.load(tmp_path)
    assert list(again.search(["open a file"], 3)[0][0]) == list(
        index.search(["open a file"], 3)[0][0]
    )


def test_bm25_unknown_words_and_empty_query_return_nothing() -> None:
    index = BM25Index.build(["alpha beta", "gamma"])
    assert [len(ids) for ids, _ in index.search(["zzz", "", "the"], 5)] == [0, 0, 0]


def test_rrf_by_hand() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert [d for d, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert reciprocal_rank_fusion([[5], [6]], weights=[1.0, 2.0])[0][0] == 6
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([[1]], weights=[1.0, 2.0])


def test_hybrid_modes_and_batch() -> None:
    texts = ["shuffle the elements", "group into batches", "parse csv rows", "list files"]
    embedder = HashingEmbedder(64)
    searcher = HybridSearcher(
        embedder, VectorIndex.build(embedder.encode(texts)), BM25Index.build(texts)
    )
    for mode in ("dense", "bm25", "fused"):
        assert searcher.search("parse the csv rows", 2, mode)[0].doc == 2
    batch = searcher.search_batch(["shuffle", "list the files"], 1)
    assert [hits[0].doc for hits in batch] == [0, 3]
