"""Read a Sphinx HTML site (a local build folder or a base URL) into records.

The site's ``objects.inv`` lists the Python objects and where each is documented
(``page.html#anchor``). Each page is fetched once, however many objects point into it,
at most ``workers`` at a time and ``2 * workers`` ahead of the parsing. The record of an
object is the block its anchor points at (see :mod:`indexes.readers.html_blocks`), not the
whole page.

Raises :class:`SourceError` only when the site or its ``objects.inv`` cannot be had, when
the inventory inflates past its cap, or when a remote site's overall deadline passes. An
``objects.inv`` that is not a Sphinx inventory, a page that cannot be fetched (reported
once, with the count of objects in it) and an anchor missing from its page are reported in
``ReadReport.skipped``; non-Python entries (``std:label``…) are counted in one line.

A remote site has deadlines: each file (``page_deadline``, all its tries together; a page
past it is skipped) and the whole read (``deadline``; past it the read fails). The inventory
may inflate to ``max_inventory_bytes`` at most (:mod:`indexes.readers.inventory`).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.fetch import (
    SITE_DEADLINE_ENV,
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
from apipilot.indexes.readers.html_blocks import Block, Page, anchored_block, parse_page
from apipilot.indexes.readers.html_sections import page_sections
from apipilot.indexes.readers.html_site import MAX_PAGES_ENV, max_pages
from apipilot.indexes.readers.inventory import MAX_INFLATED_BYTES, InventoryTooLarge, read_inventory
from apipilot.indexes.record import SPHINX_KINDS, ApiRecord, ReadReport, first_sentence, unique_ids


def read_sphinx(
    site: str | Path,
    library: str | None,
    version: str | None,
    *,
    fetcher: Fetcher | None = None,
    workers: int = 4,
    page_deadline: float | None = None,
    deadline: float | None = None,
    max_inventory_bytes: int = MAX_INFLATED_BYTES,
    cache_dir: Path | None = None,
    page_cap: int | None = None,
) -> ReadReport:
    """Read the Python objects of the Sphinx site ``site`` as records of ``library``.

    ``library`` defaults to the inventory's project name (lower-cased, other characters than
    letters, digits and ``._+-`` made ``-``), ``version`` to its version (``unknown`` when it
    has none). Narrative pages (the inventory's ``std:doc`` entries) become guide records, one
    per section (:mod:`indexes.readers.html_sections`), alongside the API records. Pages that
    hold only narrative are read up to ``page_cap`` (default ``$APIPILOT_MAX_PAGES`` or 300,
    the HTML crawl's cap), in inventory order; the report says how many were left out. Pages
    with API objects are always read.
    ``fetcher`` replaces the default one (files of a local folder, or HTTP GETs with
    deadlines, retries and a cache in ``cache_dir``, by default ``.http-cache`` in the index
    home: :class:`indexes.readers.fetch.HttpFetcher`). For a URL, ``page_deadline`` (default
    ``$APIPILOT_PAGE_DEADLINE`` or 120 s) bounds each file and ``deadline`` (default
    ``$APIPILOT_REMOTE_DEADLINE`` or 900 s) the whole read.
    """
    base = _base(site)
    site_deadline = None
    if _is_remote(base):
        site_deadline = remote_site_deadline(deadline)
    own = fetcher is None
    if fetcher is None:
        fetcher = _default_fetcher(base, page_deadline, site_deadline, cache_dir)
    try:
        return _read(base, library, version, fetcher, workers, site_deadline, max_inventory_bytes,
                     max_pages(page_cap))  # fmt: skip
    finally:
        if own and isinstance(fetcher, HttpFetcher):
            fetcher.close()


def _is_remote(base: str) -> bool:
    return base.startswith(("http://", "https://"))


def _base(site: str | Path) -> str:
    text = str(site)
    if text.startswith(("http://", "https://")):
        text = text.removesuffix("objects.inv")
        return text if text.endswith("/") else text + "/"
    path = Path(site)
    if path.name == "objects.inv" and path.is_file():
        path = path.parent
    if not path.is_dir():
        raise SourceError(f"{site}: no such folder (expected a Sphinx HTML build or a URL)")
    return str(path)


def _default_fetcher(
    base: str, page_deadline: float | None, site_deadline: Deadline | None, cache_dir: Path | None
) -> Fetcher:
    if not _is_remote(base):
        return LocalFetcher(Path(base))
    return site_fetcher(
        base, page_deadline=page_deadline, site_deadline=site_deadline, cache_dir=cache_dir
    )


def _where(base: str, page: str) -> str:
    return base + page if base.endswith("/") else f"{base}/{page}"


def _read(
    base: str,
    library: str | None,
    version: str | None,
    fetch: Fetcher,
    workers: int,
    site_deadline: Deadline | None,
    max_inventory_bytes: int,
    page_cap: int,
) -> ReadReport:
    report = ReadReport()
    inventory_at = _where(base, "objects.inv")
    try:
        data = fetch("objects.inv")
    except FetchError as exc:
        raise NoInventory(f"{base}: no Sphinx inventory ({exc})") from None
    try:
        inventory = read_inventory(data, max_inflated=max_inventory_bytes, where=inventory_at)
    except InventoryTooLarge:
        raise
    except Exception as exc:  # sphobjinv and zlib raise assorted types on junk input
        report.skip(inventory_at, f"not a Sphinx inventory ({type(exc).__name__}: {exc})")
        return report
    version = version or str(inventory.version or "") or "unknown"
    library = library or project_library(str(inventory.project or ""))
    if not library:
        raise SourceError(f"give --library for {base}: its inventory names no project")

    by_page: dict[str, list[tuple[str, str, str]]] = {}
    narrative: dict[str, str] = {}  # page -> title, from the std:doc entries
    others = 0
    for obj in inventory.objects:
        if obj.domain == "std" and obj.role == "doc":
            page = str(obj.uri_expanded).partition("#")[0]
            narrative.setdefault(page, str(obj.dispname_expanded or obj.name))
            by_page.setdefault(page, [])
            continue
        if obj.domain != "py":
            others += 1
            continue
        page, _, anchor = str(obj.uri_expanded).partition("#")
        by_page.setdefault(page, []).append((str(obj.name), str(obj.role), unquote(anchor)))
    if others:
        report.skip(inventory_at, f"{others} other entries (std:label, std:term…) left out")
    narrative_only = [page for page, items in by_page.items() if page in narrative and not items]
    if len(narrative_only) > page_cap:
        for page in narrative_only[page_cap:]:
            del by_page[page]
        report.skip(inventory_at, f"page cap of {page_cap} narrative pages reached: "
                    f"{len(narrative_only) - page_cap} narrative pages not read "
                    f"(raise ${MAX_PAGES_ENV})")  # fmt: skip
    modules = {name for items in by_page.values() for name, role, _ in items if role == "module"}

    records: list[ApiRecord] = []
    # Pages are parsed as they arrive and dropped after use: a big site never sits in memory.
    for done, (page, fetched) in enumerate(fetch_iter(fetch, by_page, workers=workers)):
        if site_deadline is not None and site_deadline.passed:
            raise SourceError(
                f"{base}: {site_deadline} passed with {done} of {len(by_page)} pages read; "
                f"set ${SITE_DEADLINE_ENV} (seconds) to allow longer"
            )
        items = by_page[page]
        tree = _page(fetched)
        if isinstance(tree, str):
            report.skip(_where(base, page), f"{tree} ({len(items)} objects not read)")
            continue
        if page in narrative:
            records += _guides(tree, page, narrative[page], base, library, version, report)
        for name, role, anchor in items:
            where = _where(base, page) + (f"#{anchor}" if anchor else "")
            try:
                block = anchored_block(tree, anchor)
            except Exception as exc:  # a defect on one odd page must not lose the whole site
                report.skip(where, f"block of {name} not extracted ({type(exc).__name__}: {exc})")
                continue
            if block is None:
                report.skip(where, f"anchor of {name} not found in the page")
                continue
            records.append(_record(name, role, block, modules, library, version, where))
    report.records = unique_ids(records)
    return report


class NoInventory(SourceError):
    """The site has no ``objects.inv``: it is not a Sphinx site (it may be crawled instead)."""


def project_library(project: str) -> str:
    """A library name from a Sphinx project name: ``"Requests"`` → ``requests``,
    ``"Python Markdown"`` → ``python-markdown``."""
    name = re.sub(r"[^a-z0-9._+-]+", "-", project.strip().lower()).strip("-._+")
    return name[:100]


def _guides(
    page: Page, path: str, title: str, base: str, library: str, version: str, report: ReadReport
) -> list[ApiRecord]:
    """The guide records of a narrative page's sections."""
    try:
        sections = page_sections(page)
    except Exception as exc:  # a defect on one odd page must not lose the whole site
        report.skip(_where(base, path), f"sections not read ({type(exc).__name__}: {exc})")
        return []
    return page_guides(
        sections,
        page=title or page_title(sections, path),
        id_prefix=path or "index",
        source=_where(base, path),
        library=library,
        version=version,
    )


def _page(data: bytes | FetchError) -> Page | str:
    """The parsed page, or the reason it cannot be had."""
    if isinstance(data, FetchError):
        return f"page not fetched: {data}"
    try:
        return parse_page(data)
    except Exception as exc:  # a parser defect on hostile input fails one page only
        return f"page not parsed: {type(exc).__name__}: {exc}"


def _record(
    name: str,
    role: str,
    block: Block,
    modules: set[str],
    library: str,
    version: str,
    where: str,
) -> ApiRecord:
    kind = SPHINX_KINDS.get(role, "api")
    short = _short_name(name, kind, modules)
    signature = _signature(name.rsplit(".", 1)[-1], block) if kind != "module" else ""
    return ApiRecord(
        id=name,
        library=library,
        version=version,
        name=short,
        qualified_name=name,
        kind=kind,
        signature=signature,
        summary=first_sentence(block.prose),
        doc=block.body,
        examples=block.examples,
        source=where,
    )


def _signature(last: str, block: Block) -> str:
    """``(params) -> ret`` after the name in the ``<dt>``, or else in a first code block that
    shows the signature (mkdocstrings)."""
    call = re.search(re.escape(last) + r"\s*(\(.*)$", block.head, re.S)
    if call is None and block.code:
        first = " ".join(block.code[0].split())
        pattern = r"^(?:(?:async\s+)?def\s+|class\s+)?(?:[\w.]*\.)?" + re.escape(last)
        call = re.match(pattern + r"\s*(\(.*\).*?):?$", first)
    return call.group(1).strip() if call else ""


def _short_name(name: str, kind: str, modules: set[str]) -> str:
    """The name inside its module (``Shuffler.set_seed``); a module keeps its dotted path."""
    if kind == "module":
        return name
    owners = [m for m in modules if name.startswith(m + ".")]
    if owners:
        return name[len(max(owners, key=len)) + 1 :]
    return name.rsplit(".", 1)[-1]
