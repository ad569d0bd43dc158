"""Lexical search with bm25s, tokenised for code: identifiers are split into their words.

bm25s builds and saves the index. A search reads the saved arrays and scores them with
numpy, replaying bm25s's own retrieval steps (``BM25.get_scores_from_ids`` and its numpy
top-k), so its results are bm25s's to the bit. Why not bm25s at query time: importing it
imports ``scipy.sparse`` (0.2-0.5 s of a 1 s cold ``apipilot search``, benchmarks/startup.py),
and a query only needs a sum over a few columns of the saved matrix.

An index records how its texts became terms (``ANALYZERS``): word tokens, or word tokens
with their Snowball stems (the default of new indexes); its queries are analysed the same way.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from apipilot.retrieval.errors import ConfigError

_WORD = re.compile(r"[A-Za-z0-9_]+")
_PIECE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# bm25s.stopwords.STOPWORDS_EN, copied so that a query does not import bm25s
# (tests/test_lexical_and_fusion.py checks the copy against bm25s).
STOPWORDS_EN = frozenset(
    (
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into",
        "is", "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then",
        "there", "these", "they", "this", "to", "was", "will", "with",
    )
)  # fmt: skip
# bm25s's methods that add a per-term score to documents without the term
_NONOCCURRENCE_METHODS = ("bm25l", "bm25+")
_FILES = {
    "data": "data.csc.index.npy",
    "indices": "indices.csc.index.npy",
    "indptr": "indptr.csc.index.npy",
    "vocab": "vocab.index.json",
    "params": "params.index.json",
    "nonoccurrence": "nonoccurrence_array.index.npy",
}

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; ``read_csv`` and ``IterableWrapper`` also yield their parts.

    English stop words and one-character tokens are dropped.
    """
    tokens: list[str] = []
    for word in _WORD.findall(text):
        lowered = word.lower()
        pieces = [p.lower() for p in _PIECE.findall(word)]
        if len(pieces) > 1 or (pieces and pieces[0] != lowered):
            tokens.append(lowered)
            tokens.extend(pieces)
        else:
            tokens.append(lowered)
    return [t for t in tokens if len(t) > 1 and t not in STOPWORDS_EN]


STEM_MARK = "~"  # a stem token differs from every word token: "~batch" beside "batching"


def words_and_stems(text: str) -> list[str]:
    """``tokenize``'s tokens, each inflected one followed by its Snowball (English) stem,
    marked with ``STEM_MARK``: "batching" and "batches" share ``~batch``. A word that is its
    own stem adds nothing ("batch" matches "batching" only through dense search): adding
    every stem scored lower on the dev splits (docs/benchmarks.md, "Candidates tried")."""
    tokens: list[str] = []
    for token in tokenize(text):
        tokens.append(token)
        stem = _stem(token)
        if stem != token:
            tokens.append(STEM_MARK + stem)
    return tokens


_STEMMER_LOCK = threading.Lock()  # a snowballstemmer object keeps its state while it stems


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    stemmer = _english_stemmer()
    with _STEMMER_LOCK:
        return str(stemmer.stemWord(word))


@functools.cache
def _english_stemmer() -> Any:
    import snowballstemmer  # 16 ms: only indexes that use stems load it

    return snowballstemmer.stemmer("english")


# How texts become BM25 terms, by the name an index records (``analyzer.txt``). An index
# built before analyzers were recorded used "words". "words+stems" is the default of new
# indexes, chosen on the dev splits (docs/benchmarks.md, "Agent ablation"): the agent's R@5
# 0.430 → 0.442 on the large coarse dev set and 0.545 → 0.578 on fine dev; fused search
# 0.306 → 0.321 coarse dev, 0.539 → 0.546 fine dev, level on the realistic dev split.
ANALYZERS: dict[str, Callable[[str], list[str]]] = {
    "words": tokenize,
    "words+stems": words_and_stems,
}
DEFAULT_ANALYZER = "words+stems"
LEGACY_ANALYZER = "words"
_ANALYZER_FILE = "analyzer.txt"


def check_analyzer(name: str) -> str:
    """``name`` when it is a known analyzer; ConfigError naming them otherwise."""
    if name not in ANALYZERS:
        raise ConfigError(f"unknown BM25 analyzer {name!r}; valid: {', '.join(ANALYZERS)}")
    return name


