"""Which reader a source string is for."""

from __future__ import annotations

from pathlib import Path

import pytest

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.detect import detect_source


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("pkg:bm25s", "python"),
        ("https://docs.python.org/3/", "sphinx"),
        ("HTTP://example.org/docs", "sphinx"),
        ("typer", "python"),  # an installed package, found without importing it
    ],
)
def test_strings(source: str, kind: str) -> None:
    assert detect_source(source) == kind


@pytest.mark.parametrize(
    ("files", "target", "kind"),
    [
        ({"apis.jsonl": "{}"}, "apis.jsonl", "jsonl"),
        ({"apis.json": "{}"}, "apis.json", "jsonl"),
        ({"html/objects.inv": "", "html/index.html": ""}, "html", "sphinx"),
        ({"html/objects.inv": ""}, "html/objects.inv", "sphinx"),
        ({"pkg/__init__.py": ""}, "pkg", "python"),
        ({"mod.py": ""}, "mod.py", "python"),
        ({"repo/pyproject.toml": "", "repo/README.md": "", "repo/src/lib/__init__.py": ""},
         "repo", "python"),
        ({"repo/lib/__init__.py": "", "repo/lib/core.py": ""}, "repo", "python"),
        ({"docs/conf.py": "", "docs/index.rst": ""}, "docs", "markdown"),
        ({"docs/guide/a.md": ""}, "docs", "markdown"),
        ({"llms.txt": "# x"}, "llms.txt", "markdown"),
        ({"README.rst": ""}, "README.rst", "markdown"),
    ],
)  # fmt: skip
def test_paths(tmp_path: Path, files: dict[str, str], target: str, kind: str) -> None:
    make(tmp_path, files)
    assert detect_source(str(tmp_path / target)) == kind


@pytest.mark.parametrize(
    "files", [{"data.csv": ""}, {"folder/image.png": ""}]
)  # fmt: skip
def test_unknown_sources_name_the_accepted_kinds(tmp_path: Path, files: dict[str, str]) -> None:
    make(tmp_path, files)
    target = str(tmp_path / next(iter(files)).split("/")[0])
    with pytest.raises(SourceError) as caught:
        detect_source(target)
    message = str(caught.value)
    assert target in message
    for kind in ("jsonl", "python", "sphinx", "markdown", "pkg:NAME"):
        assert kind in message


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        detect_source(str(tmp_path / "nope"))
    with pytest.raises(SourceError):
        detect_source("not_an_installed_package_at_all_xyz")
