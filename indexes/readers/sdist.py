"""Read a distribution's whole documentation from its source archive (sdist).

``sdist:NAME[==VERSION]`` fetches the archive (:mod:`indexes.readers.sdist_archive`; without a
version: the installed version's archive when NAME is installed, else the newest, unless
``--version`` names one) and ``sdist:PATH`` reads an archive on disk. Library and version come
from the archive's ``PKG-INFO`` unless given. Read from it:

* the API: when the same version of the distribution is installed, the installed package as
  ``pkg:`` reads it (griffe, with the README its metadata ships); otherwise the archive's own
  Python source (``src/``, ``lib/`` or the top folder; never imported), with the README of its
  ``PKG-INFO``;
* the documentation folders (``docs/``, ``doc/``, ``documentation/``) as Markdown/reST/text
  (Sphinx sources included: :func:`indexes.readers.markdown.read_markdown`), each section a
  ``guide`` that the build links to the APIs it names. When the API was read, a docs section
  that documents one API (a ``.. py:function::`` directive, a heading ```` `Client` ````)
  becomes a guide naming that API too, so the reference record stays the package's. Changelogs,
  licences, author lists and ``requirements*.txt`` are left out.

An archive without a documentation folder gives its API and README, and says so in the build
report.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from dataclasses import replace
from pathlib import Path

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.base import ReadOptions, ReadSource, SourceTarget
from apipilot.indexes.readers.sdist_archive import (
    Downloader,
    archive_name_version,
    fetch_sdist,
    is_archive,
    unpacked_root,
)
from apipilot.indexes.record import ApiRecord, ReadReport, unique_ids

DOC_FOLDERS = ("docs", "doc", "documentation")
_NOT_GUIDE_FILE = re.compile(
    r"^(?:changes|changelog|history|news|release[-_]?notes|licen[cs]e|authors|contributors|"
    r"code[-_]of[-_]conduct|security|requirements.*)$",
    re.I,
)
_REQUIREMENT = re.compile(
    r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:==\s*([A-Za-z0-9][A-Za-z0-9._+!-]*))?$"
)


def read_sdist(
    spec: str,
    library: str | None,
    version: str | None,
    options: ReadOptions,
    *,
    download: Downloader | None = None,
    source: str | None = None,
    cache: Path | None = None,
) -> ReadSource:
    """Read ``spec`` (``NAME[==VERSION]`` or an archive's path) as described above."""
    report = ReadReport()
    archive = _archive(spec, version, download, cache)
    root = unpacked_root(archive, report)
    dist = importlib.metadata.PathDistribution(root)  # reads the archive's PKG-INFO
    named = archive_name_version(archive.name)
    name = _field(dist, "Name") or (named[0] if named else root.name)
    found = _field(dist, "Version") or (named[1] if named else "")
    if not found and not version:
        raise SourceError(f"sdist:{spec}: the archive names no version; give --version")
    library = library or name
    version = version or found
    api = _api_records(name, found, root, dist, library, version, options, report)
    docs = _docs_records(root, library, version, report, has_api=bool(api))
    report.records = api + docs
    return ReadSource(report, library, version, source or f"sdist:{spec}")


def _archive(
    spec: str, version: str | None, download: Downloader | None, cache: Path | None
) -> Path:
    path = Path(spec).expanduser()
    if "/" in spec or os.sep in spec or is_archive(path):
        if not path.is_file() or not is_archive(path):
            raise SourceError(f"sdist:{spec}: no such source archive (.tar.gz, .zip)")
        return path
    match = _REQUIREMENT.match(spec)
    if match is None:
        raise SourceError(f"sdist:{spec}: give a distribution name, NAME==VERSION or an archive")
    name, pinned = match.group(1), match.group(2)
    return fetch_sdist(
        name, pinned or version or _installed_version(name), cache=cache, download=download
    )


def _installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _api_records(
    name: str,
    sdist_version: str,
    root: Path,
    dist: importlib.metadata.Distribution,
    library: str,
    version: str,
    options: ReadOptions,
    report: ReadReport,
) -> list[ApiRecord]:
    """The installed package's API when it is this version, else the archive's source."""
    from apipilot.indexes.readers.python_source import PythonReader, has_packages

    installed = _installed(name)
    if installed is not None and _same_version(installed.version, sdist_version):
        names = import_names(installed)
        if names:
            target = SourceTarget("pkg:" + ",".join(names))
            read = PythonReader().read(target, library, version, options)
            report.skipped += read.report.skipped
            return read.report.records
    from apipilot.indexes.readers.python_package import read_python_package
    from apipilot.indexes.readers.readme import readme_guides

    tree = next((root / sub for sub in ("src", "lib") if has_packages(root / sub)), root)
    try:  # never inspected: nothing from the archive is imported
        package, _, _ = read_python_package(tree, library, version, inspect=False)
    except SourceError as exc:
        report.skip(str(root), f"no Python API read from the archive ({exc})")
        package = ReadReport()
    report.skipped += package.skipped
    if not (root / "PKG-INFO").is_file():
        return package.records
    return package.records + readme_guides(dist, library, version, report)


def _installed(name: str) -> importlib.metadata.Distribution | None:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _same_version(a: str, b: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def import_names(dist: importlib.metadata.Distribution) -> list[str]:
    """The public top-level import names ``dist`` installs (``yaml`` for PyYAML, not
    ``_yaml``); the private ones only when it has no other."""
    listed = (dist.read_text("top_level.txt") or "").split()
    if not listed:
        found: set[str] = set()
        for file in dist.files or ():
            parts = file.parts
            if len(parts) == 2 and parts[1] == "__init__.py":
                found.add(parts[0])
            elif len(parts) == 1 and file.suffix == ".py":
                found.add(file.stem)
        listed = sorted(found)
    names = [n for n in dict.fromkeys(listed) if n.isidentifier()]
    public = [n for n in names if not n.startswith("_")]
    return public or names


def _docs_records(
    root: Path, library: str, version: str, report: ReadReport, *, has_api: bool
) -> list[ApiRecord]:
    from apipilot.indexes.readers.markdown import read_markdown

    folders = [
        p
        for p in sorted(root.iterdir())
        if p.name.lower() in DOC_FOLDERS and p.is_dir() and not p.is_symlink()
    ]
    if not folders:
        report.skip(str(root), "no docs/ or doc/ folder in the source archive: API and README only")
        return []
    records: list[ApiRecord] = []
    for folder in folders:
        read = read_markdown(folder, library, version)
        report.skipped += read.skipped
        for record in read.records:
            file = Path(record.source.rpartition(":")[0] or record.source)
            if _NOT_GUIDE_FILE.match(file.stem):
                continue
            if record.kind == "guide":
                records.append(replace(record, id=f"{folder.name}/{record.id}"))
            elif has_api:
                records.append(_as_guide(record, folder, file))
            else:
                records.append(record)
    return unique_ids(records)


def _as_guide(record: ApiRecord, folder: Path, file: Path) -> ApiRecord:
    """A docs section about one API as a guide that names it (linked like any guide)."""
    try:
        relative = file.relative_to(folder).as_posix()
    except ValueError:
        relative = file.name
    named = record.qualified_name or record.name
    return replace(
        record,
        id=f"{folder.name}/{relative}#{named}",
        kind="guide",
        signature="",
        doc=f"`{named}`\n\n{record.doc}",
    )


def _field(dist: importlib.metadata.Distribution, name: str) -> str:
    try:
        values = dist.metadata.get_all(name) or []
    except (OSError, TypeError, ValueError):  # TypeError: no PKG-INFO at all
        return ""
    return str(values[0]).strip() if values else ""
