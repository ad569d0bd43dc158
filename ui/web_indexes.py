"""The Indexes tab: list, build and remove library@version indexes (plain functions of a home)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import apipilot
from apipilot import ApipilotError, ConfigError

log = logging.getLogger(__name__)

COLUMNS = ["library", "version", "records", "embedder", "built", "build s", "sources", "problem"]
SKIPPED_SHOWN = 10
Home = Path | None


def index_rows(home: Home) -> list[list[Any]]:
    """One row per library@version; an unreadable index shows its problem."""
    rows: list[list[Any]] = []
    for i in apipilot.list_indexes(home):
        if i.problem:
            rows.append([i.library, i.version, None, "", "", None, "", i.problem])
            continue
        built = i.built_at.replace("T", " ")[:19]
        rows.append(
            [
                i.library,
                i.version,
                i.records,
                i.embedder,
                built,
                round(i.build_seconds, 1),
                "\n".join(index_sources(i)),
                "",
            ]
        )
    return rows


def index_sources(info: apipilot.IndexInfo) -> list[str]:
    """Every source an index was read from (older headers name one)."""
    listed = info.meta.get("sources")
    if isinstance(listed, list) and listed:
        return [str(source) for source in listed]
    return [info.source] if info.source else []


def source_lines(text: str) -> list[str]:
    """The sources of the Source box: one a line, blank lines left out."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def index_refs(home: Home) -> list[str]:
    return [i.ref for i in apipilot.list_indexes(home)]


def index_summary(home: Home) -> str:
    count = len(apipilot.list_indexes(home))
    if not count:
        where = apipilot.index_home(home) / "indexes"
        return f"No indexes yet in {where}: build one below, or run `apipilot index defaults`."
    return (
        f"{count} index{'es' if count != 1 else ''} in `{apipilot.index_home(home) / 'indexes'}`."
    )


def check_build_form(source: str, upload: str | None, library: str) -> list[str]:
    """What to build from: the sources of the source box (one a line, read into one
    library@version) or the uploaded file (exactly one of the two)."""
    sources = source_lines(source)
    if sources and upload:
        raise ConfigError("give either sources or an uploaded file, not both")
    if not sources and not upload:
        raise ConfigError(
            "give a source (an installed package name, pkg:NAME, sdist:NAME, a path, a Sphinx "
            "URL or corpus:NAME@VERSION; several, one a line) or upload a JSONL or Markdown file"
        )
    if upload and not library:
        raise ConfigError("give a library name for the uploaded file")
    return [upload] if upload else sources


def build_message(built: apipilot.BuildSummary) -> str:
    ref = built.ref  # in code style: Markdown would turn name@version into a mail link
    lines = [f"✅ {built.summary.replace(ref, f'`{ref}`', 1)}"]
    for where, reason in built.skipped[:SKIPPED_SHOWN]:
        lines.append(f"- skipped {where}: {reason}")
    if len(built.skipped) > SKIPPED_SHOWN:
        lines.append(f"- … and {len(built.skipped) - SKIPPED_SHOWN} more skipped")
    return "\n".join(lines)


def try_build(
    home: Home,
    source: str,
    upload: str | None,
    library: str,
    version: str,
    embedder_spec: str,
    *,
    skip_bad: bool = False,
    progress: apipilot.Progress | None = None,
    phases: apipilot.PhaseProgress | None = None,
    policy: apipilot.SourcePolicy | None = None,
) -> tuple[bool, str]:
    """Build from ``source`` (one source a line, all read into one library@version: package
    name, path, Sphinx URL, ``sdist:…``, ``corpus:…``) or an uploaded file; ``(built,
    message)``: a failed build is a message, never an exception.

    ``policy`` limits what the source box may name (an upload, which the server itself
    received, is always allowed)."""
    library, version = library.strip(), version.strip()
    if policy is not None and upload:
        policy = policy.allowing([upload])
    try:
        built = apipilot.build_index(
            check_build_form(source, upload, library),
            library or None,
            version or None,
            embedder=embedder_spec.strip(),
            strict=not skip_bad,
            progress=progress,
            phases=phases,
            policy=policy,
            home=home,
        )
    except ApipilotError as exc:
        return False, f"⚠️ **Build failed:** {exc}"
    except Exception as exc:  # a reader bug must not take the page down
        log.exception("index build failed")
        return False, f"⚠️ **Build failed** ({type(exc).__name__}): {exc}"
    return True, build_message(built)


def remove_index(home: Home, ref: str | None) -> tuple[bool, str]:
    """``(removed, message)`` for ``library@version``."""
    if not ref:
        return False, "⚠️ Choose an index to remove."
    try:
        removed = apipilot.remove_index(ref, home)
    except ApipilotError as exc:
        return False, f"⚠️ **Remove failed:** {exc}"
    return True, f"🗑 removed {', '.join(f'`{r}`' for r in removed)}"
