"""The registry's entry for a site built to HTML on disk without an ``objects.inv`` (MkDocs…).

The crawl itself is :func:`indexes.readers.html_site.read_html_site`, imported when a site is
read (it pulls in the HTTP client and the HTML parser).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from apipilot.indexes.readers.base import (
    FOLDER_MARKER,
    NOT_MINE,
    ReadOptions,
    ReadSource,
    SourceTarget,
    read_for_library,
)


@dataclass(frozen=True)
class HtmlSiteReader:
    """The registry's entry for a site built to HTML on disk without an ``objects.inv``."""

    kind: str = "html"
    accepts: str = "a folder of a site built to HTML (index.html, no objects.inv: MkDocs…)"
    names_library: bool = False

    def detect(self, target: SourceTarget) -> int:
        if not target.is_dir or (target.path / "objects.inv").is_file():
            return NOT_MINE
        return FOLDER_MARKER - 20 if (target.path / "index.html").is_file() else NOT_MINE

    def read(
        self, target: SourceTarget, library: str | None, version: str | None, options: ReadOptions
    ) -> ReadSource:
        from apipilot.indexes.readers.html_site import read_html_site

        return read_for_library(
            target, library, version, self.kind, partial(read_html_site, target.path)
        )
