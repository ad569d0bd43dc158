"""The Markdown / reST / llms.txt reader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers import markdown
from apipilot.indexes.readers.markdown import read_markdown
from apipilot.indexes.readers.markdown_sections import api_name, split_sections
from apipilot.indexes.record import ApiRecord

API_MD = """\
# Tinylib reference

Tinylib is a small library for shuffling and batching data in pipelines. This reference
lists every public API with examples and notes.

## `Shuffler`

```python
Shuffler(datapipe, buffer_size=10000)
```

Shuffles the input DataPipe with a buffer. Larger buffers shuffle better.

```python
>>> list(Shuffler(range(3)))
[2, 0, 1]
```

## DataFrame.merge

Merge two frames on a key.

## read_csv()

Read a CSV file.

Batcher
-------

~~~
def batch(data, size: int = 2) -> list:
    ...
~~~

Batch the data.

## Installation

pip install tinylib

## Usage

```python
# a heading inside code is not a heading
import tinylib
```

Short text.
"""

GUIDE_RST = """\
=====
Guide
=====

Intro paragraph that explains many things about the library in twenty or more words so
that it is kept as a section record by the reader.

.. py:function:: batch(data, size: int = 2) -> list

   Batch the data into lists.

   Example::

      batch([1, 2, 3])

.. class:: Pipeline

   A pipeline of steps.

Another title
-------------

Short.

.. code-block:: python

   pipeline.run()
"""

LLMS = """\
# Tinylib

> Tinylib shuffles and batches data.

## Docs

