"""The registry's entry for Sphinx sites: a build folder with ``objects.inv``, or a URL.

The reading itself is :func:`indexes.readers.sphinx.read_sphinx`, imported when a site is
read (it pulls in the HTTP client and the HTML parser).
"""

from __future__ import annotations

from dataclasses import dataclass

from apipilot.indexes.readers.base import (
    EXPLICIT,
    FILE_TYPE,
    FOLDER_MARKER,
    NOT_MINE,
    UNVERSIONED,
    ReadOptions,
    ReadSource,
    SourceTarget,
    required_library,
)

INVENTORY = "objects.inv"


@dataclass(frozen=True)
class SphinxReader:
    kind: str = "sphinx"
    accepts: str = "a Sphinx build folder with objects.inv or an http(s) URL"
    names_library: bool = False

    def detect(self, target: SourceTarget) -> int:
        if target.is_url:
            return EXPLICIT
        if target.is_file:
            return FILE_TYPE if target.path.name == INVENTORY else NOT_MINE
        if target.is_dir and (target.path / INVENTORY).is_file():
            return FOLDER_MARKER + 10  # a built site beats the package its conf.py sits in
        return NOT_MINE

    def read(
        self, target: SourceTarget, library: str | None, version: str | None, options: ReadOptions
    ) -> ReadSource:
        from apipilot.indexes.readers.sphinx import read_sphinx

        library = required_library(library, self.kind, target)
        site = target.text if target.is_url else str(target.path)
        report = read_sphinx(site, library, version)
        found = version or (report.records[0].version if report.records else UNVERSIONED)
        return ReadSource(report, library, found, target.text)
