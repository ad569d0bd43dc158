"""Issue 17 item 2: folder sources do not follow symlinks out of the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.detect import detect_source
from apipilot.indexes.readers.folder_walk import OUTSIDE_REASON
from apipilot.indexes.sources import read_source

SECRET = "The launch code is 0000 and this sentence must never reach an index of the docs folder."
PUBLIC = "Shuffle the items of a pipe with a buffer, so that batches mix the rows of many files."


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text(f"# Secret\n\n{SECRET}\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "api.md").write_text(f"# `shuffle(items)`\n\n{PUBLIC}\n")
    return docs, outside


def served(docs: Path) -> tuple[str, dict[str, str]]:
    read = read_source(str(docs), "mdlib", "1.0")
    text = "\n".join(r.doc + r.summary for r in read.report.records)
    return text, {Path(where).name: reason for where, reason in read.report.skipped}


def test_file_symlink_out_of_the_folder_is_not_indexed(layout: tuple[Path, Path]) -> None:
    docs, _ = layout
    (docs / "leaked.md").symlink_to(Path("..") / "outside" / "secret.md")  # the reproduction
    text, skipped = served(docs)
    assert PUBLIC in text
    assert SECRET not in text
    assert skipped["leaked.md"] == OUTSIDE_REASON


def test_folder_symlink_out_of_the_folder_is_not_walked(layout: tuple[Path, Path]) -> None:
    docs, outside = layout
    (docs / "more").symlink_to(outside, target_is_directory=True)
    text, skipped = served(docs)
    assert SECRET not in text
    assert skipped["more"] == OUTSIDE_REASON


def test_symlinks_inside_the_folder_are_read_once(layout: tuple[Path, Path]) -> None:
    docs, _ = layout
    (docs / "guide").mkdir()
    (docs / "guide" / "intro.md").write_text(f"# Intro\n\n{PUBLIC} Also the intro.\n")
    (docs / "alias.md").symlink_to("api.md")
    (docs / "guide" / "loop").symlink_to(docs, target_is_directory=True)  # an ancestor
    read = read_source(str(docs), "mdlib", "1.0")
    ids = [r.id for r in read.report.records]
    assert ids.count("shuffle") == 1 and "guide/intro.md#intro" in ids
    assert read.report.skipped == []


def test_a_folder_whose_only_docs_lead_outside_is_not_a_docs_folder(
    layout: tuple[Path, Path], tmp_path: Path
) -> None:
    _, outside = layout
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "leaked.md").symlink_to(outside / "secret.md")
    (empty / "leaked.py").symlink_to(outside / "secret.md")
    with pytest.raises(SourceError, match="not a documentation source"):
        detect_source(str(empty))


def test_python_tree_leaves_out_linked_packages_and_modules(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "stolen").mkdir(parents=True)
    (outside / "stolen" / "__init__.py").write_text('def leak():\n    """Secret API."""\n')
    (outside / "extra.py").write_text('def extra():\n    """Secret module."""\n')
    tree = tmp_path / "repo"
    (tree / "mylib").mkdir(parents=True)
    (tree / "pyproject.toml").write_text('[project]\nname = "mylib"\nversion = "1.0"\n')
    (tree / "mylib" / "__init__.py").write_text('def run():\n    """Run it."""\n')
    (tree / "mylib" / "extra.py").symlink_to(outside / "extra.py")
    (tree / "mylib" / "stolen").symlink_to(outside / "stolen", target_is_directory=True)
    (tree / "stolen").symlink_to(outside / "stolen", target_is_directory=True)
    read = read_source(str(tree))
    names = {r.qualified_name for r in read.report.records}
    assert "mylib.run" in names
    assert not any("leak" in n or "extra" in n for n in names), names
    reasons = {str(Path(where).relative_to(tree)): reason for where, reason in read.report.skipped}
    for link in ("stolen", "mylib/extra.py", "mylib/stolen"):
        assert reasons[link] == OUTSIDE_REASON, reasons
