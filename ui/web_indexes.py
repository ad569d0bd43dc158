"""The Indexes tab: list, build and remove library@version indexes (plain functions of a home)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import apipilot
from apipilot import ApipilotError, ConfigError

log = logging.getLogger(__name__)

COLUMNS = ["library", "version", "records", "embedder", "built", "build s", "source", "problem"]
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
                i.source,
                "",
            ]
        )
    return rows


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


def check_build_form(source: str, upload: str | None, library: str) -> str:
    """What to build from: the source box or the uploaded file (exactly one of them)."""
    if source and upload:
        raise ConfigError("give either a source or an uploaded file, not both")
    if not source and not upload:
        raise ConfigError(
            "give a source (an installed package name, a path, a Sphinx URL or "
            "corpus:NAME@VERSION) or upload a JSONL or Markdown file"
        )
    if upload and not library:
        raise ConfigError("give a library name for the uploaded file")
    return upload or source


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
    """Build from ``source`` (package name, path, Sphinx URL, ``corpus:…``) or an uploaded
    file; ``(built, message)``: a failed build is a message, never an exception.

    ``policy`` limits what the source box may name (an upload, which the server itself
    received, is always allowed)."""
    source, library, version = source.strip(), library.strip(), version.strip()
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
