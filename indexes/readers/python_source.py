"""Find the Python package(s) behind a reader target, and their library name and version."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.base import (
    EXPLICIT,
    FALLBACK,
    FILE_TYPE,
    FOLDER_MARKER,
    NOT_MINE,
    ReadOptions,
    ReadSource,
    SourceTarget,
)
from apipilot.indexes.readers.folder_walk import OUTSIDE_REASON, leaves, resolved
from apipilot.indexes.record import ApiRecord, ReadReport

# Top-level folders of a source tree that are not the library itself.
NOT_LIBRARY_DIRS = frozenset(
    {"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks", "scripts",
     "build", "dist", "site-packages", "node_modules"}
)  # fmt: skip
NOT_LIBRARY_FILES = frozenset({"setup", "conftest", "noxfile", "tasks", "fabfile", "manage"})
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
PROJECT = 60  # detection score of a source tree with project files
ENVIRONMENT_MARK = "@"  # pkg:NAME[,NAME2]@/path/to/site-packages: read from that folder


def package_source(import_names: Sequence[str], site_packages: Path | str) -> str:
    """The ``pkg:`` source of a distribution installed in another environment:
    ``pkg:NAME[,NAME2]@SITE_PACKAGES`` (its top-level import names, where they lie)."""
    return f"pkg:{','.join(import_names)}{ENVIRONMENT_MARK}{site_packages}"


def split_package_source(text: str) -> tuple[str, list[Path] | None]:
    """``pkg:NAME@SITE`` to ``("pkg:NAME", [SITE])``; any other text to ``(text, None)``."""
    if not text.startswith("pkg:") or ENVIRONMENT_MARK not in text:
        return text, None
    names, _, site = text.partition(ENVIRONMENT_MARK)
    if not site:
        raise SourceError(f"{text}: give the site-packages folder after {ENVIRONMENT_MARK!r}")
    return names, [Path(site)]


@dataclass(frozen=True)
class PythonReader:
    """The registry's entry for Python packages: installed (griffe) or a folder, file or tree."""

    kind: str = "python"
    accepts: str = (
        "pkg:NAME or an installed package name, a package folder with __init__.py, "
        "a .py file or a Python source tree"
    )
    names_library: bool = True

    def detect(self, target: SourceTarget) -> int:
        if target.text.startswith("pkg:") and target.text.removeprefix("pkg:"):
            return EXPLICIT
        path = target.path
        if target.is_file:
            return FILE_TYPE if path.suffix == ".py" else NOT_MINE
        if target.is_dir:
            if (path / "__init__.py").is_file():
                return FOLDER_MARKER
            if not has_packages(path):
                return NOT_MINE
            return PROJECT if any((path / n).is_file() for n in PROJECT_FILES) else FALLBACK
        return FALLBACK if not target.is_url and installed(target.text) else NOT_MINE

    def read(
        self, target: SourceTarget, library: str | None, version: str | None, options: ReadOptions
    ) -> ReadSource:
        from apipilot.indexes.readers.python_package import read_python_package

        name, search_paths = split_package_source(target.text)
        if search_paths is not None and not search_paths[0].is_dir():
            raise SourceError(f"{target.text}: no folder {search_paths[0]} to read packages from")
        report, library, version = read_python_package(
            name if search_paths is not None else name.removeprefix("pkg:"),
            library,
            version,
            inspect=options.inspect,
            search_paths=search_paths,
        )
        if name.startswith("pkg:") or not (target.is_file or target.is_dir):
            report.records += _readme(
                name.removeprefix("pkg:"), library, version, search_paths, report
            )
        return ReadSource(report, library, version, target.text)


def _readme(
    names: str, library: str, version: str, search_paths: list[Path] | None, report: ReadReport
) -> list[ApiRecord]:
    """The guides of the README that the first package's distribution ships (none if none)."""
    from apipilot.indexes.readers.readme import find_distribution, readme_guides

    first = names.split(",")[0].partition(".")[0]
    dist = find_distribution(first, search_paths) if first.isidentifier() else None
    return readme_guides(dist, library, version, report) if dist is not None else []


def has_packages(path: Path) -> bool:
    """A folder (or its ``src/``) holding a package, or ``.py`` files; symlinks that lead
    outside ``path`` do not count."""
    real = resolved(path)
    if real is None:
        return False
    for base in (path / "src", path):
        if base.is_dir() and any(
            (child / "__init__.py").is_file() and not leaves(child / "__init__.py", real)
            for child in _dirs(base)
        ):
            return True
    return any(not leaves(file, real) for file in path.glob("*.py"))


def _dirs(path: Path) -> list[Path]:
    try:
        return [child for child in path.iterdir() if child.is_dir()]
    except OSError:
        return []


def installed(name: str) -> bool:
    """A bare top-level import name of an installed package (found without importing it)."""
    if not name.isidentifier():
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class PackageRoot:
    """One importable top-level module: its name and the folder to search it in (None: sys.path)."""

    name: str
    search_path: Path | None
    path: Path | None


