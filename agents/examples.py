"""The example bank and Skill-KNN: few-shot demonstrations chosen by their skill descriptions.

A demonstration is (requirement, skills, subtasks, APIs, code), made from a library's
documentation by ``scripts/make_example_bank.py``. Its ``skills`` text was written once, when
the bank was made, and is stored in the bank; at query time the request's own skill
description is matched against those (Skill-KNN, An et al. 2023), not the raw requirement.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apipilot.indexes.corpora import corpora_dir
from apipilot.indexes.store import version_key
from apipilot.retrieval.embedder import Embedder, Vectors, encode_queries
from apipilot.retrieval.exact_index import ExactIndex


@dataclass(frozen=True)
class Demonstration:
    id: str
    requirement: str
    skills: str
    subtasks: tuple[str, ...]
    apis: tuple[str, ...]
    code: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["subtasks"] = list(self.subtasks)
        data["apis"] = list(self.apis)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Demonstration:
        return cls(
            id=str(data["id"]),
            requirement=str(data["requirement"]),
            skills=str(data["skills"]),
            subtasks=tuple(str(s) for s in data["subtasks"]),
            apis=tuple(str(a) for a in data["apis"]),
            code=str(data.get("code", "")),
            source=str(data.get("source", "")),
        )


class ExampleBank:
    """Demonstrations of one library and a vector index over their skill descriptions."""

    def __init__(
        self,
        demonstrations: list[Demonstration],
        embedder: Embedder,
        name: str = "",
        vector_cache: Path | None = None,
    ) -> None:
        self.demonstrations = demonstrations
        self.embedder = embedder
        self.name = name
        self.vector_cache = vector_cache  # where the skill vectors are kept between processes
        self._index: ExactIndex | None = None  # numpy: a few hundred rows need no FAISS

    def __len__(self) -> int:
        return len(self.demonstrations)

    def nearest(self, skills: str, n: int) -> list[Demonstration]:
        """The ``n`` demonstrations whose skill descriptions are closest to ``skills``."""
        if not self.demonstrations or n < 1:
            return []
        if self._index is None:
            self._index = ExactIndex(self._skill_vectors())
        _, ids = self._index.search(encode_queries(self.embedder, [skills]), min(n, len(self)))
        return [self.demonstrations[i] for i in ids[0] if i >= 0]

    def _skill_vectors(self) -> Vectors:
        cache = self.vector_cache
        if cache is not None and cache.is_file():
            vectors: Vectors = np.load(cache, allow_pickle=False)
            if vectors.shape == (len(self), self.embedder.dim):
                return vectors
        vectors = encode_queries(self.embedder, [d.skills for d in self.demonstrations])
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".tmp{os.getpid()}.npy")
            np.save(tmp, vectors, allow_pickle=False)
            tmp.replace(cache)
        return vectors

    @classmethod
    def load(cls, path: Path, embedder: Embedder, cache_dir: Path | None = None) -> ExampleBank:
        """Load a bank; with ``cache_dir``, its skill vectors are computed once and kept there
        (keyed by the bank's content and the embedder)."""
        text = path.read_text(encoding="utf-8")
        demos = [Demonstration.from_dict(json.loads(line)) for line in text.splitlines() if line]
        cache = None
        if cache_dir is not None:
            digest = hashlib.sha256(text.encode()).hexdigest()[:12]
            cache = cache_dir / f"{path.stem}-{embedder.name}-{digest}.npy"
        return cls(demos, embedder, name=path.stem, vector_cache=cache)


def examples_dir() -> Path:
    return corpora_dir() / "examples"


def find_bank(library: str, version: str) -> Path | None:
    """The bank of ``library@version``, else the library's newest bank, else ``None``."""
    exact = examples_dir() / f"{library}@{version}.jsonl"
    if exact.is_file():
        return exact
    others = sorted(
        examples_dir().glob(f"{library}@*.jsonl"),
        key=lambda p: version_key(p.stem.partition("@")[2]),
    )
    return others[-1] if others else None
