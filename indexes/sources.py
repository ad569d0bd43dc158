"""Read a documentation source named on the command line into records (any reader)."""

from __future__ import annotations

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.base import UNVERSIONED, ReadOptions, ReadSource
from apipilot.indexes.readers.registry import detect_reader

__all__ = ["UNVERSIONED", "ReadSource", "read_source"]


def read_source(
    source: str,
    library: str | None = None,
    version: str | None = None,
    *,
    strict: bool = True,
    inspect: bool = False,
) -> ReadSource:
    """Read any documentation source a registered reader detects (see
    :mod:`indexes.readers.registry`): ``corpus:NAME@VERSION`` (shipped), ``pkg:NAME`` or an
    installed package or source tree (griffe, static unless ``inspect``; with its README for
    ``pkg:``), a Sphinx build folder or URL (a URL without ``objects.inv`` is crawled as an
    HTML site; an ``llms.txt`` URL is read with the pages it links), a site built to HTML on
    disk, a Markdown/reST folder or file (``llms.txt`` too), or a JSONL file (``strict``: a
    malformed line is an error). Several sources of one library@version are read together by
    :func:`indexes.building.read_sources`.
    """
    reader, target = detect_reader(source)
    if library is None and not reader.names_library:
        raise SourceError(
            f"give --library for {source}: a {reader.kind} source does not name its library"
        )
    return reader.read(target, library, version, ReadOptions(strict=strict, inspect=inspect))
