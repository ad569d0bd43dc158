"""Search an index and look up one API: retrieval only, no language model."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from apipilot._limits import (
    MAX_API_NAME_CHARS,
    MAX_K,
    MAX_QUERY_CHARS,
    k_input,
    library_input,
    name_input,
    text_input,
)
from apipilot._results import ApiHit, ApiInfo, SearchResult
from apipilot._stores import open_index
from apipilot.errors import ApiNotFound, ConfigError, echo
from apipilot.retrieval.search import MODES

if TYPE_CHECKING:
    from apipilot.indexes.api_index import ApiIndex
    from apipilot.indexes.record import ApiRecord

SEARCH_MODES: tuple[str, ...] = MODES
DOC_EXCERPT_CHARS = 800


def search(
    library: str,
    query: str,
    *,
    version: str | None = None,
    k: int = 10,
    mode: str = "fused",
    with_doc: bool = False,
    home: str | Path | None = None,
) -> SearchResult:
    """Retrieve the ``k`` APIs of ``library`` that best match ``query`` (no language model).

    ``mode`` is one of ``SEARCH_MODES``: ``"fused"`` (dense + BM25), ``"dense"`` or
    ``"bm25"``. ``with_doc`` adds an excerpt of each API's documentation to its hit.
    """
    query = text_input("query", query, MAX_QUERY_CHARS)
    k_input(k, MAX_K)
    if mode not in SEARCH_MODES:
        raise ConfigError(f"unknown search mode {echo(mode)}; valid: {', '.join(SEARCH_MODES)}")
    index = open_index(library_input(library), name_input("version", version), home)
    hits = index.search(query, k, mode=mode)
    results = tuple(
        ApiHit.from_record(
            hit.record,
            hit.score,
            rank,
            _excerpt(hit.record) if with_doc else None,
            hit.evidence,
        )
        for rank, hit in enumerate(hits, start=1)
    )
    return SearchResult(index.meta.library, index.meta.version, query, mode, results)


def get_api(
    library: str, name: str, *, version: str | None = None, home: str | Path | None = None
) -> ApiInfo:
    """The full record of one API, by id, name, qualified name or alias (case-insensitive)."""
    name = text_input("API name", name, MAX_API_NAME_CHARS, "give its id, name or alias")
    index = open_index(library_input(library), name_input("version", version), home)
    found = find_api(index, name)
    return ApiInfo(
        index.meta.library, index.meta.version, found[0].to_dict(), tuple(r.id for r in found[1:])
    )


def find_api(index: ApiIndex, name: str) -> list[ApiRecord]:
    """Records whose id, name, qualified name or alias is ``name``; ApiNotFound otherwise."""
    by_id = index.get(name)
    found = [by_id] if by_id is not None else index.find(name.strip())
    if found:
        return found
    names = {r.name for r in index.records} | {r.qualified_name for r in index.records}
    close = difflib.get_close_matches(name, sorted(names - {""}), n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ApiNotFound(
        f"no API named {echo(name)} in {index.meta.ref}{hint} (search for it by what it does)"
    )


def _excerpt(record: ApiRecord) -> str | None:
    doc = record.doc
    if not doc:
        return None
    return doc if len(doc) <= DOC_EXCERPT_CHARS else doc[: DOC_EXCERPT_CHARS - 1].rstrip() + "…"