class _Scores:
    """bm25s's saved index: per-term columns of precomputed document scores (CSC arrays)."""

    def __init__(
        self,
        data: npt.NDArray[Any],
        indices: npt.NDArray[Any],
        indptr: npt.NDArray[Any],
        vocab: dict[str, int],
        num_docs: int,
        dtype: str,
        int_dtype: str,
        nonoccurrence: npt.NDArray[Any] | None = None,
    ) -> None:
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.vocab = vocab
        self.num_docs = num_docs
        self.dtype = np.dtype(dtype)
        self.int_dtype = np.dtype(int_dtype)
        self.nonoccurrence = nonoccurrence

    @classmethod
    def of_model(cls, model: Any) -> _Scores:
        scores = model.scores
        return cls(
            scores["data"],
            scores["indices"],
            scores["indptr"],
            dict(model.vocab_dict),
            int(scores["num_docs"]),
            str(model.dtype),
            str(model.int_dtype),
            getattr(model, "nonoccurrence_array", None),
        )

    @classmethod
    def load(cls, directory: Path) -> _Scores:
        params = json.loads((directory / _FILES["params"]).read_text(encoding="utf-8"))
        vocab = json.loads((directory / _FILES["vocab"]).read_text(encoding="utf-8"))
        nonoccurrence = None
        if params.get("method") in _NONOCCURRENCE_METHODS:
            nonoccurrence = np.load(directory / _FILES["nonoccurrence"], allow_pickle=False)
        return cls(
            np.load(directory / _FILES["data"], allow_pickle=False),
            np.load(directory / _FILES["indices"], allow_pickle=False),
            np.load(directory / _FILES["indptr"], allow_pickle=False),
            vocab,
            int(params["num_docs"]),
            str(params.get("dtype", "float32")),
            str(params.get("int_dtype", "int32")),
            nonoccurrence,
        )

    def top_k(self, tokens: list[str], k: int) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """``(scores, ids)`` of the ``k`` best documents, best first (bm25s's numpy top-k)."""
        ids = np.asarray([self.vocab[t] for t in tokens if t in self.vocab], dtype=self.int_dtype)
        starts, ends = self.indptr[ids], self.indptr[ids + 1]
        scores = np.zeros(self.num_docs, dtype=self.dtype)
        for start, end in zip(starts, ends, strict=True):
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        if self.nonoccurrence is not None:
            scores += self.nonoccurrence[ids].sum()
        partitioned = np.argpartition(scores, -k).take(np.arange(-k, 0))
        partitioned_scores = np.take(scores, partitioned)
        order = np.flip(np.argsort(partitioned_scores))
        return partitioned_scores[order], partitioned[order]


class BM25Index:
    """BM25 over analysed texts (``ANALYZERS``; queries are analysed as the index's texts
    were); scores of 0 (no shared term) are not returned."""

    def __init__(
        self,
        scores: _Scores | None,
        size: int,
        model: Any = None,
        analyzer: str = DEFAULT_ANALYZER,
    ) -> None:
        self._scores = scores
        self._size = size
        self._model = model  # the bm25s model of a build, kept to save it
        self.analyzer = check_analyzer(analyzer)
        self._analyze = ANALYZERS[analyzer]

    @classmethod
    def build(cls, texts: Sequence[str], analyzer: str = DEFAULT_ANALYZER) -> BM25Index:
        import bm25s

        analyze = ANALYZERS[check_analyzer(analyzer)]
        model = bm25s.BM25()
        corpus = [analyze(text) or ["\x00empty"] for text in texts]
        if not corpus:
            return cls(None, 0, model, analyzer)
        model.index(corpus, show_progress=False)
        return cls(_Scores.of_model(model), len(corpus), model, analyzer)

    def __len__(self) -> int:
        return self._size

    def search(self, queries: Sequence[str], k: int) -> list[tuple[Ids, Scores]]:
        """Per query: ``(ids, scores)`` sorted by score, at most ``k``, only positive scores."""
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        results: list[tuple[Ids, Scores]] = []
        for query in queries:
            tokens = self._analyze(query)
            if self._scores is None or not tokens:
                results.append(empty)
                continue
            scores, docs = self._scores.top_k(tokens, min(k, self._size))
            keep = scores > 0
            results.append((docs[keep].astype(np.int64), scores[keep].astype(np.float32)))
        return results

    def save(self, directory: Path) -> None:
        if self._model is None:
            raise ConfigError(f"only a built BM25 index can be saved, not one loaded ({directory})")
        self._model.save(str(directory), show_progress=False)
        (directory / "size.txt").write_text(str(self._size))
        (directory / _ANALYZER_FILE).write_text(self.analyzer)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        size = int((directory / "size.txt").read_text())
        recorded = directory / _ANALYZER_FILE
        analyzer = recorded.read_text().strip() if recorded.exists() else LEGACY_ANALYZER
        return cls(_Scores.load(directory) if size else None, size, analyzer=analyzer)