- [API](docs/api.md): the reference
- [Guide](docs/guide.rst)
- [Remote](https://example.com/x.md): remote page
- [Missing](docs/none.md)
- [Outside](../elsewhere.md)
- [Picture](docs/logo.png)
"""


def by_id(records: list[ApiRecord]) -> dict[str, ApiRecord]:
    return {r.id: r for r in records}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "api.md").write_text(API_MD)
    (tmp_path / "docs" / "guide.rst").write_text(GUIDE_RST)
    (tmp_path / "docs" / "logo.png").write_bytes(b"\x89PNG\x00\x00")
    (tmp_path / "llms.txt").write_text(LLMS)
    return tmp_path


def test_markdown_sections_name_their_api(docs: Path) -> None:
    report = read_markdown(docs / "docs" / "api.md", "tinylib", "1.0")
    records = by_id(report.records)
    assert set(records) == {
        "api.md#tinylib-reference",
        "api.md#usage",  # a titled section with code is a guide, however short its prose
        "Shuffler",
        "DataFrame.merge",
        "read_csv",
        "batch",
    }
    shuffler = records["Shuffler"]
    assert shuffler.kind == "api"
    assert shuffler.signature == "(datapipe, buffer_size=10000)"
    assert shuffler.summary == "Shuffles the input DataPipe with a buffer."
    assert shuffler.examples == ("list(Shuffler(range(3)))",)
    assert shuffler.source.endswith("api.md:6")
    assert (shuffler.library, shuffler.version) == ("tinylib", "1.0")
    assert records["DataFrame.merge"].name == "DataFrame.merge"
    assert records["read_csv"].signature == "()"
    batch = records["batch"]
    assert (batch.kind, batch.signature) == ("function", "(data, size: int = 2) -> list")
    intro = records["api.md#tinylib-reference"]
    assert intro.kind == "guide"  # narrative sections are guides (title, title path, prose)
    assert intro.name == "Tinylib reference"
    assert intro.qualified_name == "Tinylib reference"


def test_rst_titles_and_directives(docs: Path) -> None:
    records = by_id(read_markdown(docs / "docs" / "guide.rst", "tinylib", "1.0").records)
    assert set(records) == {"guide.rst#guide", "guide.rst#another-title", "batch", "Pipeline"}
    assert records["guide.rst#another-title"].examples == ("pipeline.run()",)
    batch = records["batch"]
    assert batch.kind == "function"
    assert batch.signature == "(data, size: int = 2) -> list"
    assert batch.summary == "Batch the data into lists."
    assert batch.examples == ("batch([1, 2, 3])",)
    assert records["Pipeline"].kind == "class"


def test_llms_txt_reads_local_links_and_skips_remote(docs: Path) -> None:
    report = read_markdown(docs / "llms.txt", "tinylib", "1.0")
    records = by_id(report.records)
    assert records["llms.txt#tinylib"].summary == "Tinylib shuffles and batches data."
    assert {"Shuffler", "batch", "Pipeline", "docs/guide.rst#guide"} <= set(records)
    reasons = {where.rsplit(": ", 1)[1]: reason for where, reason in report.skipped}
    assert "remote link" in reasons["https://example.com/x.md"]
    assert "not found" in reasons["docs/none.md"]
    assert "outside" in reasons["../elsewhere.md"]
    assert "not Markdown" in reasons["docs/logo.png"]


def test_folder_reads_each_file_once(docs: Path) -> None:
    report = read_markdown(docs, "tinylib", "1.0")
    ids = [r.id for r in report.records]
    assert len(ids) == len(set(ids))
    assert "Shuffler" in ids and "docs/guide.rst#guide" in ids
    assert ids.count("batch") == 1 and "batch#2" in ids  # one in api.md, one in guide.rst
    assert any("1 files of other types" in reason for _, reason in report.skipped)


def test_bad_files_are_skipped_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "binary.md").write_bytes(b"# Title\x00\x01\x02")
    (tmp_path / "latin1.md").write_bytes("# Caf\xe9\n\ntext".encode("latin-1"))
    (tmp_path / "empty.md").write_text("  \n")
    (tmp_path / "huge.md").write_text("# Huge\n\n" + "word " * 200)
    (tmp_path / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    os.mkfifo(tmp_path / "pipe.md")
    monkeypatch.setattr(markdown, "MAX_FILE_BYTES", 500)
    report = read_markdown(tmp_path, "x", "1")
    assert report.records == []
    reasons = {Path(where).name: reason for where, reason in report.skipped}
    assert "binary" in reasons["binary.md"]
    assert "not UTF-8" in reasons["latin1.md"]
    assert reasons["empty.md"] == "empty file"
    assert "over the 500 limit" in reasons["huge.md"]
    assert "cannot be read" in reasons["dangling.md"]
    assert reasons["pipe.md"] == "not a regular file"


def test_empty_folder_and_missing_path(tmp_path: Path) -> None:
    report = read_markdown(tmp_path, "x", "1")
    assert report.records == [] and report.skipped == []
    with pytest.raises(SourceError, match="no such file"):
        read_markdown(tmp_path / "missing", "x", "1")


def test_long_section_is_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(markdown, "MAX_SECTION_CHARS", 200)
    lines = "\n".join(f"Line {i} of a long section about shuffling data." for i in range(40))
    (tmp_path / "long.md").write_text("# Long\n\n" + lines)
    records = read_markdown(tmp_path / "long.md", "x", "1").records
    assert len(records) > 5
    assert all(len(r.doc) <= 200 for r in records)
    assert [r.id for r in records[:2]] == ["long.md#long", "long.md#long#2"]


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("`Shuffler`", "Shuffler"),
        (
            "`torchdata.datapipes.iter.Shuffler` — shuffle a pipe",
            "torchdata.datapipes.iter.Shuffler",
        ),
        ("DataFrame.merge", "DataFrame.merge"),
        ("read_csv", "read_csv"),
        ("def foo(a, b)", "foo"),
        ("Installation", None),
        ("Getting started", None),
        ("README.md", None),
        ("API", None),
    ],
)
def test_heading_names(heading: str, expected: str | None) -> None:
    (section,) = [s for s in split_sections(f"# {heading}\n\ntext\n", rst=False) if s.heading]
    found = api_name(section)
    assert (found.qualified if found else None) == expected


def test_first_code_line_names_only_when_the_section_opens_with_code() -> None:
    opens = split_sections("## Call\n\n```\nfoo(a, b)\n```\n\nDoes foo.\n", rst=False)[0]
    later = split_sections("## Usage\n\nFirst call it:\n\n```\nprint(x)\n```\n", rst=False)[0]
    found = api_name(opens)
    assert found is not None and (found.qualified, found.signature) == ("foo", "(a, b)")
    assert api_name(later) is None


def test_signature_blocks_under_one_heading_are_separate_apis(tmp_path: Path) -> None:
    (tmp_path / "ref.md").write_text(
        "# Functions\n\n```python\ndef foo(a, b)\n```\n\nDoes foo.\n\n"
        "```python\nasync def bar(c: int) -> str:\n```\n\nDoes bar.\n\n"
        "```python\ndef helper():\n    return 1\n```\n"
    )
    records = by_id(read_markdown(tmp_path / "ref.md", "x", "1").records)
    assert set(records) == {"foo", "bar"}
    assert records["bar"].signature == "(c: int) -> str"
    assert records["bar"].summary == "Does bar."
    assert "def helper" in records["bar"].doc


def test_rst_directive_bodies(tmp_path: Path) -> None:
    (tmp_path / "api.rst").write_text(
        ".. py:class:: Shuffler(datapipe)\n\n   A shuffler.\n\n"
        "   .. py:method:: set_seed(seed: int)\n\n      Set the seed.\n\n"
        "   .. py:attribute:: buffer\n      :type: list\n\n      The buffer.\n\n"
        ".. py:function:: after(x)\n\n   Before.\n\n   Example::\n\n      after(1)\n\n"
        "   More text after the example.\n"
    )
    records = by_id(read_markdown(tmp_path / "api.rst", "x", "1").records)
    assert set(records) == {"Shuffler", "Shuffler.set_seed", "Shuffler.buffer", "after"}
    assert records["Shuffler.set_seed"].kind == "method"
    assert records["Shuffler.buffer"].summary == "The buffer."
    after = records["after"]
    assert after.examples == ("after(1)",)
    assert "More text after the example." in after.doc
    assert "More text" not in after.examples[0]
