"""Tell which reader a documentation source is for."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

from apipilot.indexes.errors import SourceError

KINDS = ("jsonl", "python", "sphinx", "markdown")
DOC_SUFFIXES = frozenset({".md", ".markdown", ".rst", ".txt"})
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
_ACCEPTED = (
    "pkg:NAME or an installed package name (python), a .jsonl/.json file (jsonl), "
    "a Sphinx build folder with objects.inv or an http(s) URL (sphinx), a package folder "
    "with __init__.py, a .py file or a Python source tree (python), a folder of "
    ".md/.rst/.txt files or one such file, llms.txt included (markdown)"
)


def detect_source(source: str) -> str:
    """One of :data:`KINDS` for ``source``; :class:`SourceError` naming what is accepted."""
    if source.startswith("pkg:") and source.removeprefix("pkg:"):
        return "python"
    if re.match(r"^https?://", source, re.I):
        return "sphinx"
    path = Path(source)
    if path.is_file():
        kind = _file_kind(path)
    elif path.is_dir():
        kind = _folder_kind(path)
    elif _installed(source):
        return "python"
    else:
        raise SourceError(f"{source}: no such file, folder or installed package; accepted: "
                          f"{_ACCEPTED}")  # fmt: skip
    if kind is None:
        raise SourceError(f"{source}: not a documentation source apipilot can read; accepted: "
                          f"{_ACCEPTED}")  # fmt: skip
    return kind


def _file_kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if path.name == "objects.inv":
        return "sphinx"
    if suffix == ".py":
        return "python"
    if suffix in DOC_SUFFIXES:
        return "markdown"
    return None


def _folder_kind(path: Path) -> str | None:
    if (path / "objects.inv").is_file():
        return "sphinx"
    if (path / "__init__.py").is_file():
        return "python"
    has_packages = _has_packages(path)
    if has_packages and any((path / name).is_file() for name in PROJECT_FILES):
        return "python"
    if _has_docs(path):
        return "markdown"
    if has_packages:
        return "python"
    return None


def _has_packages(path: Path) -> bool:
    for base in (path / "src", path):
        if base.is_dir() and any((child / "__init__.py").is_file() for child in _dirs(base)):
            return True
    return any(path.glob("*.py"))


def _dirs(path: Path) -> list[Path]:
    try:
        return [child for child in path.iterdir() if child.is_dir()]
    except OSError:
        return []


def _has_docs(path: Path, limit: int = 2_000) -> bool:
    """Any .md/.rst/.txt file in the tree (looking at ``limit`` files at most)."""
    seen = 0
    for _, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if Path(name).suffix.lower() in DOC_SUFFIXES:
                return True
            seen += 1
            if seen >= limit:
                return False
    return False


def _installed(name: str) -> bool:
    """A bare top-level import name of an installed package (found without importing it)."""
    if not name.isidentifier():
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
