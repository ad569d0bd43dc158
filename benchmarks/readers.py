"""Reader benchmark: how fast a Sphinx site's HTML pages turn into API blocks.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.readers [--pages 40] [--objects 60]
        [--site DIR] [--baseline REV]

Generates a Sphinx project (``--pages`` pages of ``--objects`` documented functions and
classes with methods, parameters and examples), builds it with Sphinx once (or reads the
build folder ``--site``), then times the HTML stage of the Sphinx reader (parse each page,
extract the block of every object in it) with the current ``html_blocks`` and with the one
of git revision ``--baseline`` (default: the last hand-written ``html.parser`` version), side
by side, and how many blocks the two agree on. Last, the whole ``read_sphinx`` of the folder.
Then the same over loopback HTTP: no cache, an empty cache, a warm one (304s). Prints
markdown tables.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import sphobjinv as soi

from apipilot.indexes.readers import html_blocks
from apipilot.indexes.readers.fetch import HttpFetcher
from apipilot.indexes.readers.sphinx import read_sphinx

BASELINE = "0f6fd38"  # html_blocks on the standard library's html.parser
REPO = Path(__file__).resolve().parent.parent

FUNCTION = """
.. py:function:: {name}(data, size: int = {i}, *, seed: int | None = None) -> list

   Transform the data number {i} in a buffer of ``size`` items. More text follows here
   with a :class:`Thing{i}` reference and *emphasis*.

   :param data: the items to transform
   :param size: how many items the buffer holds
   :param seed: the random seed, or None
   :returns: the transformed list
   :raises ValueError: when ``size`` is negative

   Example::

      >>> {name}([1, 2, 3], size=2)
      [2, 1, 3]
"""
CLASS = """
.. py:class:: Thing{i}(source, *, buffer_size: int = 10000)

   A thing that reads ``source`` number {i}. It buffers.

   .. py:method:: reset(seed: int) -> Thing{i}

      Reset the thing with ``seed``.

   .. py:attribute:: buffer
      :type: list

      The buffer of the thing.
"""


def write_project(folder: Path, pages: int, objects: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.py").write_text('project = "benchlib"\nversion = release = "1.0"\n')
    names = "\n".join(f"   page{p}" for p in range(pages))
    (folder / "index.rst").write_text(f"Benchlib\n========\n\n.. toctree::\n\n{names}\n")
    for p in range(pages):
        body = [f"Page {p}\n{'=' * 20}\n\n.. py:module:: benchlib.m{p}\n"]
        for i in range(objects):
            template = CLASS if i % 3 == 2 else FUNCTION
            body.append(template.format(name=f"func{i}", i=i))
        (folder / f"page{p}.rst").write_text("\n".join(body))


def build_site(pages: int, objects: int, work: Path) -> Path:
    source, out = work / "src", work / "html"
    write_project(source, pages, objects)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(source), str(out)],
        check=True,
        env=env,
        capture_output=True,
    )
    return out


def baseline_module(revision: str, work: Path) -> ModuleType | None:
    """``html_blocks`` as it was at ``revision``, or None when git cannot give it."""
    try:
        text = subprocess.run(
            ["git", "show", f"{revision}:indexes/readers/html_blocks.py"],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = work / f"html_blocks_{revision}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(f"html_blocks_{revision}", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def pages_and_anchors(site: Path) -> dict[Path, list[str]]:
    inventory = soi.Inventory(source=site / "objects.inv")
    by_page: dict[Path, list[str]] = {}
    for obj in inventory.objects:
        if obj.domain == "py":
            page, _, anchor = str(obj.uri_expanded).partition("#")
            by_page.setdefault(site / page, []).append(unquote(anchor))
    return by_page


def html_stage(
    parse: Callable[[bytes], Any], extract: Callable[[Any, str], Any], pages: dict[Path, bytes],
    anchors: dict[Path, list[str]], repeat: int,
) -> tuple[float, list[Any]]:  # fmt: skip
    """The best of ``repeat`` timings of parsing every page and extracting every block."""
    best = float("inf")
    blocks: list[Any] = []
    for _ in range(repeat):
        blocks = []
        start = time.perf_counter()
        for path, data in pages.items():
            tree = parse(data)
            blocks.extend(extract(tree, anchor) for anchor in anchors[path])
        best = min(best, time.perf_counter() - start)
    return best, blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--objects", type=int, default=60, help="documented objects per page")
    parser.add_argument("--site", type=Path, help="a Sphinx HTML build folder to read instead")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        site = args.site or build_site(args.pages, args.objects, work)
        anchors = pages_and_anchors(site)
        pages = {path: path.read_bytes() for path in anchors}
        megabytes = sum(len(d) for d in pages.values()) / 1e6
        objects = sum(len(a) for a in anchors.values())
        print(f"## Sphinx HTML stage: {len(pages)} pages, {megabytes:.1f} MB, {objects} objects\n")
        print("| html_blocks | s | pages/s | objects/s |\n|---|---|---|---|")
        seconds, new_blocks = html_stage(
            html_blocks.parse_page, html_blocks.anchored_block, pages, anchors, args.repeat
        )
        print(f"| selectolax (current) | {seconds:.2f} | {len(pages) / seconds:.0f} "
              f"| {objects / seconds:.0f} |")  # fmt: skip
        old = baseline_module(args.baseline, work)
        if old is not None:
            seconds_old, old_blocks = html_stage(
                lambda data: old.parse_page(data.decode("utf-8", errors="replace")),
                old.anchored_block, pages, anchors, args.repeat,
            )  # fmt: skip
            print(f"| html.parser ({args.baseline}) | {seconds_old:.2f} "
                  f"| {len(pages) / seconds_old:.0f} | {objects / seconds_old:.0f} |")  # fmt: skip
            same = sum(
                a is not None
                and b is not None
                and (a.head, a.body, a.code) == (b.head, b.body, b.code)
                for a, b in zip(new_blocks, old_blocks, strict=True)
            )
            print(f"\nspeed-up {seconds_old / seconds:.1f}x; identical blocks: {same} of {objects}")
        else:
            print(f"\n(no baseline: git cannot show {args.baseline})")
        start = time.perf_counter()
        report = read_sphinx(site, "benchlib", None)
        seconds = time.perf_counter() - start
        print(f"\nread_sphinx of the folder: {len(report.records)} records in {seconds:.2f} s "
              f"({len(pages) / seconds:.0f} pages/s)")  # fmt: skip
        over_http(site, work / "http-cache", len(pages))


def over_http(site: Path, cache: Path, pages: int) -> None:
    """``read_sphinx`` of the site served on loopback: without a cache, into an empty cache,
    and again from the cache (every file revalidated with a conditional GET, 304)."""
    handler = partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print("\n| read_sphinx over loopback HTTP | s | pages/s |\n|---|---|---|")
    try:
        runs: list[tuple[str, Callable[[], Any]]] = [
            ("no cache", lambda: read_sphinx(url, "benchlib", None, fetcher=HttpFetcher(url))),
            ("empty cache (hishel)", lambda: read_sphinx(url, "benchlib", None, cache_dir=cache)),
            ("warm cache: 304s", lambda: read_sphinx(url, "benchlib", None, cache_dir=cache)),
        ]
        for name, run in runs:
            start = time.perf_counter()
            run()
            seconds = time.perf_counter() - start
            print(f"| {name} | {seconds:.2f} | {pages / seconds:.0f} |")
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


if __name__ == "__main__":
    main()
