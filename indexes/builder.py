"""Build an index directory from records: embed (reusing unchanged vectors), write, check."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.errors import SourceError
from apipilot.indexes.meta import (
    BM25_DIR,
    FAISS_FILE,
    META_FILE,
    RECORDS_FILE,
    VECTORS_FILE,
    IndexMeta,
    checksum_tree,
    size_tree,
)
from apipilot.indexes.record import ApiRecord
from apipilot.retrieval.bm25 import BM25Index
from apipilot.retrieval.embedder import Embedder, Vectors
from apipilot.retrieval.vector_index import VectorIndex, VectorIndexParams

Progress = Callable[[int, int], None]  # (done, total) records embedded
# (phase, done, total) for every phase of a build: "read", "embed", "write"; total 0: unknown
PhaseProgress = Callable[[str, int, int], None]
EMBED_BATCH = 256


@dataclass(frozen=True)
class BuildStats:
    """What a build did compared with the previous build of the same library@version."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    seconds: float = 0.0


def corpus_hash(records: Sequence[ApiRecord]) -> str:
    digest = hashlib.sha256()
    for record in records:
        digest.update(record.content_hash().encode())
    return digest.hexdigest()[:32]


def embed_records(
    records: Sequence[ApiRecord],
    embedder: Embedder,
    previous: ApiIndex | None = None,
    progress: Progress | None = None,
) -> tuple[Vectors, BuildStats]:
    """Vectors for ``records``; a record whose content hash is unchanged since ``previous``
    (built by the same embedder) keeps its old vector instead of being embedded again."""
    reusable: dict[str, tuple[str, int]] = {}
    if previous is not None and previous.meta.embedder == embedder.name:
        reusable = {r.id: (r.content_hash(), i) for i, r in enumerate(previous.records)}
    old_ids = {r.id for r in previous.records} if previous is not None else set()
    vectors = np.zeros((len(records), embedder.dim), dtype=np.float32)
    todo: list[int] = []
    added = changed = unchanged = 0
    for i, record in enumerate(records):
        old = reusable.get(record.id)
        if old is not None and previous is not None and old[0] == record.content_hash():
            vectors[i] = previous.vectors[old[1]]
            unchanged += 1
            continue
        todo.append(i)
        if record.id in old_ids:
            changed += 1
        else:
            added += 1
    for start in range(0, len(todo), EMBED_BATCH):
        batch = todo[start : start + EMBED_BATCH]
        vectors[batch] = embedder.encode([records[i].search_text() for i in batch])
        if progress is not None:
            progress(min(start + EMBED_BATCH, len(todo)), len(todo))
    if progress is not None and not todo:
        progress(0, 0)
    removed = len(old_ids - {r.id for r in records})
    stats = BuildStats(added, changed, unchanged, removed, embedded=len(todo))
    return vectors, stats


def write_index(
    directory: Path,
    records: Sequence[ApiRecord],
    vectors: Vectors,
    *,
    library: str,
    version: str,
    embedder: Embedder,
    embedder_spec: str,
    source: str,
    params: VectorIndexParams,
    build_seconds: float,
    apipilot_version: str,
) -> IndexMeta:
    """Write a complete index into ``directory`` (which must be empty); header last, with the
    size and SHA-256 of every data file and a digest of its own."""
    if not records:
        raise SourceError(f"no API records to index for {library}@{version}")
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / RECORDS_FILE).open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
    np.save(directory / VECTORS_FILE, vectors, allow_pickle=False)
    vector_index = VectorIndex.build(vectors, params, use_gpu=False)
    if vector_index.kind != "flat":
        vector_index.save(directory / FAISS_FILE)
    (directory / BM25_DIR).mkdir()
    BM25Index.build([r.search_text() for r in records]).save(directory / BM25_DIR)
    meta = IndexMeta(
        library=library,
        version=version,
        embedder=embedder.name,
        embedder_spec=embedder_spec,
        dim=int(vectors.shape[1]),
        record_count=len(records),
        corpus_hash=corpus_hash(records),
        source=source,
        vector_index={"kind": vector_index.kind, **params.__dict__},
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(build_seconds, 3),
        apipilot_version=apipilot_version,
        files=checksum_tree(directory),
        sizes=size_tree(directory),
    ).sealed()
    tmp = directory / (META_FILE + ".tmp")
    tmp.write_text(meta.to_json(), encoding="utf-8")
    tmp.replace(directory / META_FILE)
    return meta


def timer() -> Callable[[], float]:
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
