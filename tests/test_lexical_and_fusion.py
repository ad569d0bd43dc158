from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from apipilot.retrieval.bm25 import BM25Index, tokenize, words_and_stems
from apipilot.retrieval.embedder import HashingEmbedder
from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.fusion import FusionWeights, lexical_lead, reciprocal_rank_fusion
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


def test_stems_match_other_inflections_and_the_analyzer_is_recorded(tmp_path: Path) -> None:
    texts = ["batches elements together", "shuffle elements randomly"]
    assert words_and_stems("batching rows") == ["batching", "~batch", "rows", "~row"]
    stemmed, words = BM25Index.build(texts), BM25Index.build(texts, analyzer="words")
    assert stemmed.analyzer == "words+stems" and words.analyzer == "words"
    assert list(stemmed.search(["batching"], 2)[0][0]) == [0]
    assert len(words.search(["batching"], 2)[0][0]) == 0  # words alone: no shared term
    stemmed.save(tmp_path / "stems")
    assert BM25Index.load(tmp_path / "stems").search(["batching"], 2)[0][0].tolist() == [0]
    words.save(tmp_path / "words")
    (tmp_path / "words" / "analyzer.txt").unlink()  # as an index saved before analyzers
    assert BM25Index.load(tmp_path / "words").analyzer == "words"
    with pytest.raises(ConfigError, match="words"):
        BM25Index.build(texts, analyzer="porter")


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


class FirstAxisEmbedder:
    """Every text points along the first axis, except texts with "zebra", which point along
    the second: dense search ranks the zebra document last for a query without the word."""

    name = "first-axis"
    dim = 4

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i, 1 if "zebra" in text else 0] = 1.0
            out[i, 2] = 0.01 * (i % 7)  # distinct scores, still near the first axis
        normalised: np.ndarray = out / np.linalg.norm(out, axis=1, keepdims=True)
        return normalised


def test_lexical_lead_needs_a_clear_first_bm25_score() -> None:
    assert lexical_lead([3.0, 2.0], 1.5)
    assert not lexical_lead([2.9, 2.0], 1.5)
    assert lexical_lead([0.4], 1.5)  # the only BM25 match
    assert lexical_lead([0.4, 0.0], 1.5)
    assert not lexical_lead([], 1.5)
    assert not lexical_lead([9.0, 1.0], 0.0)  # off


def test_a_clear_bm25_first_hit_leads_the_fused_ranking() -> None:
    texts = [f"common words of document {i}" for i in range(60)] + ["a zebra grazes"]
    embedder = FirstAxisEmbedder()
    vectors = VectorIndex.build(embedder.encode(texts))
    bm25 = BM25Index.build(texts)
    query = "common grazes"
    plain = HybridSearcher(embedder, vectors, bm25, weights=FusionWeights(2.0, 1.0))
    lead = HybridSearcher(embedder, vectors, bm25, weights=FusionWeights(2.0, 1.0, bm25_lead=1.5))
    assert plain.search(query, 50, "bm25")[0].doc == 60
    assert 60 not in [hit.doc for hit in plain.search(query, 10, "fused")]
    hits = lead.search(query, 10, "fused")
    assert hits[0].doc == 60
    assert hits[0].score == pytest.approx(hits[1].score)  # still sorted by score
    assert len(hits) == 10
    assert [hit.doc for hit in hits[1:]] == [hit.doc for hit in plain.search(query, 9, "fused")]
