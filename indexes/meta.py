"""The header of an index directory (``meta.json``) and the checks made when loading one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from apipilot.indexes.errors import DamagedIndex

FORMAT_VERSION = 1
META_FILE = "meta.json"
RECORDS_FILE = "records.jsonl"
VECTORS_FILE = "vectors.npy"
FAISS_FILE = "vectors.faiss"
BM25_DIR = "bm25"


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
    source: str = ""
    vector_index: dict[str, Any] = field(default_factory=dict)
    built_at: str = ""
    build_seconds: float = 0.0
    apipilot_version: str = ""
    format_version: int = FORMAT_VERSION
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    @property
    def ref(self) -> str:
        return f"{self.library}@{self.version}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def read(cls, directory: Path) -> IndexMeta:
        path = directory / META_FILE
        rebuild = f"rebuild it with `apipilot index build` (index directory: {directory})"
        if not path.is_file():
            raise DamagedIndex(f"{path} is missing: the index is incomplete or damaged; {rebuild}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            meta = cls(**data)
        except (ValueError, TypeError) as exc:
            raise DamagedIndex(f"{path} is unreadable ({exc}); {rebuild}") from None
        if meta.format_version != FORMAT_VERSION:
            raise DamagedIndex(
                f"{meta.ref} uses index format {meta.format_version}, this apipilot reads "
                f"format {FORMAT_VERSION}; {rebuild}"
            )
        return meta

    def verify_files(self, directory: Path) -> None:
        """Raise :class:`DamagedIndex` if a file listed in the header is missing or altered."""
        for relative, expected in sorted(self.files.items()):
            path = directory / relative
            if not path.is_file():
                raise DamagedIndex(
                    f"index {self.ref} is damaged: {relative} is missing; rebuild it with "
                    f"`apipilot index build {self.source or 'SOURCE'} --library {self.library}`"
                )
            if file_sha256(path) != expected:
                raise DamagedIndex(
                    f"index {self.ref} is damaged: {relative} does not match its checksum; "
                    f"rebuild it with `apipilot index build {self.source or 'SOURCE'} "
                    f"--library {self.library}`"
                )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_tree(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory`` except the header, by relative path."""
    return {
        str(path.relative_to(directory)): file_sha256(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != META_FILE
    }
