"""Markdown/reST reader benchmark: the working tree's reader against a git revision's, one run.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.readers_markdown [--baseline REV]
        [--files 200] [--repeat 3] [--embedder minilm]

Writes a generated folder of ``.md`` and ``.rst`` files (API references, tutorials, reST
directives, code, doctests), then reads it with both readers, alternating, and prints
sections/s (the splitter alone), records/s and files/s (the whole reader) per format. The
baseline's ``markdown.py`` and ``markdown_sections.py`` are loaded from ``git show REV:...``
(default: the revision before the move to markdown-it-py and docutils). With ``--embedder``,
also the build rate that matters to a user: records/s of reading plus embedding them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apipilot.indexes.readers import markdown as current_reader
from apipilot.indexes.readers import markdown_sections as current_sections

REPO = Path(__file__).resolve().parents[1]
BASELINE = "0f6fd38"
_PACKAGE = "apipilot.indexes.readers"

MD_FILE = """\
# Module {i}

Module {i} of the generated library reads, shuffles, batches and writes data for
pipelines; this page documents every public function with an example and notes.

## `load_{i}(path, *, encoding="utf-8")`

```python
load_{i}(path, *, encoding="utf-8")
```

Load the rows of ``path``. Each row becomes a dict; see [the guide](guide.md).

```python
>>> rows = load_{i}("data.csv")
>>> len(rows)
3
```

## Table{i}.merge

Merge two tables on a key column, keeping the order of the left table.

- `on`: the key column
- `how`: ``inner`` or ``outer``

```python
def merge(self, other, on, how="inner") -> "Table{i}":
    ...
```

Tutorial
--------

Start by creating a table and loading rows into it, then merge it with another table,
sort the result by a column and write it back to disk in the format you need:

```python
table = Table{i}.from_rows(load_{i}("a.csv"))
table.merge(other, on="id").sort("name").save("out.csv")
```

> Note: merging large tables is faster when both are sorted on the key column first.

| option | default |
|---|---|
| sort | False |
"""

RST_FILE = """\
==========
Module {i}
==========

Module {i} of the generated library reads, shuffles, batches and writes data for
pipelines; this page documents every public function with an example and notes.

.. py:function:: load_{i}(path, *, encoding="utf-8")

   Load the rows of ``path``. Each row becomes a dict; see :func:`save_{i}`.

   :param path: the file to read
   :returns: the rows

   Example::

      rows = load_{i}("data.csv")

.. py:class:: Table{i}(rows)

   A table of rows.

   .. py:method:: merge(other, on, how="inner")

      Merge two tables on a key column, keeping the order of the left table.

   .. py:attribute:: columns
      :type: list[str]

      The column names.

Tutorial
--------

Start by creating a table and loading rows into it, then merge it with another table,
sort the result by a column and write it back to disk in the format you need.

.. code-block:: python

   table = Table{i}.from_rows(load_{i}("a.csv"))
   table.merge(other, on="id").sort("name").save("out.csv")

>>> len(load_{i}("data.csv"))
3

.. note::

   Merging large tables is faster when both are sorted on the key column first.

.. versionadded:: 1.{i}
"""


def write_folder(root: Path, files: int) -> dict[str, list[Path]]:
    made: dict[str, list[Path]] = {"md": [], "rst": []}
    for i in range(files):
        for suffix, template in (("md", MD_FILE), ("rst", RST_FILE)):
            path = root / suffix / f"module_{i}.{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(template.format(i=i), encoding="utf-8")
            made[suffix].append(path)
    return made


def load_baseline(revision: str) -> tuple[types.ModuleType, types.ModuleType]:
    """The revision's ``markdown_sections`` and ``markdown`` modules, under private names."""

    def source(name: str) -> str:
        path = f"indexes/readers/{name}.py"
        shown = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{revision}:{path}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode != 0:
            sys.exit(f"cannot read {path} at {revision}: {shown.stderr.strip()}")
        return shown.stdout

    sections = _module("_baseline_markdown_sections", source("markdown_sections"))
    reader_source = source("markdown").replace(
        f"{_PACKAGE}.markdown_sections", "_baseline_markdown_sections"
    )
    return sections, _module("_baseline_markdown", reader_source)


def _module(name: str, text: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up while the body runs
    exec(compile(text, f"<{name}>", "exec"), module.__dict__)
    return module


@dataclass
class Rates:
    sections: float = 0.0
    records: float = 0.0
    files: float = 0.0
    read_seconds: float = float("inf")
    texts: tuple[str, ...] = ()


def measure(
    split: Callable[..., list[Any]],
    read: Callable[[Path, str, str], Any],
    files: list[Path],
    rst: bool,
    repeat: int,
) -> Rates:
    texts = [f.read_text(encoding="utf-8") for f in files]
    best = Rates()
    for _ in range(repeat):
        start = time.perf_counter()
        count = sum(len(split(text, rst=rst)) for text in texts)
        best.sections = max(best.sections, count / (time.perf_counter() - start))
        start = time.perf_counter()
        report = read(files[0].parent, "bench", "1")
        seconds = time.perf_counter() - start
        best.records = max(best.records, len(report.records) / seconds)
        best.files = max(best.files, len(files) / seconds)
        best.read_seconds = min(best.read_seconds, seconds)
        best.texts = tuple(r.search_text() for r in report.records)
    return best


def build_rate(rates: Rates, embedder: Any) -> float:
    """Records/s of reading the folder and embedding its records (what a build spends most on)."""
    start = time.perf_counter()
    embedder.encode(list(rates.texts))
    return len(rates.texts) / (rates.read_seconds + time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the old reader")
    parser.add_argument("--files", type=int, default=200, help="files of each format")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--embedder", default=None, help="also read + embed (e.g. minilm)")
    args = parser.parse_args()
    embedder = None
    if args.embedder:
        from apipilot.retrieval.embedder import load_embedder

        embedder = load_embedder(args.embedder)
        embedder.encode(["warm up"])
    old_sections, old_reader = load_baseline(args.baseline)
    readers = {
        f"baseline {args.baseline} (hand-written)": (
            old_sections.split_sections,
            old_reader.read_markdown,
        ),
        "working tree (markdown-it-py, docutils)": (
            current_sections.split_sections,
            current_reader.read_markdown,
        ),
    }
    with tempfile.TemporaryDirectory() as folder:
        made = write_folder(Path(folder), args.files)
        print(f"## Markdown/reST reader ({args.files} files per format, best of {args.repeat})\n")
        extra = f" read + embed ({args.embedder}) records/s |" if embedder else ""
        print(f"| format | reader | sections/s | records/s | files/s |{extra}")
        print("|---|---|---|---|---|" + ("---|" if embedder else ""))
        for suffix, files in made.items():
            for name, (split, read) in readers.items():
                rates = measure(split, read, files, suffix == "rst", args.repeat)
                built = f" {build_rate(rates, embedder):,.1f} |" if embedder else ""
                print(
                    f"| .{suffix} | {name} | {rates.sections:,.0f} | {rates.records:,.0f} "
                    f"| {rates.files:,.0f} |{built}"
                )


if __name__ == "__main__":
    main()
