"""Find the Python package(s) behind a reader target, and their library name and version."""

from __future__ import annotations

import functools
import importlib.metadata
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from apipilot.indexes.errors import SourceError

# Top-level folders of a source tree that are not the library itself.
NOT_LIBRARY_DIRS = frozenset(
    {"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks", "scripts",
     "build", "dist", "site-packages", "node_modules"}
)  # fmt: skip
NOT_LIBRARY_FILES = frozenset({"setup", "conftest", "noxfile", "tasks", "fabfile", "manage"})


@dataclass(frozen=True)
class PackageRoot:
    """One importable top-level module: its name and the folder to search it in (None: sys.path)."""

    name: str
    search_path: Path | None
    path: Path | None


def find_roots(target: str | Path, library: str | None = None) -> list[PackageRoot]:
    """The top-level modules a target names.

    ``target`` is ``pkg:NAME``, an installed import name, a package folder (with
    ``__init__.py``), a ``.py`` file, or a source tree (packages found under ``src/`` or
    at the top; with ``library`` given and matching one of them, only that one).
    """
    text = str(target)
    if isinstance(target, str) and text.startswith("pkg:"):
        return [PackageRoot(text.removeprefix("pkg:"), None, None)]
    path = Path(target)
    if path.is_file() and path.suffix == ".py":
        return [PackageRoot(path.stem, path.parent, path)]
    if path.is_dir():
        if (path / "__init__.py").is_file():
            return [PackageRoot(path.name, path.parent, path)]
        return _tree_roots(path, library)
    if isinstance(target, str) and re.fullmatch(r"[A-Za-z_][\w.]*", text):
        return [PackageRoot(text, None, None)]
    raise SourceError(f"{target}: no such package, folder or .py file")


def _tree_roots(tree: Path, library: str | None) -> list[PackageRoot]:
    base = tree / "src" if (tree / "src").is_dir() else tree
    roots = [
        PackageRoot(child.name, base, child)
        for child in sorted(base.iterdir())
        if child.is_dir()
        and (child / "__init__.py").is_file()
        and child.name.isidentifier()
        and child.name not in NOT_LIBRARY_DIRS
    ]
    if not roots:
        roots = [
            PackageRoot(child.stem, base, child)
            for child in sorted(base.glob("*.py"))
            if child.stem.isidentifier() and child.stem not in NOT_LIBRARY_FILES
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


def project_info(root: PackageRoot) -> ProjectInfo:
    """Distribution name and version of an installed package, or from a nearby pyproject.toml.

    For a folder, the installed metadata is used only when it is that very folder, so a
    source checkout of an installed library reports its own version, not the installed one.
    """
    for dist_name in _distribution_names(root.name):
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if root.path is None or _same_path(Path(str(dist.locate_file(root.path.name))), root.path):
            return ProjectInfo(dist.metadata["Name"] or dist_name, dist.version)
    if root.path is not None:
        for folder in list(root.path.parents)[:3]:
            info = _pyproject_info(folder / "pyproject.toml")
            if info is not None:
                return info
    return ProjectInfo(None, None)


def _distribution_names(import_name: str) -> Iterator[str]:
    """A distribution named like the import name first (``griffe`` before ``griffelib``,
    which ships the files of ``import griffe``), then those that ship it."""
    yield import_name
    yield from (d for d in _import_names().get(import_name, []) if d != import_name)


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
