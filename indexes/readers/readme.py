"""Guide records from the README a Python distribution ships in its metadata.

``importlib.metadata`` gives the long description (the README on PyPI: the ``METADATA``
file's body, or its ``Description`` field in older metadata); its
``Description-Content-Type`` says Markdown or reStructuredText (without one, reST is
recognised by its title underlines). Each section becomes a guide
(:mod:`indexes.readers.guides`) with id ``DIST/README#section-slug``.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Sequence
from pathlib import Path

from apipilot.indexes.readers.guides import page_guides
from apipilot.indexes.readers.markdown_sections import MarkupError, split_sections
from apipilot.indexes.record import ApiRecord, ReadReport, unique_ids

MAX_README_CHARS = 1_000_000
_RST_TITLE = re.compile(r"^\S.*\n(?:=+|-+|~+|\*+|\^+)\s*$", re.M)
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s", re.M)
_OLD_CONTINUATION = re.compile(r"\n {7}\|")  # Description header lines of metadata < 2.1


def readme_text(dist: importlib.metadata.Distribution) -> tuple[str, bool]:
    """The distribution's long description and whether it is reStructuredText."""
    metadata = dist.metadata
    get_payload = getattr(metadata, "get_payload", None)  # an email.message.Message
    payload = get_payload() if callable(get_payload) else None
    text = payload if isinstance(payload, str) and payload.strip() else ""
    if not text:
        text = _OLD_CONTINUATION.sub("\n", _field(metadata, "Description"))
    kind = _field(metadata, "Description-Content-Type").lower()
    if "rst" in kind:
        return text, True
    if "markdown" in kind:
        return text, False
    return text, bool(_RST_TITLE.search(text)) and not _MARKDOWN_HEADING.search(text)


def readme_guides(
    dist: importlib.metadata.Distribution, library: str, version: str, report: ReadReport
) -> list[ApiRecord]:
    """The guides of ``dist``'s README (none when it ships none); problems go to ``report``."""
    text, rst = readme_text(dist)
    where = _metadata_path(dist)
    if not text.strip():
        return []
    if len(text) > MAX_README_CHARS:
        report.skip(where, f"README of {len(text)} characters, over {MAX_README_CHARS}: not read")
        return []
    try:
        sections = split_sections(text, rst=rst)
    except MarkupError as exc:
        report.skip(where, f"README not read: {exc}")
        return []
    records = page_guides(
        sections,
        page=library,  # a README's first heading is often a section ("Installation"), not a title
        id_prefix=f"{_field(dist.metadata, 'Name') or library}/README",
        source=where,
        library=library,
        version=version,
    )
    return unique_ids(records)


def find_distribution(
    import_name: str, search_paths: Sequence[Path] | None = None
) -> importlib.metadata.Distribution | None:
    """The installed distribution that ships ``import_name`` (see ``project_info``)."""
    from apipilot.indexes.readers.python_source import _distribution, _distribution_names

    for name in _distribution_names(import_name, search_paths):
        dist = _distribution(name, search_paths)
        if dist is not None:
            return dist
    return None


def _field(metadata: importlib.metadata.PackageMetadata, name: str) -> str:
    values = metadata.get_all(name) or []
    return str(values[0]) if values else ""


def _metadata_path(dist: importlib.metadata.Distribution) -> str:
    folder = getattr(dist, "_path", None)  # PathDistribution: the .dist-info folder
    name = _field(dist.metadata, "Name") or "?"
    return str(Path(folder) / "METADATA") if folder else f"{name} {dist.version} metadata"
