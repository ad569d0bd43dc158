"""The header of an index directory (``meta.json``) and the checks made when loading one.

The header lists every data file with its size and SHA-256, and carries a digest of its own
content (``header_sha256``), so neither a data file nor the header can change unnoticed.
An ordinary open checks the header digest, the file listing and the sizes; the full SHA-256
of every file is checked when a build is written and by ``IndexStore.verify``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from apipilot.indexes.errors import DamagedIndex

FORMAT_VERSION = 2
LEGACY_FORMAT = 1  # no sizes and no header digest: every open checks the full SHA-256
META_FILE = "meta.json"
RECORDS_FILE = "records.jsonl"
VECTORS_FILE = "vectors.npy"
FAISS_FILE = "vectors.faiss"
BM25_DIR = "bm25"
UNITS_FILE = "units.npy"  # owner record of every search unit (head lines, then passages)
PASSAGES_FILE = "passages.jsonl"  # the text of every passage, in unit order
REQUIRED_FILES = (RECORDS_FILE, VECTORS_FILE)
# fields added after format 2 was published, left out of the digest at their default value so
# that the headers written before them still match their own digest
_ADDED_DEFAULTS: dict[str, Any] = {"unit_count": 0, "passages": {}}


@dataclass
class IndexMeta:
    """Everything needed to tell what an index is, how it was made, and whether it is intact."""

    library: str
    version: str
    embedder: str  # the embedder's name, e.g. "all-MiniLM-L6-v2"
    embedder_spec: str  # how to load it again, e.g. "minilm"
    dim: int
    record_count: int
    corpus_hash: str
    source: str = ""  # the source, or every source joined by spaces (what older apipilot reads)
    vector_index: dict[str, Any] = field(default_factory=dict)
    built_at: str = ""
    build_seconds: float = 0.0
    apipilot_version: str = ""
    format_version: int = FORMAT_VERSION
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    sizes: dict[str, int] = field(default_factory=dict)  # relative path -> bytes
    header_sha256: str = ""  # sha256 of the canonical JSON of every other field
    # search units: one head line a record, then the passages (0: head lines only, as before)
    unit_count: int = 0
    passages: dict[str, Any] = field(default_factory=dict)  # how passages were cut; {}: none
    sources: list[str] = field(default_factory=list)  # every source, in build order

    @property
    def all_sources(self) -> list[str]:
        """Every source the index was built from (an older header names one, in ``source``)."""
        return list(self.sources) or ([self.source] if self.source else [])

    @property
    def units(self) -> int:
        """Search units: head lines plus passages (just the records in an older index)."""
        return self.unit_count or self.record_count

    @property
    def ref(self) -> str:
        return f"{self.library}@{self.version}"

    def digest(self) -> str:
        """The header's own checksum: SHA-256 of its other fields as canonical JSON."""
        content = asdict(self)
        del content["header_sha256"]
        for key, default in _ADDED_DEFAULTS.items():  # headers written before these fields
            if content.get(key) == default:
                del content[key]
        if not content["sources"]:
            del content["sources"]  # a header written before ``sources`` existed keeps its digest
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def sealed(self) -> IndexMeta:
        """This header with its digest filled in (what a build writes)."""
        return replace(self, header_sha256=self.digest())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def read(cls, directory: Path) -> IndexMeta:
        """Read and check the header: its format, and (format 2) its own digest."""
        path = directory / META_FILE
        rebuild = f"rebuild it with `apipilot index build` (index directory: {directory})"
        if not path.is_file():
            raise DamagedIndex(f"{path} is missing: the index is incomplete or damaged; {rebuild}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            meta = cls(**data)
        except (ValueError, TypeError) as exc:
            raise DamagedIndex(f"{path} is unreadable ({exc}); {rebuild}") from None
        if meta.format_version not in (LEGACY_FORMAT, FORMAT_VERSION):
            raise DamagedIndex(
                f"{meta.ref} uses index format {meta.format_version}, this apipilot reads "
                f"formats {LEGACY_FORMAT} and {FORMAT_VERSION}; {rebuild}"
            )
        if meta.format_version == FORMAT_VERSION and meta.header_sha256 != meta.digest():
            raise DamagedIndex(
                f"index {meta.ref} is damaged: {path} does not match its own checksum "
                f"(header_sha256), so it was edited or corrupted; {rebuild}"
            )
        return meta

    def check_quick(self, directory: Path) -> None:
        """The checks of every open: the listing is complete and every size is right.

        A legacy (format 1) header has no sizes, so it gets the full checksum check instead.
        """
        if self.format_version == LEGACY_FORMAT:
            self.verify_files(directory)
            return
        self.check_listing(directory)
        for relative, expected in sorted(self.sizes.items()):
            size = (directory / relative).stat().st_size
            if size != expected:
                raise DamagedIndex(
                    f"index {self.ref} is damaged: {relative} has {size} bytes, its header "
                    f"says {expected}; {self._rebuild_hint()}"
                )

    def check_listing(self, directory: Path) -> None:
        """Raise :class:`DamagedIndex` unless the header lists exactly the data files present."""
        listed = set(self.files)
        if self.format_version != LEGACY_FORMAT and set(self.sizes) != listed:
            raise DamagedIndex(
                f"index {self.ref} is damaged: its header lists checksums for "
                f"{sorted(listed)} but sizes for {sorted(self.sizes)}; {self._rebuild_hint()}"
            )
        on_disk = set(data_files(directory))
        unlisted = sorted((on_disk - listed) | (set(REQUIRED_FILES) - listed))
        missing = sorted(listed - on_disk)
        if unlisted:
            raise DamagedIndex(
                f"index {self.ref} is damaged: its header does not cover {', '.join(unlisted)} "
                f"(every data file must be listed with its checksum); {self._rebuild_hint()}"
            )
        if missing:
            raise DamagedIndex(
                f"index {self.ref} is damaged: {', '.join(missing)} is missing; "
                f"{self._rebuild_hint()}"
            )

    def verify_files(self, directory: Path) -> None:
        """Raise :class:`DamagedIndex` unless every data file is listed and matches its SHA-256."""
        self.check_listing(directory)
        for relative, expected in sorted(self.files.items()):
            if file_sha256(directory / relative) != expected:
                raise DamagedIndex(
                    f"index {self.ref} is damaged: {relative} does not match its checksum; "
                    f"{self._rebuild_hint()}"
                )

    def _rebuild_hint(self) -> str:
        sources = " ".join(self.all_sources) or "SOURCE"
        return f"rebuild it with `apipilot index build {sources} --library {self.library}`"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def data_files(directory: Path) -> list[str]:
    """Every file under ``directory`` except the header (and its temporary), relative."""
    header = {META_FILE, META_FILE + ".tmp"}
    return [
        str(path.relative_to(directory))
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not (path.parent == directory and path.name in header)
    ]


def checksum_tree(directory: Path) -> dict[str, str]:
    """sha256 of every data file under ``directory``, by relative path."""
    return {relative: file_sha256(directory / relative) for relative in data_files(directory)}


def size_tree(directory: Path) -> dict[str, int]:
    """Size in bytes of every data file under ``directory``, by relative path."""
    return {relative: (directory / relative).stat().st_size for relative in data_files(directory)}
