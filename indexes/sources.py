"""Read a documentation source named on the command line into records (any reader)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apipilot.indexes.corpora import shipped_corpora
from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.detect import detect_source
from apipilot.indexes.readers.jsonl import read_jsonl
from apipilot.indexes.readers.markdown import read_markdown
from apipilot.indexes.readers.python_package import read_python_package
from apipilot.indexes.readers.sphinx import read_sphinx
from apipilot.indexes.record import ReadReport

UNVERSIONED = "unversioned"


@dataclass
class ReadSource:
    """Records read from a source, with the library and version they belong to."""

    report: ReadReport
    library: str
    version: str
    source: str


def read_source(
    source: str,
    library: str | None = None,
    version: str | None = None,
    *,
    strict: bool = True,
    inspect: bool = False,
) -> ReadSource:
    """Read any documentation source apipilot knows (see ``indexes.readers.detect``):

    ``corpus:NAME@VERSION`` (shipped), ``pkg:NAME`` or an installed package or source tree
    (griffe, static unless ``inspect``), a Sphinx build folder or URL, a Markdown/reST folder
    or file (``llms.txt`` too), or a JSONL file (``strict``: a malformed line is an error).
    """
    if source.startswith("corpus:"):
        return _read_shipped(source.removeprefix("corpus:"), library, version)
    kind = detect_source(source)
    if kind == "python":
        target = source.removeprefix("pkg:")
        report, library, version = read_python_package(target, library, version, inspect=inspect)
        return ReadSource(report, library, version, source)
    if library is None:
        raise SourceError(f"give --library for {source}: a {kind} source does not name its library")
    if kind == "sphinx":
        report = read_sphinx(source, library, version)
        found = version or (report.records[0].version if report.records else UNVERSIONED)
        return ReadSource(report, library, found, source)
    path = Path(source).expanduser()
    version = version or UNVERSIONED
    if kind == "markdown":
        return ReadSource(read_markdown(path, library, version), library, version, str(path))
    report = read_jsonl(path, library, version, strict=strict, source=str(path))
    return ReadSource(report, library, version, str(path))


def _read_shipped(ref: str, library: str | None, version: str | None) -> ReadSource:
    for corpus in shipped_corpora():
        if corpus.ref == ref:
            lib = library or corpus.library
            ver = version or corpus.version
            report = read_jsonl(corpus.path, lib, ver, source=f"corpora/apis/{corpus.path.name}")
            return ReadSource(report, lib, ver, f"corpus:{ref}")
    known = ", ".join(c.ref for c in shipped_corpora())
    raise SourceError(f"no shipped corpus {ref!r}; shipped corpora: {known}")
