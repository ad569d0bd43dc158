"""Indexes built from real documentation sources through the CLI's build path."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apipilot.indexes.building import build_from_source
from apipilot.indexes.store import IndexStore
from apipilot.ui.cli import app

runner = CliRunner()


@pytest.mark.model
def test_installed_package_no_test_data_mentions(store: IndexStore, minilm) -> None:
    result = build_from_source(store, "pkg:typer", embedder_spec="minilm")
    assert result.meta.library == "typer" and result.meta.record_count > 50
    index = store.open("typer")
    expectations = {
        "ask the user to confirm an action with yes or no": "confirm",
        "prompt the user to type a value": "prompt",
        "show a progress bar while iterating": "progressbar",
    }
    for query, name in expectations.items():
        top = [h.record.name.rsplit(".", 1)[-1] for h in index.search(query, 5)]
        assert name in top, (query, top)


def write_package(root: Path, doc: str) -> Path:
    package = root / "tinylib"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(f'''
        """A tiny library."""
        __version__ = "1.0"
        __all__ = ["load", "save", "Table"]

        def load(path: str) -> "Table":
            """{doc}"""

        def save(table: "Table", path: str) -> None:
            """Write a table to a file."""

        class Table:
            """Rows and columns."""

            def sort(self, key: str) -> "Table":
                """Sort the rows by a column."""
        ''')
    )
    return package


def test_refresh_after_one_docstring_changed(tmp_path: Path) -> None:
    package = write_package(tmp_path, "Read a table from a file.")
    h = ["--home", str(tmp_path / "home")]
    built = runner.invoke(app, ["index", "build", str(package), "--embedder", "hashing:64", *h])
    assert built.exit_code == 0, built.output
    assert "built tinylib@1.0" in built.output
    write_package(tmp_path, "Read a table from a CSV or JSON file.")
    refreshed = runner.invoke(app, ["index", "refresh", "tinylib", *h])
    assert refreshed.exit_code == 0, refreshed.output
    assert "added 0, changed 1, unchanged" in refreshed.output and "removed 0" in refreshed.output
    hits = json.loads(runner.invoke(app, ["search", "tinylib", "csv json", "--json", *h]).output)
    assert hits[0]["name"] == "load"


# Escaped newlines: the docstring stays on one line of the written module.
LONG_DOC = (
    "Read a table from a file.\\n\\n"
    "The path may name a CSV or a JSON file; the format follows the suffix."
)


@pytest.mark.parametrize("flags", [[], ["--no-passages"]])
def test_refresh_keeps_the_passage_setting(tmp_path: Path, flags: list[str]) -> None:
    package = write_package(tmp_path, LONG_DOC)
    h = ["--home", str(tmp_path / "home")]
    build = ["index", "build", str(package), "--embedder", "hashing:64", *flags, *h]
    built = runner.invoke(app, build)
    assert built.exit_code == 0, built.output
    before = IndexStore(tmp_path / "home").open("tinylib").meta
    assert bool(before.passages) is not bool(flags)
    write_package(tmp_path, LONG_DOC + " Missing columns are left empty.")
    refreshed = runner.invoke(app, ["index", "refresh", "tinylib", *h])
    assert refreshed.exit_code == 0, refreshed.output
    assert "changed 1" in refreshed.output
    after = IndexStore(tmp_path / "home").open("tinylib").meta
    assert after.passages == before.passages
    assert (after.unit_count > after.record_count) is not bool(flags)


def test_markdown_folder_needs_a_library_name(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "api.md").write_text("# `shuffle(items)`\n\nShuffle the items in place.\n")
    h = ["--home", str(tmp_path / "home"), "--embedder", "hashing"]
    refused = runner.invoke(app, ["index", "build", str(docs), *h])
    assert refused.exit_code == 1 and "give --library" in refused.output
    built = runner.invoke(app, ["index", "build", str(docs), "-l", "mdlib", "-v", "0.1", *h])
    assert built.exit_code == 0 and "built mdlib@0.1: 1 records" in built.output
