"""The Indexes tab: list, build and remove library@version indexes (plain functions of a store)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apipilot.indexes.building import BuildResult, build_from_source
from apipilot.indexes.store import IndexStore, parse_ref
from apipilot.retrieval.errors import ApipilotError, ConfigError

log = logging.getLogger(__name__)

COLUMNS = ["library", "version", "records", "embedder", "built", "build s", "source", "problem"]
SKIPPED_SHOWN = 10
Progress = Callable[[int, int], None]


def index_rows(store: IndexStore) -> list[list[Any]]:
    """One row per library@version; an unreadable index shows its problem."""
    rows: list[list[Any]] = []
    for e in store.entries():
        if e.meta is None:
            rows.append([e.library, e.version, None, "", "", None, "", e.problem])
            continue
        m = e.meta
        built = m.built_at.replace("T", " ")[:19]
        rows.append(
            [
                m.library,
                m.version,
                m.record_count,
                m.embedder,
                built,
                round(m.build_seconds, 1),
                m.source,
                "",
            ]
        )
    return rows


def index_refs(store: IndexStore) -> list[str]:
    return [f"{e.library}@{e.version}" for e in store.entries()]


def index_summary(store: IndexStore) -> str:
    count = len(store.entries())
    if not count:
        return f"No indexes yet in {store.root}: build one below, or run `apipilot index defaults`."
    return f"{count} index{'es' if count != 1 else ''} in `{store.root}`."


def build_index(
    store: IndexStore,
    source: str,
    upload: str | None,
    library: str,
    version: str,
    embedder_spec: str,
    *,
    skip_bad: bool = False,
    progress: Progress | None = None,
) -> BuildResult:
    """Build from ``source`` (package name, path, Sphinx URL, ``corpus:…``) or an uploaded file."""
    source, library, version = source.strip(), library.strip(), version.strip()
    if source and upload:
        raise ConfigError("give either a source or an uploaded file, not both")
    if not source and not upload:
        raise ConfigError(
            "give a source (an installed package name, a path, a Sphinx URL or "
            "corpus:NAME@VERSION) or upload a JSONL or Markdown file"
        )
    if upload and not library:
        raise ConfigError("give a library name for the uploaded file")
    return build_from_source(
        store,
        upload or source,
        library or None,
        version or None,
        embedder_spec=embedder_spec.strip(),
        strict=not skip_bad,
        progress=progress,
    )


def build_message(result: BuildResult) -> str:
    ref = result.meta.ref  # in code style: Markdown would turn name@version into a mail link
    lines = [f"✅ {result.summary().replace(ref, f'`{ref}`', 1)}"]
    for where, reason in result.skipped[:SKIPPED_SHOWN]:
        lines.append(f"- skipped {where}: {reason}")
    if len(result.skipped) > SKIPPED_SHOWN:
        lines.append(f"- … and {len(result.skipped) - SKIPPED_SHOWN} more skipped")
    return "\n".join(lines)


def try_build(
    store: IndexStore,
    source: str,
    upload: str | None,
    library: str,
    version: str,
    embedder_spec: str,
    *,
    skip_bad: bool = False,
    progress: Progress | None = None,
) -> tuple[bool, str]:
    """``(built, message)``: a failed build is a message, never an exception."""
    try:
        result = build_index(
            store,
            source,
            upload,
            library,
            version,
            embedder_spec,
            skip_bad=skip_bad,
            progress=progress,
        )
    except ApipilotError as exc:
        return False, f"⚠️ **Build failed:** {exc}"
    except Exception as exc:  # a reader bug must not take the page down
        log.exception("index build failed")
        return False, f"⚠️ **Build failed** ({type(exc).__name__}): {exc}"
    return True, build_message(result)


def remove_index(store: IndexStore, ref: str | None) -> tuple[bool, str]:
    """``(removed, message)`` for ``library@version``."""
    if not ref:
        return False, "⚠️ Choose an index to remove."
    try:
        library, version = parse_ref(ref)
        removed = store.remove(library, version)
    except ApipilotError as exc:
        return False, f"⚠️ **Remove failed:** {exc}"
    return True, f"🗑 removed {', '.join(f'`{r}`' for r in removed)}"
