"""A loaded index: its records, vectors and BM25 data, searchable by text."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from apipilot.indexes.errors import DamagedIndex, EmbedderMismatch
from apipilot.indexes.meta import (
    BM25_DIR,
    FAISS_FILE,
    PASSAGES_FILE,
    RECORDS_FILE,
    UNITS_FILE,
    VECTORS_FILE,
    IndexMeta,
)
from apipilot.indexes.passages import passage_title
from apipilot.indexes.record import ApiRecord
from apipilot.retrieval.bm25 import BM25Index
from apipilot.retrieval.embedder import Embedder, Vectors, load_embedder
from apipilot.retrieval.exact_index import ExactIndex
from apipilot.retrieval.search import DenseIndex, Hit, HybridSearcher, Mode, Units
from apipilot.retrieval.vector_index import VectorIndex, VectorIndexParams

EVIDENCE_CHARS = 400  # the snippet of a passage or guide an API hit carries


@dataclass(frozen=True)
class Evidence:
    """What made a record rank: one of its documentation passages (``kind="passage"``) or a
    guide section that names it (``kind="guide"``: ``title`` is the section's title path,
    ``code`` its code blocks). ``record_id`` is the record the text belongs to."""

    kind: str
    title: str
    text: str
    source: str = ""
    record_id: str = ""
    code: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "kind": self.kind,
            "title": self.title,
            "text": self.text,
            "source": self.source,
            "record_id": self.record_id,
        }
        if self.code:
            data["code"] = list(self.code)
        return data


@dataclass(frozen=True)
class SearchHit:
    record: ApiRecord
    score: float
    evidence: Evidence | None = None  # None: the record's own head line matched best


class ApiIndex:
    """The records of one library@version and the searcher over them."""

    def __init__(
        self,
        meta: IndexMeta,
        records: list[ApiRecord],
        vectors: Vectors,
        searcher: HybridSearcher,
        path: Path | None = None,
        passages: Sequence[str] = (),
    ) -> None:
        """``vectors`` has one row a search unit (head lines, then passages; see
        ``indexes.builder.embed_units``); ``passages`` the text of each passage."""
        self.meta = meta
        self.records = records
        self.unit_vectors = vectors
        self.vectors = vectors[: len(records)]  # the head line of each record
        self.searcher = searcher
        self.path = path
        self.passages = list(passages)  # unit ``len(records) + i`` is passage ``i``
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
        """The ``k`` best records a query, best first, each with its evidence. Guide records
        are not returned: a guide's hit lifts the records it links, as their evidence."""
        return [
            [SearchHit(self.records[hit.doc], hit.score, self.evidence(hit)) for hit in hits]
            for hits in self.searcher.search_batch(queries, k, mode)
        ]

    @property
    def unit_owners(self) -> npt.NDArray[np.int32]:
        """The record position of every search unit."""
        owners = self.searcher.units.owners
        return np.arange(len(self.records), dtype=np.int32) if owners is None else owners

    def evidence(self, hit: Hit) -> Evidence | None:
        """What matched for ``hit``: a passage of its record or a guide; ``None`` for the
        record's own head line."""
        if hit.unit < 0:
            return None
        owner = self.records[int(self.unit_owners[hit.unit])]
        if hit.unit < len(self.records):
            text = owner.summary or owner.doc
        else:
            text = self.passages[hit.unit - len(self.records)]
            prefix = passage_title(owner) + ": "
            text = text[len(prefix) :] if text.startswith(prefix) else text
        if owner.kind == "guide":
            title = owner.qualified_name or owner.name
            return Evidence("guide", title, _snippet(text), owner.source, owner.id, owner.examples)
        if hit.doc == int(self.unit_owners[hit.unit]) and hit.unit < len(self.records):
            return None
        return Evidence("passage", passage_title(owner), _snippet(text), owner.source, owner.id)

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
            owners, passages = None, []
            if meta.unit_count:
                owners = np.load(path / UNITS_FILE, mmap_mode="r", allow_pickle=False)
                passages = _read_passages(path)
            bm25 = BM25Index.load(path / BM25_DIR)
        except (OSError, ValueError, KeyError) as exc:
            raise DamagedIndex(
                f"index {meta.ref} at {path} cannot be read ({exc}); rebuild it"
            ) from exc
        units = meta.units
        if (
            len(records) != meta.record_count
            or vectors.shape != (units, meta.dim)
            or (owners is not None and owners.shape != (units,))
            or len(records) + len(passages) != units
            or len(bm25) != units
        ):
            raise DamagedIndex(
                f"index {meta.ref} at {path} is inconsistent: header says {meta.record_count} "
                f"records and {units} search units of dimension {meta.dim}, found "
                f"{len(records)} records, vectors of shape {vectors.shape} and {len(bm25)} "
                f"BM25 documents; rebuild it"
            )
        vector_index = _dense_index(path / FAISS_FILE, vectors, params)
        searcher = HybridSearcher(
            embedder, vector_index, bm25, units=search_units(records, owners, passages)
        )
        return cls(meta, records, vectors, searcher, path, passages)


def search_units(
    records: Sequence[ApiRecord],
    owners: npt.NDArray[np.int32] | None = None,
    passages: Sequence[str] = (),
) -> Units:
    """The unit → record map of a collection, and the records each guide unit lifts: a guide's
    head line lifts every record it links (by qualified name, name or alias, in the same
    index), each of its passages the linked records it names. Guides are kept out of results."""
    guides = [i for i, record in enumerate(records) if record.kind == "guide"]
    if not guides:
        return Units(owners, documents=len(records))
    by_name: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        if record.kind == "guide":
            continue
        for name in {record.qualified_name, record.name, *record.aliases} - {""}:
            by_name.setdefault(name.lower(), []).append(i)
    lifts: dict[int, tuple[int, ...]] = {}
    linked = {i: [link for link in records[i].links if link.lower() in by_name] for i in guides}
    for i in guides:
        targets = [t for link in linked[i] for t in by_name[link.lower()]]
        if targets:
            lifts[i] = tuple(dict.fromkeys(targets))
    for n, text in enumerate(passages):
        unit = len(records) + n
        i = int(owners[unit]) if owners is not None else -1
        if i not in linked:
            continue
        named = [link for link in linked[i] if _names(text, link)]
        targets = [t for link in named for t in by_name[link.lower()]]
        if targets:
            lifts[unit] = tuple(dict.fromkeys(targets))
    return Units(owners, lifts, frozenset(guides), len(records))


def _names(text: str, qualified: str) -> bool:
    """Whether ``text`` names the API ``qualified`` (its full or its last dotted name)."""
    short = qualified.rpartition(".")[2]
    return any(re.search(rf"(?<!\w){re.escape(n)}\b", text) for n in {qualified, short})


def _read_passages(path: Path) -> list[str]:
    file = path / PASSAGES_FILE
    return [
        str(json.loads(line))
        for line in file.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _snippet(text: str, limit: int = EVIDENCE_CHARS) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + "…"


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
