"""Read a documentation source named on the command line into records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexes.corpora import shipped_corpora
from indexes.errors import SourceError
from indexes.readers.jsonl import read_jsonl
from indexes.record import ReadReport

UNVERSIONED = "unversioned"


@dataclass
class ReadSource:
    """Records read from a source, with the library and version they belong to."""

    report: ReadReport
    library: str
    version: str
    source: str


def read_source(
    source: str, library: str | None = None, version: str | None = None, *, strict: bool = True
) -> ReadSource:
    """Read ``source``: a JSONL/JSON-lines file, or ``corpus:NAME@VERSION`` (a shipped corpus)."""
    if source.startswith("corpus:"):
        return _read_shipped(source.removeprefix("corpus:"), library, version)
    path = Path(source).expanduser()
    if path.suffix in (".jsonl", ".json") or path.is_file():
        if library is None:
            raise SourceError(
                f"give --library for {source}: a JSONL file does not name its library"
            )
        version = version or UNVERSIONED
        report = read_jsonl(path, library, version, strict=strict, source=str(path))
        return ReadSource(report, library, version, str(path))
    if not path.exists():
        raise SourceError(f"{source}: no such file or directory")
    raise SourceError(
        f"cannot read {source}: accepted sources are a .jsonl file or corpus:NAME@VERSION "
        f"(shipped: {', '.join(c.ref for c in shipped_corpora())})"
    )


def _read_shipped(ref: str, library: str | None, version: str | None) -> ReadSource:
    for corpus in shipped_corpora():
        if corpus.ref == ref:
            lib = library or corpus.library
            ver = version or corpus.version
            report = read_jsonl(corpus.path, lib, ver, source=f"corpora/apis/{corpus.path.name}")
            return ReadSource(report, lib, ver, f"corpus:{ref}")
    known = ", ".join(c.ref for c in shipped_corpora())
    raise SourceError(f"no shipped corpus {ref!r}; shipped corpora: {known}")
