"""The functions behind ``import apipilot``: every answer is plain, JSON-serialisable data.

Indexes are opened once per process and home directory, so repeated calls (and the MCP server,
which uses these functions) do not reload them. Nothing here loads a model until a call needs it.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from apipilot.indexes.api_index import ApiIndex, SearchHit
from apipilot.indexes.corpora import DEFAULT_LIBRARY
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore, default_home
from apipilot.retrieval.embedder import DEFAULT_EMBEDDER
from apipilot.retrieval.errors import ApipilotError, ConfigError
from apipilot.retrieval.search import MODES

MAX_K = 200
_stores: dict[Path, IndexStore] = {}
_lock = threading.Lock()


class ApiNotFound(ApipilotError, LookupError):
    """No API of that name (or id) in the index."""


def store_for(home: str | Path | None = None) -> IndexStore:
    """The process-wide store of ``home`` (default: ``$APIPILOT_HOME`` or the user cache)."""
    root = (Path(home) if home is not None else default_home()).expanduser().resolve()
    with _lock:
        if root not in _stores:
            _stores[root] = IndexStore(root)
        return _stores[root]


def open_index(
    library: str, version: str | None = None, home: str | Path | None = None
) -> ApiIndex:
    """The index of ``library@version`` (newest when ``version`` is None), loaded once."""
    store = store_for(home)
    with _lock:  # two first calls at once would otherwise load the same index twice
        return store.open(library, version)


def list_libraries(home: str | Path | None = None) -> list[dict[str, Any]]:
    """Every library with its versions (oldest first), record counts and build information."""
    libraries: dict[str, dict[str, Any]] = {}
    for entry in store_for(home).entries():
        item = libraries.setdefault(
            entry.library, {"library": entry.library, "latest": "", "versions": []}
        )
        version: dict[str, Any] = {"version": entry.version}
        if entry.meta is None:
            version["problem"] = entry.problem
        else:
            meta = entry.meta
            version |= {
                "records": meta.record_count,
                "embedder": meta.embedder,
                "built_at": meta.built_at,
                "source": meta.source,
            }
        item["versions"].append(version)
        item["latest"] = entry.version  # entries come oldest first
    return list(libraries.values())


def hit_dict(rank: int, hit: SearchHit) -> dict[str, Any]:
    r = hit.record
    return {
        "rank": rank,
        "id": r.id,
        "name": r.name,
        "qualified_name": r.qualified_name,
        "kind": r.kind,
        "signature": r.signature,
        "summary": r.summary,
        "score": round(hit.score, 6),
        "source": r.source,
    }


def search(
    library: str,
    query: str,
    *,
    version: str | None = None,
    k: int = 10,
    mode: str = "fused",
    home: str | Path | None = None,
) -> dict[str, Any]:
    """Retrieve the ``k`` APIs of ``library`` that best match ``query`` (no language model).

    ``mode`` is ``"fused"`` (dense + BM25), ``"dense"`` or ``"bm25"``. Returns
    ``{"library", "version", "query", "mode", "results": [{"rank", "id", "name",
    "qualified_name", "kind", "signature", "summary", "score", "source"}, ...]}``.
    """
    if not query.strip():
        raise ConfigError("the query is empty: say what you want to do")
    if not 1 <= k <= MAX_K:
        raise ConfigError(f"k must be between 1 and {MAX_K}, got {k}")
    if mode not in MODES:
        raise ConfigError(f"unknown search mode {mode!r}; valid: {', '.join(MODES)}")
    index = open_index(library, version, home)
    hits = index.search(query, k, mode=mode)
    return {
        "library": index.meta.library,
        "version": index.meta.version,
        "query": query,
        "mode": mode,
        "results": [hit_dict(rank, hit) for rank, hit in enumerate(hits, start=1)],
    }


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
        f"no API named {name!r} in {index.meta.ref}{hint} (search for it by what it does)"
    )


def get_api(
    library: str, name: str, *, version: str | None = None, home: str | Path | None = None
) -> dict[str, Any]:
    """The full record of one API, by id, name, qualified name or alias (case-insensitive).

    Returns ``{"library", "version", "api": {...every ApiRecord field}, "also": [ids]}``;
    ``also`` lists other records with the same name (overloads, re-exports).
    """
    index = open_index(library, version, home)
    found = find_api(index, name)
    return {
        "library": index.meta.library,
        "version": index.meta.version,
        "api": found[0].to_dict(),
        "also": [r.id for r in found[1:]],
    }


def recommend(
    requirement: str,
    library: str = DEFAULT_LIBRARY,
    version: str | None = None,
    *,
    k: int = 10,
    write_code: bool = False,
    rerank: bool = True,
    llm: str | None = None,
    home: str | Path | None = None,
) -> dict[str, Any]:
    """Decompose ``requirement`` into subtasks and recommend the APIs of ``library`` for each.

    ``llm`` is an LM spec (``"embedded"``, ``"hf:DIR"``, ``"gguf:FILE"``,
    ``"openai:URL[#model]"``), ``"none"`` for the deterministic paths without a language model,
    or ``None`` for ``$APIPILOT_LLM`` or the embedded model. Returns ``{"requirement",
    "library", "version", "skills", "subtasks": [{"text", "apis"}], "apis": [...], "code",
    "unknown_apis", "paths", "notes", "timings", "models", ...}``.
    """
    from apipilot.agents.recommend import recommend as run_agent

    store = store_for(home)
    open_index(library, version, home)  # load under the lock; the agent then finds it cached
    return run_agent(
        requirement,
        library,
        version,
        k=k,
        write_code=write_code,
        rerank=rerank,
        llm=llm,
        store=store,
    )


def build_index(
    source: str,
    library: str | None = None,
    version: str | None = None,
    *,
    embedder: str = DEFAULT_EMBEDDER,
    strict: bool = True,
    home: str | Path | None = None,
) -> dict[str, Any]:
    """Read ``source`` (a JSONL file, a docs directory, ``corpus:NAME@VERSION``…) and publish
    its index; unchanged records keep their vectors. Returns the build summary as a dict.
    """
    from apipilot.indexes.building import build_from_source

    result = build_from_source(
        store_for(home), source, library, version, embedder_spec=embedder, strict=strict
    )
    meta, stats = result.meta, result.stats
    return {
        "library": meta.library,
        "version": meta.version,
        "records": meta.record_count,
        "embedder": meta.embedder,
        "source": meta.source,
        "built_at": meta.built_at,
        "stats": asdict(stats),
        "skipped": [{"where": where, "reason": reason} for where, reason in result.skipped],
        "summary": result.summary(),
    }
