"""What a documentation reader is: the :class:`Reader` protocol and the values it passes.

A reader is one object with a ``kind`` (``"markdown"``), a line of help naming what it
accepts, a ``detect`` that scores how surely a source is its kind, and a ``read`` that turns
the source into records. :mod:`indexes.readers.registry` holds the readers; detection, the
accepted-sources help and ``read_source`` are derived from it, so a new documentation format
is one module with a reader, plus its line in the registry's table (or a ``register`` call).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol, runtime_checkable

from apipilot.indexes.errors import SourceError
from apipilot.indexes.record import ReadReport

UNVERSIONED = "unversioned"

# Detection scores: the highest wins; 0 is "not mine". A folder is scored by several readers
# (a Sphinx build beats a package, a package with project files beats a docs folder).
NOT_MINE = 0
FALLBACK = 10  # e.g. a folder that only has .py files
LIKELY = 30
FILE_TYPE = 50  # the file's suffix or name says it
FOLDER_MARKER = 80  # a marker file in the folder (objects.inv, __init__.py)
EXPLICIT = 100  # the source says it (pkg:NAME, a URL)


@dataclass(frozen=True)
class SourceTarget:
    """A source string with what detection asks about it, looked up once."""

    text: str

    @cached_property
    def is_url(self) -> bool:
        return re.match(r"^https?://", self.text, re.I) is not None

    @cached_property
    def path(self) -> Path:
        try:
            return Path(self.text).expanduser()
        except RuntimeError:  # "~user" of no such user: a name, not a path
            return Path(self.text)

    @cached_property
    def is_file(self) -> bool:
        return not self.is_url and _safe(self.path.is_file)

    @cached_property
    def is_dir(self) -> bool:
        return not self.is_url and _safe(self.path.is_dir)

    @property
    def exists(self) -> bool:
        return self.is_file or self.is_dir


def _safe(check: object) -> bool:
    try:
        return bool(check())  # type: ignore[operator]
    except (OSError, ValueError):  # a name too long, a NUL byte
        return False


@dataclass(frozen=True)
class ReadOptions:
    """Reader options every surface may pass; a reader uses the ones that apply to it."""

    strict: bool = True  # JSONL: a malformed line is an error, not a skipped line
    inspect: bool = False  # Python: import compiled modules to inspect them


@dataclass
class ReadSource:
    """Records read from a source, with the library and version they belong to."""

    report: ReadReport
    library: str
    version: str
    source: str


@runtime_checkable
class Reader(Protocol):
    """One documentation format apipilot can read."""

    @property
    def kind(self) -> str:
        """A short name (``"markdown"``): what ``detect_source`` returns for this reader."""
        ...

    @property
    def accepts(self) -> str:
        """What sources it reads, for help and error text (``"a folder of .md files"``)."""
        ...

    @property
    def names_library(self) -> bool:
        """Whether the source names its library itself (else ``--library`` is required)."""
        ...

    def detect(self, target: SourceTarget) -> int:
        """How surely ``target`` is this reader's kind: 0 (not mine) up to ``EXPLICIT``."""
        ...

    def read(
        self, target: SourceTarget, library: str | None, version: str | None, options: ReadOptions
    ) -> ReadSource:
        """Read ``target``; ``library`` is given unless :attr:`names_library`."""
        ...


def required_library(library: str | None, kind: str, target: SourceTarget) -> str:
    """``library``, or :class:`SourceError` asking for it (a source that does not name it)."""
    if not library:
        raise SourceError(
            f"give --library for {target.text}: a {kind} source does not name its library"
        )
    return library


def read_for_library(
    target: SourceTarget,
    library: str | None,
    version: str | None,
    kind: str,
    read: Callable[[str, str], ReadReport],
    source: str | None = None,
) -> ReadSource:
    """What ``read(library, version)`` reads from a source that names neither: ``library``
    must be given (see :func:`required_library`), ``version`` defaults to ``UNVERSIONED``;
    ``source`` (default ``target.text``) is what the index records."""
    library = required_library(library, kind, target)
    version = version or UNVERSIONED
    return ReadSource(read(library, version), library, version, source or target.text)
