"""A loaded index: its records, vectors and BM25 data, searchable by text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apipilot.indexes.errors import DamagedIndex, EmbedderMismatch
from apipilot.indexes.meta import BM25_DIR, FAISS_FILE, RECORDS_FILE, VECTORS_FILE, IndexMeta
from apipilot.indexes.record import ApiRecord
from apipilot.retrieval.bm25 import BM25Index
from apipilot.retrieval.embedder import Embedder, Vectors, load_embedder
from apipilot.retrieval.exact_index import ExactIndex
from apipilot.retrieval.search import DenseIndex, HybridSearcher, Mode
from apipilot.retrieval.vector_index import VectorIndex, VectorIndexParams


@dataclass(frozen=True)
class SearchHit:
    record: ApiRecord
    score: float


class ApiIndex:
    """The records of one library@version and the searcher over them."""

    def __init__(
        self,
        meta: IndexMeta,
        records: list[ApiRecord],
        vectors: Vectors,
        searcher: HybridSearcher,
        path: Path | None = None,
    ) -> None:
        self.meta = meta
        self.records = records
        self.vectors = vectors
        self.searcher = searcher
        self.path = path
        self._by_id = {record.id: i for i, record in enumerate(records)}
        self._by_name: dict[str, list[int]] = {}
        for i, record in enumerate(records):
            for name in {record.name, record.qualified_name, *record.aliases} - {""}:
                self._by_name.setdefault(name.lower(), []).append(i)

    @property
    def embedder(self) -> Embedder:
        return self.searcher.embedder

    def search(self, query: str, k: int = 10, mode: Mode = "fused") -> list[SearchHit]:
        return self.search_batch([query], k, mode)[0]

    def search_batch(
        self, queries: Sequence[str], k: int = 10, mode: Mode = "fused"
    ) -> list[list[SearchHit]]:
        return [
            [SearchHit(self.records[hit.doc], hit.score) for hit in hits]
            for hits in self.searcher.search_batch(queries, k, mode)
        ]

    def get(self, record_id: str) -> ApiRecord | None:
        i = self._by_id.get(record_id)
        return None if i is None else self.records[i]

    def find(self, name: str) -> list[ApiRecord]:
        """Records whose name, qualified name or an alias is ``name`` (case-insensitive)."""
        return [self.records[i] for i in self._by_name.get(name.lower(), [])]

    @classmethod
    def load(
        cls,
        path: Path,
        embedder: Embedder | None = None,
        params: VectorIndexParams | None = None,
        *,
        verify: bool = True,
        checksums: bool = False,
    ) -> ApiIndex:
        """Load the index in ``path``; with no ``embedder``, the one that built it.

        ``verify`` checks the header's own digest, that it lists every data file, and their
        sizes; ``checksums`` also checks every file's SHA-256 (slow on large indexes: builds and
        ``IndexStore.verify`` do it). The vectors are memory-mapped, not read: a search uses
        the FAISS index, and only a rebuild reads the vectors back (benchmarks/index_open.py).
        """
        meta = IndexMeta.read(path)
        if checksums:
            meta.verify_files(path)
        elif verify:
            meta.check_quick(path)
        if embedder is None:
            embedder = load_embedder(meta.embedder_spec)
        elif embedder.name != meta.embedder:
            raise EmbedderMismatch(
                f"index {meta.ref} was built with embedder {meta.embedder!r} ({meta.dim}-d), "
                f"not {embedder.name!r}: query it with the embedder that built it, or rebuild "
                f"it with `apipilot index build {meta.source or 'SOURCE'} --library "
                f"{meta.library} --embedder ...`"
            )
        try:
            records = [
                ApiRecord.from_dict(json.loads(line))
                for line in (path / RECORDS_FILE).read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            vectors = np.load(path / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
            bm25 = BM25Index.load(path / BM25_DIR)
        except (OSError, ValueError, KeyError) as exc:
            raise DamagedIndex(
                f"index {meta.ref} at {path} cannot be read ({exc}); rebuild it"
            ) from exc
        if len(records) != meta.record_count or vectors.shape != (meta.record_count, meta.dim):
            raise DamagedIndex(
                f"index {meta.ref} at {path} is inconsistent: header says {meta.record_count} "
                f"records of dimension {meta.dim}, found {len(records)} records and vectors "
                f"of shape {vectors.shape}; rebuild it"
            )
        vector_index = _dense_index(path / FAISS_FILE, vectors, params)
        return cls(meta, records, vectors, HybridSearcher(embedder, vector_index, bm25), path)


def _dense_index(
    faiss_path: Path, vectors: Vectors, params: VectorIndexParams | None
) -> DenseIndex:
    """The saved FAISS index; for a flat build (no FAISS file), exact numpy search over the
    mapped vectors when small, so a search of a small index never imports FAISS."""
    if faiss_path.is_file():
        return VectorIndex.load(faiss_path, params)
    if len(vectors) < (params or VectorIndexParams()).exact_threshold:
        return ExactIndex(vectors)
    return VectorIndex.build(vectors, VectorIndexParams(kind="flat"))
