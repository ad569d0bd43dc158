"""Context7 compatibility: the library ids Context7 clients send, and the ids we hand back.

Context7 names a library ``/org/project`` (``/pandas-dev/pandas``) and one of its versions
``/org/project/version``; apipilot's own ids are ``/name`` and ``/name/version``. Every shape
is accepted: the library is the last path part that names an indexed library, compared as
PyPI compares project names (case-insensitive, runs of ``-``, ``_`` and ``.`` equal), and the
part after it, if any, is the version (a leading ``v`` is dropped when only that matches).

The ``/org/project`` id of an index is derived, not looked up: ``org`` is the owner in a
repository URL (GitHub, GitLab, Bitbucket, Codeberg) found in the index's recorded source,
else the library name itself; ``project`` is always the library name, so every id we hand
out maps back to its index (``/pandas-dev/pandas``, or ``/demo/demo`` without a URL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mcp.server.mcpserver.exceptions import ToolError
from packaging.utils import canonicalize_name

from apipilot.errors import echo

ID_SHAPES = "/org/project or /org/project/version (also /name or /name/version)"
_REPO_URL = re.compile(
    r"(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org)[/:]([A-Za-z0-9][\w.-]*)/"
)


def same_project(a: str, b: str) -> bool:
    """Whether two names are the same project name by PyPI's rules."""
    return canonicalize_name(a) == canonicalize_name(b)


def org_of(library: str, source: str | None) -> str:
    """The ``org`` of ``library``'s Context7-style id (see the module docstring)."""
    match = _REPO_URL.search(source or "")
    return match.group(1) if match else library


def org_id(library: str, source: str | None, version: str | None = None) -> str:
    """``/org/library`` or ``/org/library/version``."""
    base = f"/{org_of(library, source)}/{library}"
    return f"{base}/{version}" if version else base


def shape_hint(versions: Mapping[str, Sequence[str]]) -> str:
    """What a library id must look like, with the ids that would work now."""
    known = (
        ", ".join(
            f"{name} (ids /{name}" + (f", /{name}/{built[-1]})" if built else ")")
            for name, built in versions.items()
        )
        or "none yet"
    )
    return f"libraryId must look like {ID_SHAPES}; known libraries: {known}"


def parse_library_id(
    library_id: str, versions: Mapping[str, Sequence[str]]
) -> tuple[str, str | None]:
    """(library, version or None) for an id of any accepted shape.

    ``versions`` maps each indexed library to its built versions. An id with one part that
    names no library is passed on as a name, so the usual "no index for library" error with
    its suggestions answers it.
    """
    text = library_id.strip()
    if "@" in text and not text.startswith("/"):
        name, _, version = text.partition("@")
        return _known_name(name, versions) or name, version or None
    parts = [p for p in text.split("/") if p]
    found = [i for i, part in enumerate(parts) if _known_name(part, versions)]
    if not found:
        if len(parts) == 1:
            return parts[0], None
        raise ToolError(
            f"no indexed library in libraryId {echo(library_id)}: {shape_hint(versions)}"
        )
    at = found[-1]
    if at > 1 or len(parts) - at > 2:
        raise ToolError(f"bad libraryId {echo(library_id)}: {shape_hint(versions)}")
    library = _known_name(parts[at], versions) or parts[at]
    if at + 1 == len(parts):
        return library, None
    return library, _known_version(parts[at + 1], versions.get(library, ()))


def _known_name(part: str, versions: Mapping[str, Sequence[str]]) -> str | None:
    return next((name for name in versions if same_project(name, part)), None)


def _known_version(version: str, built: Sequence[str]) -> str:
    """``version``, or it without a leading ``v`` when only that is built (Context7 writes
    ``/vercel/next.js/v14.3.0``); an unknown version is passed on for the usual error."""
    if version not in built and version[:1] in "vV" and version[1:] in built:
        return version[1:]
    return version
