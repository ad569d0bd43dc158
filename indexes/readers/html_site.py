"""Read a documentation site without an ``objects.inv`` (MkDocs and similar) into guides, and a
remote ``llms.txt`` with the pages it links.

A site is crawled from its start page, breadth first, following only links under the URL
(or folder) it was given, each page once, at most ``max_pages`` pages (default
``$APIPILOT_MAX_PAGES`` or ``MAX_PAGES``). When the cap stops the crawl, the report says so
and how many linked pages were not read. Over HTTP every page has its deadline (all its
tries together; a page past it, one that hangs, is abandoned and listed) and the whole crawl
has one (past it the crawl stops, keeps what it read and says so). Each page's main content is
split at its headings into guide records (:mod:`indexes.readers.html_sections`,
:mod:`indexes.readers.guides`).

An ``llms.txt`` URL (https://llmstxt.org) is read as Markdown, and the pages its link list
names on the same site are fetched (Markdown or HTML) under the same cap and deadlines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urldefrag, urljoin, urlsplit

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.fetch import (
    Deadline,
    Fetcher,
    FetchError,
    HttpFetcher,
    LocalFetcher,
    fetch_iter,
    remote_site_deadline,
    site_fetcher,
)
from apipilot.indexes.readers.guides import page_guides, page_title
from apipilot.indexes.readers.html_blocks import parse_page
from apipilot.indexes.readers.html_sections import html_title, page_links, page_sections
from apipilot.indexes.readers.markdown_sections import MarkupError, Section, split_sections
from apipilot.indexes.record import ApiRecord, ReadReport, unique_ids

MAX_PAGES = 300
MAX_PAGES_ENV = "APIPILOT_MAX_PAGES"
LOCAL_ROOT = "http://local.invalid/"  # joins links of a site on disk as if it were served
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".rst"})
PAGE_SUFFIXES = frozenset({"", ".html", ".htm"}) | TEXT_SUFFIXES
_LLMS_LINK = re.compile(r"^\s*[-*+]\s*\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", re.M)


def max_pages(value: int | None = None) -> int:
    """``value``, else ``$APIPILOT_MAX_PAGES``, else ``MAX_PAGES``."""
    if value is None:
        text = os.environ.get(MAX_PAGES_ENV, "").strip()
        if not text:
            return MAX_PAGES
        if not text.isdigit():
            raise SourceError(f"${MAX_PAGES_ENV}={text!r} is not a number of pages")
        value = int(text)
    if value < 1:
        raise SourceError(f"the page cap must be at least 1, got {value}")
    return value


@dataclass
class _Site:
    """Where a crawl reads from: the base it may not leave and how it fetches."""

    base: str  # URL of the site's folder, ending in "/" (a fake one for a folder on disk)
    fetch: Fetcher
    where: str  # what sources and messages name: the URL or the folder
    deadline: Deadline | None

    def located(self, relative: str) -> str:
        if self.base == LOCAL_ROOT:
            return str(Path(self.where) / relative) if relative else self.where
        return self.base + relative

    def relative(self, page: str, href: str) -> str | None:
        """The site-relative path of a link on ``page``, or None when it leaves the site or
        is not a page."""
        url = urldefrag(urljoin(self.base + page, href))[0].split("?", 1)[0]
        if not url.startswith(self.base):
            return None
        relative = url[len(self.base) :]
        if PurePosixPath(relative).suffix.lower() not in PAGE_SUFFIXES:
            return None
        if relative.endswith("index.html"):
            relative = relative.removesuffix("index.html")
        return relative


def read_html_site(
    site: str | Path,
    library: str,
    version: str,
    *,
    fetcher: Fetcher | None = None,
    page_cap: int | None = None,
    workers: int = 4,
    page_deadline: float | None = None,
    deadline: float | None = None,
    cache_dir: Path | None = None,
) -> ReadReport:
    """Crawl the site at ``site`` (a URL or a folder of HTML) into guides of ``library``."""
    with _opened(site, fetcher, page_deadline, deadline, cache_dir) as crawl:
        start = ""
        if crawl.base != LOCAL_ROOT:
            start = str(site)[len(crawl.base) :]  # a start page named in the URL
        return _crawl(crawl, [start], library, version, max_pages(page_cap), workers)


def read_llms_url(
    url: str,
    library: str,
    version: str,
    *,
    fetcher: Fetcher | None = None,
    page_cap: int | None = None,
    workers: int = 4,
    page_deadline: float | None = None,
    deadline: float | None = None,
    cache_dir: Path | None = None,
) -> ReadReport:
    """Read a remote ``llms.txt`` (or one Markdown file) and the same-site pages it links."""
    name = PurePosixPath(urlsplit(url).path).name
    with _opened(url, fetcher, page_deadline, deadline, cache_dir) as crawl:
        try:
            data = crawl.fetch(name)
        except FetchError as exc:
            raise SourceError(f"{url}: cannot be fetched ({exc})") from None
        report = ReadReport()
        records = _text_guides(crawl, name, data, library, version, report, first_words=1)
        linked: list[str] = []
        for href in _LLMS_LINK.findall(_decode(data) or ""):
            relative = crawl.relative(name, href)
            if relative is None:
                report.skip(f"{url}: {href}", "link to another site or not a page, not fetched")
            elif relative not in linked and relative != name:
                linked.append(relative)
        cap = max_pages(page_cap)
        if len(linked) > cap:
            report.skip(url, f"{len(linked) - cap} linked pages over the cap of {cap} not read "
                             f"(raise ${MAX_PAGES_ENV})")  # fmt: skip
            linked = linked[:cap]
        records += _fetch_pages(crawl, linked, library, version, report, workers, follow=None)
    report.records = unique_ids(records)
    return report


@contextmanager
def _opened(
    site: str | Path,
    fetcher: Fetcher | None,
    page_deadline: float | None,
    deadline: float | None,
    cache_dir: Path | None,
) -> Iterator[_Site]:
    """The site to crawl; an HTTP client opened here is closed on the way out."""
    crawl = _open(site, fetcher, page_deadline, deadline, cache_dir)
    try:
        yield crawl
    finally:
        if fetcher is None and isinstance(crawl.fetch, HttpFetcher):
            crawl.fetch.close()


def _open(
    site: str | Path,
    fetcher: Fetcher | None,
    page_deadline: float | None,
    deadline: float | None,
    cache_dir: Path | None,
) -> _Site:
    text = str(site)
    if not text.startswith(("http://", "https://")):
        folder = Path(site)
        if folder.is_file():
            folder = folder.parent
        if not folder.is_dir():
            raise SourceError(f"{site}: no such folder (expected a site built to HTML)")
        return _Site(LOCAL_ROOT, fetcher or LocalFetcher(folder), str(folder), None)
    path = urlsplit(text).path
    if text.endswith("/"):
        base = text
    elif not path or not PurePosixPath(path).suffix:
        base = text + "/"  # https://host/docs is the folder docs/
    else:
        base = text.rsplit("/", 1)[0] + "/"  # https://host/docs/start.html
    site_deadline = remote_site_deadline(deadline)
    if fetcher is None:
        fetcher = site_fetcher(
            base, page_deadline=page_deadline, site_deadline=site_deadline, cache_dir=cache_dir
        )
    return _Site(base, fetcher, base, site_deadline)


def _crawl(
    site: _Site, start: list[str], library: str, version: str, cap: int, workers: int
) -> ReadReport:
    report = ReadReport()
    records: list[ApiRecord] = []
    seen = set(start)
    level = list(start)
    over_cap: set[str] = set()
    while level:
        following: list[str] = []
        records += _fetch_pages(site, level, library, version, report, workers, follow=following)
        level = []
        for relative in following:
            if relative in seen:
                continue
            if len(seen) >= cap:
                over_cap.add(relative)
                continue
            seen.add(relative)
            level.append(relative)
        if site.deadline is not None and site.deadline.passed:
            report.skip(site.where, f"{site.deadline} passed: the crawl stopped after "
                                    f"{len(seen) - len(level)} pages")  # fmt: skip
            break
    if over_cap:
        report.skip(site.where, f"crawl stopped at its cap of {cap} pages; {len(over_cap)} more "
                                f"linked pages not read (raise ${MAX_PAGES_ENV})")  # fmt: skip
    report.records = unique_ids(records)
    return report


def _fetch_pages(
    site: _Site,
    pages: Iterable[str],
    library: str,
    version: str,
    report: ReadReport,
    workers: int,
    *,
    follow: list[str] | None,
) -> list[ApiRecord]:
    """Guides of ``pages``; the links they hold are added to ``follow`` when it is a list."""
    records: list[ApiRecord] = []
    for relative, data in fetch_iter(site.fetch, pages, workers=workers):
        if site.deadline is not None and site.deadline.passed:
            report.skip(site.located(relative), f"not read: {site.deadline} passed")
            continue
        if isinstance(data, FetchError):
            report.skip(site.located(relative), f"page not fetched: {data}")
            continue
        if PurePosixPath(relative).suffix.lower() in TEXT_SUFFIXES:
            records += _text_guides(site, relative, data, library, version, report)
            continue
        try:
            page = parse_page(data)
            sections = page_sections(page)
        except Exception as exc:  # a parser defect on hostile input fails one page only
            report.skip(site.located(relative), f"page not parsed: {type(exc).__name__}: {exc}")
            continue
        if follow is not None:
            follow += [r for r in (site.relative(relative, h) for h in page_links(page)) if r]
        fallback = html_title(page) or relative or "index"
        records += _guides(
            site, relative, sections, library, version, page_title(sections, fallback)
        )
    return records


def _text_guides(
    site: _Site,
    relative: str,
    data: bytes,
    library: str,
    version: str,
    report: ReadReport,
    *,
    first_words: int | None = None,
) -> list[ApiRecord]:
    text = _decode(data)
    if text is None:
        report.skip(site.located(relative), "not UTF-8 text")
        return []
    try:
        sections = split_sections(text, rst=relative.lower().endswith(".rst"))
    except MarkupError as exc:
        report.skip(site.located(relative), str(exc))
        return []
    title = page_title(sections, PurePosixPath(relative).stem or "index")
    records = _guides(site, relative, sections[2:] if first_words else sections, library,
                      version, title)  # fmt: skip
    if first_words:  # an llms.txt opens with its title and one-line summary: kept
        records = (
            _guides(site, relative, sections[:2], library, version, title, first_words) + records
        )
    return records


def _guides(
    site: _Site,
    relative: str,
    sections: list[Section],
    library: str,
    version: str,
    title: str,
    min_words: int | None = None,
) -> list[ApiRecord]:
    extra = {} if min_words is None else {"min_words": min_words}
    return page_guides(
        sections,
        page=title,
        id_prefix=relative or "index.html",
        source=site.located(relative),
        library=library,
        version=version,
        **extra,
    )


def _decode(data: bytes) -> str | None:
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
