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
import numpy.typing as npt

from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.errors import SourceError
from apipilot.indexes.meta import (
    BM25_DIR,
    FAISS_FILE,
    META_FILE,
    PASSAGES_FILE,
    RECORDS_FILE,
    UNITS_FILE,
    VECTORS_FILE,
    IndexMeta,
    checksum_tree,
    size_tree,
)
from apipilot.indexes.passages import PassageParams, cut_passages
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


@dataclass(frozen=True)
class EmbeddedUnits:
    """The search units of a build: one head line a record (rows ``0..n-1``, in record order),
    then every passage (rows ``n..``), with the vector and owner record of each."""

    vectors: Vectors  # (units, dim)
    owners: npt.NDArray[np.int32]  # (units,): the record position each unit belongs to
    passages: list[str]  # the text of units n.., in order
    stats: BuildStats


def embed_records(
    records: Sequence[ApiRecord],
    embedder: Embedder,
    previous: ApiIndex | None = None,
    progress: Progress | None = None,
) -> tuple[Vectors, BuildStats]:
    """Head-line vectors for ``records`` (see :func:`embed_units`, without passages)."""
    units = embed_units(records, embedder, previous, progress, PassageParams(enabled=False))
    return units.vectors, units.stats


def embed_units(
    records: Sequence[ApiRecord],
    embedder: Embedder,
    previous: ApiIndex | None = None,
    progress: Progress | None = None,
    passages: PassageParams | None = None,
) -> EmbeddedUnits:
    """Vectors for the head line and the passages of each record. A record whose content hash
    is unchanged since ``previous`` (built by the same embedder) keeps its head-line vector,
    and its passage vectors too when ``previous`` cut passages by the same rule; only the rest
    is embedded."""
    passages = passages or PassageParams()
    cut = [cut_passages(record, passages) for record in records]
    owners = np.concatenate(
        [
            np.arange(len(records), dtype=np.int32),
            np.asarray([i for i, texts in enumerate(cut) for _ in texts], dtype=np.int32),
        ]
    )
    texts = [text for piece in cut for text in piece]
    reuse = _Reuse(previous, embedder, passages)
    vectors = np.zeros((len(owners), embedder.dim), dtype=np.float32)
    todo: list[tuple[int, str]] = []  # (unit row, text)
    added = changed = unchanged = 0
    row = len(records)
    for i, record in enumerate(records):
        rows = list(range(row, row + len(cut[i])))
        row += len(cut[i])
        old = reuse.find(record)
        if old is None:
            todo.append((i, record.search_text()))
            todo.extend(zip(rows, cut[i], strict=True))
            if record.id in reuse.old_ids:
                changed += 1
            else:
                added += 1
            continue
        unchanged += 1
        head, old_passages = old
        vectors[i] = reuse.vectors([head])[0]
        if old_passages is not None and len(old_passages) == len(rows):
            if rows:
                vectors[rows] = reuse.vectors(old_passages)
        else:
            todo.extend(zip(rows, cut[i], strict=True))
    for start in range(0, len(todo), EMBED_BATCH):
        batch = todo[start : start + EMBED_BATCH]
        vectors[[r for r, _ in batch]] = embedder.encode([t for _, t in batch])
        if progress is not None:
            progress(min(start + EMBED_BATCH, len(todo)), len(todo))
    if progress is not None and not todo:
        progress(0, 0)
    removed = len(reuse.old_ids - {r.id for r in records})
    stats = BuildStats(added, changed, unchanged, removed, embedded=len(todo))
    return EmbeddedUnits(vectors, owners, texts, stats)


class _Reuse:
    """Where the unchanged records of the previous build keep their unit vectors."""

    def __init__(
        self, previous: ApiIndex | None, embedder: Embedder, passages: PassageParams
    ) -> None:
        self.previous = previous
        self.old_ids = {r.id for r in previous.records} if previous is not None else set()
        # id -> (content hash, head-line row, passage rows or None when cut by another rule)
        self._by_id: dict[str, tuple[str, int, list[int] | None]] = {}
        if previous is None or previous.meta.embedder != embedder.name:
            return
        same_rule = previous.meta.passages == passages.stamp()
        extra: dict[int, list[int]] = {}
        owners = previous.unit_owners
        for unit in range(len(previous.records), len(owners)):
            extra.setdefault(int(owners[unit]), []).append(unit)
        for i, record in enumerate(previous.records):
            rows = extra.get(i, []) if same_rule else None
            self._by_id[record.id] = (record.content_hash(), i, rows)

    def find(self, record: ApiRecord) -> tuple[int, list[int] | None] | None:
        """``(head row, passage rows or None)`` in ``previous`` of an unchanged record."""
        old = self._by_id.get(record.id)
        if old is None or old[0] != record.content_hash():
            return None
        return old[1], old[2]

    def vectors(self, rows: list[int]) -> Vectors:
        assert self.previous is not None
        return np.asarray(self.previous.unit_vectors[rows], dtype=np.float32)


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
    owners: npt.NDArray[np.int32] | None = None,
    passages: Sequence[str] = (),
    passage_params: PassageParams | None = None,
) -> IndexMeta:
    """Write a complete index into ``directory`` (which must be empty); header last, with the
    size and SHA-256 of every data file and a digest of its own.

    ``vectors`` holds one row a search unit: the head line of each record, then each passage
    (``passages``, whose records ``owners[len(records):]`` gives). An index without passages
    is written as before passages existed (no units file)."""
    if not records:
        raise SourceError(f"no API records to index for {library}@{version}")
    if len(vectors) != len(records) + len(passages):
        raise ValueError(
            f"{len(vectors)} vectors for {len(records)} records and {len(passages)} passages"
        )
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / RECORDS_FILE).open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
    np.save(directory / VECTORS_FILE, vectors, allow_pickle=False)
    if passages:
        if owners is None or len(owners) != len(vectors):
            raise ValueError("passages need the owner record of every unit")
        np.save(directory / UNITS_FILE, np.asarray(owners, dtype=np.int32), allow_pickle=False)
        with (directory / PASSAGES_FILE).open("w", encoding="utf-8") as handle:
            for text in passages:
                handle.write(json.dumps(text, ensure_ascii=False) + "\n")
    vector_index = VectorIndex.build(vectors, params, use_gpu=False)
    if vector_index.kind != "flat":
        vector_index.save(directory / FAISS_FILE)
    (directory / BM25_DIR).mkdir()
    texts = [r.search_text() for r in records] + list(passages)
    BM25Index.build(texts).save(directory / BM25_DIR)
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
        unit_count=len(vectors) if passages else 0,
        passages=passage_params.stamp() if passage_params is not None else {},
    ).sealed()
    tmp = directory / (META_FILE + ".tmp")
    tmp.write_text(meta.to_json(), encoding="utf-8")
    tmp.replace(directory / META_FILE)
    return meta


def timer() -> Callable[[], float]:
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
