"""The registry's entry for Sphinx sites: a build folder with ``objects.inv``, or a URL.

The reading itself is :func:`indexes.readers.sphinx.read_sphinx`, imported when a site is
read (it pulls in the HTTP client and the HTML parser).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.base import (
    EXPLICIT,
    FILE_TYPE,
    FOLDER_MARKER,
    NOT_MINE,
    UNVERSIONED,
    ReadOptions,
    ReadSource,
    SourceTarget,
    read_for_library,
)

INVENTORY = "objects.inv"


@dataclass(frozen=True)
class SphinxReader:
    kind: str = "sphinx"
    accepts: str = (
        "a Sphinx build folder with objects.inv or an http(s) URL (a site without objects.inv "
        "is crawled; an llms.txt URL is read with the pages it links)"
    )
    names_library: bool = True  # the inventory's project name; a crawled site needs --library

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
        from apipilot.indexes.readers.sphinx import NoInventory, read_sphinx

        site = target.text if target.is_url else str(target.path)
        if target.is_url and _is_text_url(site):
            return self._llms(target, library, version)
        try:
            report = read_sphinx(site, library, version)
        except NoInventory as exc:
            if not target.is_url:
                raise
            return self._crawl(target, library, version, str(exc))
        found = version or (report.records[0].version if report.records else UNVERSIONED)
        named = library or (report.records[0].library if report.records else "")
        if not named:
            raise SourceError(f"give --library for {target.text}: nothing was read from it")
        return ReadSource(report, named, found, target.text)

    def _crawl(
        self, target: SourceTarget, library: str | None, version: str | None, why: str
    ) -> ReadSource:
        from apipilot.indexes.readers.html_site import read_html_site

        if not library:
            raise SourceError(f"give --library for {target.text}: {why}, so it is crawled as "
                              "an HTML site, which does not name its library")  # fmt: skip
        version = version or UNVERSIONED
        return ReadSource(read_html_site(target.text, library, version), library, version,
                          target.text)  # fmt: skip

    def _llms(self, target: SourceTarget, library: str | None, version: str | None) -> ReadSource:
        from apipilot.indexes.readers.html_site import read_llms_url

        return read_for_library(
            target, library, version, "llms.txt", partial(read_llms_url, target.text)
        )


def _is_text_url(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.endswith((".txt", ".md", ".markdown"))
