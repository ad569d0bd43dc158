"""The documentation readers apipilot knows: one table, from which detection, the
accepted-sources help and ``read_source`` are derived.

Adding a format: write a module with a :class:`~indexes.readers.base.Reader` (a ``kind``, an
``accepts`` line, ``names_library``, ``detect`` and ``read``) and add it to ``BUILTIN``, or
call :func:`register` with it at run time (a plugin, a test).
"""

from __future__ import annotations

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.base import NOT_MINE, Reader, SourceTarget
from apipilot.indexes.readers.corpus import CorpusReader
from apipilot.indexes.readers.html_site_source import HtmlSiteReader
from apipilot.indexes.readers.jsonl import JsonlReader
from apipilot.indexes.readers.markdown import MarkdownReader
from apipilot.indexes.readers.python_source import PythonReader
from apipilot.indexes.readers.sdist_source import SdistReader
from apipilot.indexes.readers.sphinx_source import SphinxReader

# In this order in help text; on equal detection scores the earlier reader wins.
BUILTIN: tuple[Reader, ...] = (
    PythonReader(),
    SdistReader(),
    JsonlReader(),
    SphinxReader(),
    HtmlSiteReader(),
    MarkdownReader(),
    CorpusReader(),
)

_readers: dict[str, Reader] = {reader.kind: reader for reader in BUILTIN}


def register(reader: Reader, *, replace: bool = False) -> Reader:
    """Add ``reader`` (after the others); one of the same kind is replaced only with
    ``replace``."""
    if not isinstance(reader, Reader):
        raise TypeError(f"{reader!r} is not a Reader (kind, accepts, names_library, detect, read)")
    if reader.kind in _readers and not replace:
        raise ValueError(f"a reader of kind {reader.kind!r} is registered already")
    _readers[reader.kind] = reader
    return reader


def unregister(kind: str) -> None:
    """Remove the reader of ``kind``; :class:`KeyError` naming the registered kinds if none."""
    if kind not in _readers:
        raise KeyError(f"no reader of kind {kind!r}; registered: {', '.join(_readers)}")
    del _readers[kind]


def readers() -> tuple[Reader, ...]:
    return tuple(_readers.values())


def kinds() -> tuple[str, ...]:
    return tuple(_readers)


def reader_of(kind: str) -> Reader:
    try:
        return _readers[kind]
    except KeyError:
        raise SourceError(
            f"no reader of kind {kind!r}; registered: {', '.join(_readers)}"
        ) from None


def accepted() -> str:
    """What every registered reader accepts, for help and error text."""
    return "; ".join(f"{reader.accepts} ({reader.kind})" for reader in _readers.values())


def detect_reader(source: str) -> tuple[Reader, SourceTarget]:
    """The reader that scores ``source`` highest; :class:`SourceError` naming what is
    accepted when none claims it."""
    target = SourceTarget(source)
    best: Reader | None = None
    best_score = NOT_MINE
    for reader in _readers.values():
        score = reader.detect(target)
        if score > best_score:
            best, best_score = reader, score
    if best is not None:
        return best, target
    if target.exists:
        raise SourceError(f"{source}: not a documentation source apipilot can read; accepted: "
                          f"{accepted()}")  # fmt: skip
    raise SourceError(f"{source}: no such file, folder or installed package; accepted: "
                      f"{accepted()}")  # fmt: skip
