"""Lexical search with bm25s, tokenised for code: identifiers are split into their words."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from apipilot.retrieval.errors import ConfigError

_WORD = re.compile(r"[A-Za-z0-9_]+")
_PIECE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@functools.cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; ``read_csv`` and ``IterableWrapper`` also yield their parts.

    English stop words and one-character tokens are dropped.
    """
    stop = _stopwords()
    tokens: list[str] = []
    for word in _WORD.findall(text):
        lowered = word.lower()
        pieces = [p.lower() for p in _PIECE.findall(word)]
        if len(pieces) > 1 or (pieces and pieces[0] != lowered):
            tokens.append(lowered)
            tokens.extend(pieces)
        else:
            tokens.append(lowered)
    return [t for t in tokens if len(t) > 1 and t not in stop]


class BM25Index:
    """BM25 over tokenised texts; scores of 0 (no shared term) are not returned."""

    def __init__(self, model: Any, size: int) -> None:
        self._model = model
        self._size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        import bm25s

        model = bm25s.BM25()
        corpus = [tokenize(text) or ["\x00empty"] for text in texts]
        if corpus:
            model.index(corpus, show_progress=False)
        return cls(model, len(corpus))

    def __len__(self) -> int:
        return self._size

    def search(
        self, queries: Sequence[str], k: int
    ) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        """Per query: ``(ids, scores)`` sorted by score, at most ``k``, only positive scores."""
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        if self._size == 0:
            return [empty for _ in queries]
        tokens = [tokenize(q) for q in queries]
        results: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = [
            empty for _ in queries
        ]
        todo = [i for i, t in enumerate(tokens) if t]
        if not todo:
            return results
        docs, scores = self._model.retrieve(
            [tokens[i] for i in todo], k=min(k, self._size), show_progress=False, n_threads=1
        )
        for row, i in enumerate(todo):
            keep = scores[row] > 0
            results[i] = (docs[row][keep].astype(np.int64), scores[row][keep].astype(np.float32))
        return results

    def save(self, directory: Path) -> None:
        self._model.save(str(directory), show_progress=False)
        (directory / "size.txt").write_text(str(self._size))

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        import bm25s

        size = int((directory / "size.txt").read_text())
        model = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0) if size else None
        if model is None:
            model = bm25s.BM25()
        return cls(model, size)