def find_roots(
    target: str | Path,
    library: str | None = None,
    skipped: list[tuple[str, str]] | None = None,
) -> list[PackageRoot]:
    """The top-level modules a target names.

    ``target`` is ``pkg:NAME``, an installed import name, a package folder (with
    ``__init__.py``), a ``.py`` file, or a source tree (packages found under ``src/`` or
    at the top; with ``library`` given and matching one of them, only that one). In a tree,
    packages and modules that are symlinks leading outside it are left out and added to
    ``skipped`` as ``(path, reason)``.
    """
    text = str(target)
    if isinstance(target, str) and text.startswith("pkg:"):
        names = [name for name in text.removeprefix("pkg:").split(",") if name]
        return [PackageRoot(name, None, None) for name in names]
    path = Path(target)
    if path.is_file() and path.suffix == ".py":
        return [PackageRoot(path.stem, path.parent, path)]
    if path.is_dir():
        if (path / "__init__.py").is_file():
            return [PackageRoot(path.name, path.parent, path)]
        return _tree_roots(path, library, [] if skipped is None else skipped)
    if isinstance(target, str) and re.fullmatch(r"[A-Za-z_][\w.]*", text):
        return [PackageRoot(text, None, None)]
    raise SourceError(f"{target}: no such package, folder or .py file")


def _tree_roots(
    tree: Path, library: str | None, skipped: list[tuple[str, str]]
) -> list[PackageRoot]:
    base = tree / "src" if (tree / "src").is_dir() else tree
    real_tree = resolved(tree)
    children = []
    for child in sorted(base.iterdir()):
        if child.is_symlink() and (real_tree is None or leaves(child, real_tree)):
            skipped.append((str(child), OUTSIDE_REASON))
        else:
            children.append(child)
    roots = [
        PackageRoot(child.name, base, child)
        for child in children
        if child.is_dir()
        and (child / "__init__.py").is_file()
        and child.name.isidentifier()
        and child.name not in NOT_LIBRARY_DIRS
    ]
    if not roots:
        roots = [
            PackageRoot(child.stem, base, child)
            for child in children
            if child.suffix == ".py"
            and child.is_file()
            and child.stem.isidentifier()
            and child.stem not in NOT_LIBRARY_FILES
        ]
    if library:
        wanted = [r for r in roots if r.name == library.replace("-", "_")]
        roots = wanted or roots
    if not roots:
        raise SourceError(f"{tree}: no Python package (a folder with __init__.py) or module found")
    return roots


@dataclass(frozen=True)
class ProjectInfo:
    name: str | None
    version: str | None


def project_info(root: PackageRoot, search_paths: Sequence[Path] | None = None) -> ProjectInfo:
    """Distribution name and version of an installed package, or from a nearby pyproject.toml.

    For a folder, the installed metadata is used only when it is that very folder, so a
    source checkout of an installed library reports its own version, not the installed one.
    ``search_paths`` (another environment's site-packages) replaces ``sys.path``.
    """
    for dist_name in _distribution_names(root.name, search_paths):
        dist = _distribution(dist_name, search_paths)
        if dist is None:
            continue
        if root.path is None or _same_path(Path(str(dist.locate_file(root.path.name))), root.path):
            return ProjectInfo(dist.metadata["Name"] or dist_name, dist.version)
    if root.path is not None:
        for folder in list(root.path.parents)[:3]:
            info = _pyproject_info(folder / "pyproject.toml")
            if info is not None:
                return info
    return ProjectInfo(None, None)


def _distribution(
    name: str, search_paths: Sequence[Path] | None
) -> importlib.metadata.Distribution | None:
    if search_paths is None:
        try:
            return importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            return None
    paths = [str(p) for p in search_paths]
    return next(iter(importlib.metadata.distributions(name=name, path=paths)), None)


def _distribution_names(
    import_name: str, search_paths: Sequence[Path] | None = None
) -> Iterator[str]:
    """A distribution named like the import name first (``griffe`` before ``griffelib``,
    which ships the files of ``import griffe``), then those that ship it."""
    yield import_name
    names = _import_names() if search_paths is None else _import_names_in(tuple(search_paths))
    yield from (d for d in names.get(import_name, []) if d != import_name)


def _import_names_in(search_paths: tuple[Path, ...]) -> Mapping[str, list[str]]:
    """Top-level import name to distribution names, for the distributions in ``search_paths``."""
    found: dict[str, list[str]] = {}
    for dist in importlib.metadata.distributions(path=[str(p) for p in search_paths]):
        name = dist.metadata["Name"]
        for top in {f.parts[0].removesuffix(".py") for f in dist.files or () if f.parts}:
            found.setdefault(top, []).append(name)
    return found


@functools.cache
def _import_names() -> Mapping[str, list[str]]:
    # Scanning every installed distribution's files takes a good part of a second.
    return importlib.metadata.packages_distributions()


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _pyproject_info(path: Path) -> ProjectInfo | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    project = data.get("project")
    if not isinstance(project, dict):
        return None
    name, version = project.get("name"), project.get("version")
    return ProjectInfo(
        name if isinstance(name, str) else None, version if isinstance(version, str) else None
    )
