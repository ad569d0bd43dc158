"""The Sphinx reader: a site built by Sphinx in the test, read from disk and over loopback HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sphobjinv as soi

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.fetch import FetchError, HttpFetcher, LocalFetcher
from apipilot.indexes.readers.html_blocks import Block, anchored_block, parse_page
from apipilot.indexes.readers.sphinx import read_sphinx
from apipilot.indexes.record import ApiRecord

CONF = 'project = "tinylib"\nversion = release = "1.2.3"\nhtml_theme = "alabaster"\n'
INDEX = "Tinylib\n=======\n\n.. toctree::\n\n   api\n   more\n"
API = """
API
===

.. py:module:: tinylib

The tinylib module does tiny things.

.. py:function:: shuffle(data, buffer_size=10000) -> list

   Shuffle the data in a buffer. More text here.

   :param data: the data
   :returns: shuffled list

   Example::

      >>> shuffle([1, 2])
      [2, 1]

.. py:class:: Shuffler(datapipe, *, seed: int = 0)

   A shuffling datapipe. It shuffles.

   .. py:method:: set_seed(seed: int) -> Shuffler

      Set the seed of the shuffler.

   .. py:attribute:: buffer
      :type: list

      The buffer.

.. py:data:: DEFAULT_SIZE
   :value: 10

   Default size.

.. py:exception:: ShuffleError

   Raised when shuffling fails.
"""
MORE = """
More
====

.. py:function:: tinylib.batch(data, size: int = 2)

   Batch the data into lists.
"""


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sphinx")
    root = tmp_path_factory.mktemp("sphinx")
    src, out = root / "src", root / "html"
    src.mkdir()
    for name, text in {
        "conf.py": CONF,
        "index.rst": INDEX,
        "api.rst": API,
        "more.rst": MORE,
    }.items():
        (src / name).write_text(text)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(out)],
        check=True,
        env=env,
        capture_output=True,
        timeout=120,
    )
    return out


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is what some tests want


class _Server:
    """A loopback HTTP server over a folder that counts requests and can fail some paths."""

    def __init__(self, folder: Path) -> None:
        self.requests: Counter[str] = Counter()
        self.status: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                server.requests[path] += 1
                time.sleep(server.delay.get(path, 0))
                if path in server.status:
                    self.send_error(server.status[path])
                    return
                super().do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[_Server] = []

    def start(folder: Path) -> _Server:
        servers.append(_Server(folder))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def by_id(records: list[ApiRecord]) -> dict[str, ApiRecord]:
    return {r.id: r for r in records}


def check_tinylib(records: dict[str, ApiRecord]) -> None:
    assert set(records) == {
        "tinylib",
        "tinylib.shuffle",
        "tinylib.Shuffler",
        "tinylib.Shuffler.set_seed",
        "tinylib.Shuffler.buffer",
        "tinylib.DEFAULT_SIZE",
        "tinylib.ShuffleError",
        "tinylib.batch",
    }
    shuffle = records["tinylib.shuffle"]
    assert shuffle.kind == "function"
    assert shuffle.version == "1.2.3"
    assert shuffle.signature == "(data, buffer_size=10000) -> list"
    assert shuffle.summary == "Shuffle the data in a buffer."
    assert "shuffled list" in shuffle.doc
    assert shuffle.examples == ("shuffle([1, 2])",)

    shuffler = records["tinylib.Shuffler"]
    assert shuffler.kind == "class"
    assert shuffler.signature == "(datapipe, *, seed: int = 0)"
    assert shuffler.doc == "A shuffling datapipe. It shuffles."  # its methods are not in it
    method = records["tinylib.Shuffler.set_seed"]
    assert (method.kind, method.name) == ("method", "Shuffler.set_seed")
    assert method.signature == "(seed: int) -> Shuffler"
    assert method.summary == "Set the seed of the shuffler."
    assert records["tinylib.Shuffler.buffer"].kind == "attribute"
    assert records["tinylib.ShuffleError"].kind == "class"
    assert records["tinylib"].summary == "The tinylib module does tiny things."
    assert records["tinylib.batch"].source.endswith("more.html#tinylib.batch")


def test_local_build(built_site: Path) -> None:
    report = read_sphinx(built_site, "tinylib", None)
    check_tinylib(by_id(report.records))
    assert all("std" in reason for _, reason in report.skipped)


def test_over_http_each_page_fetched_once(built_site: Path, serve: Any, tmp_path: Path) -> None:
    server = serve(built_site)
    report = read_sphinx(server.url, "tinylib", "9.0", cache_dir=tmp_path)
    records = by_id(report.records)
    check_tinylib({k: replace(r, version="1.2.3") for k, r in records.items()})
    assert {r.version for r in report.records} == {"9.0"}
    assert server.requests["/api.html"] == 1
    assert server.requests["/objects.inv"] == 1


def _inventory(folder: Path, entries: list[tuple[str, str, str]]) -> None:
    inventory = soi.Inventory()
    inventory.project, inventory.version = "hand", "0.1"
    for name, role, uri in entries:
        inventory.objects.append(
            soi.DataObjStr(name=name, domain="py", role=role, priority="1", uri=uri, dispname="-")
        )
    (folder / "objects.inv").write_bytes(soi.compress(inventory.data_file()))


HAND_PAGE = """<html><body><div role="main"><section id="hand">
<h1>Hand</h1><p>Hand-written docs.</p>
<dl class="py function"><dt class="sig sig-object py" id="hand.f">
<span class="sig-name descname">f</span>
<span class="sig-paren">(</span>x<span class="sig-paren">)</span>
<a class="headerlink" href="#hand.f">¶</a></dt><dd><p>Do f. Then more.</p></dd></dl>
</section></div></body></html>"""


@pytest.fixture
def hand_site(tmp_path: Path) -> Path:
    _inventory(
        tmp_path,
        [
            ("hand", "module", "good.html#hand"),
            ("hand.f", "function", "good.html#hand.f"),
            ("hand.missing", "function", "good.html#hand.missing"),
            ("hand.g", "function", "broken.html#hand.g"),
            ("hand.h", "method", "broken.html#hand.h"),
            ("hand.gone", "function", "gone.html#hand.gone"),
        ],
    )
    (tmp_path / "good.html").write_text(HAND_PAGE)
    other = HAND_PAGE.replace('id="hand.f"', 'id="hand.g"').replace("<p>Hand-written", "<p>Other")
    other = other.replace(
        "</section>", '<dl class="py method"><dt id="hand.h">h()</dt></dl></section>'
    )
    (tmp_path / "broken.html").write_text(other)
    return tmp_path


def test_failing_pages_are_reported(hand_site: Path, serve: Any) -> None:
    server = serve(hand_site)
    server.status["/broken.html"] = 500
    sleeps: list[float] = []
    fetcher = HttpFetcher(server.url, retries=2, backoff=0.25, sleep=sleeps.append)
    report = read_sphinx(server.url, "hand", None, fetcher=fetcher)
    records = by_id(report.records)
    assert set(records) == {"hand", "hand.f"}
    assert records["hand.f"].summary == "Do f."
    assert records["hand.f"].signature == "(x)"
    assert records["hand.f"].version == "0.1"
    reasons = dict(report.skipped)
    assert "HTTP 500" in reasons[server.url + "broken.html"]
    assert "(2 objects not read)" in reasons[server.url + "broken.html"]
    assert "HTTP 404" in reasons[server.url + "gone.html"]
    assert "not found" in reasons[server.url + "good.html#hand.missing"]
    assert server.requests["/broken.html"] == 3  # retried
    assert server.requests["/gone.html"] == 1  # a 404 is not
    assert sleeps == [0.25, 0.5]  # exponential backoff between the three tries


def test_timeout_is_reported(hand_site: Path, serve: Any) -> None:
    server = serve(hand_site)
    server.delay["/broken.html"] = 1.0
    fetcher = HttpFetcher(server.url, timeout=0.2, retries=1, backoff=0)
    report = read_sphinx(server.url, "hand", None, fetcher=fetcher)
    reason = dict(report.skipped)[server.url + "broken.html"]
    assert "Timeout" in reason and "after 2 tries" in reason
    assert "hand.f" in by_id(report.records)


def test_local_hand_site_and_custom_fetcher(hand_site: Path) -> None:
    report = read_sphinx(hand_site, "hand", "1.0")
    assert set(by_id(report.records)) == {"hand", "hand.f", "hand.g", "hand.h"}
    assert any(where.endswith("gone.html") for where, _ in report.skipped)

    files = {"objects.inv": (hand_site / "objects.inv").read_bytes(), "good.html": b"junk <<"}

    def fetch(path: str) -> bytes:
        if path not in files:
            raise FetchError(f"{path}: not in the test's files")
        return files[path]

    report = read_sphinx("https://docs.example.org/", "hand", "1.0", fetcher=fetch)
    assert report.records == []
    assert any("not in the test's files" in reason for _, reason in report.skipped)


def test_missing_site_and_junk_inventory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such folder"):
        read_sphinx(tmp_path / "nope", "x", None)
    with pytest.raises(SourceError, match="no Sphinx inventory"):
        read_sphinx(tmp_path, "x", None)
    (tmp_path / "objects.inv").write_bytes(b"# Sphinx inventory version 2\nnot zlib at all")
    report = read_sphinx(tmp_path, "x", None)
    assert report.records == []
    assert "not a Sphinx inventory" in report.skipped[0][1]


def test_local_fetcher_stays_inside_the_site(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "secret.html").write_text("secret")
    with pytest.raises(FetchError, match="outside"):
        LocalFetcher(tmp_path / "site")("../secret.html")
    with pytest.raises(FetchError, match="outside"):
        HttpFetcher("http://127.0.0.1:9/docs/")("http://elsewhere.example/x.html")


def test_fetches_run_at_most_four_at_a_time(hand_site: Path) -> None:
    inventory = soi.Inventory()
    inventory.project, inventory.version = "many", "1"
    for i in range(12):
        inventory.objects.append(
            soi.DataObjStr(name=f"m.f{i}", domain="py", role="function", priority="1",
                           uri=f"p{i}.html#m.f{i}", dispname="-")
        )  # fmt: skip
    files: dict[str, bytes] = {"objects.inv": soi.compress(inventory.data_file())}
    running, peak = 0, 0
    lock = threading.Lock()

    def fetch(path: str) -> bytes:
        nonlocal running, peak
        if path == "objects.inv":
            return files[path]
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        number = path.removeprefix("p").removesuffix(".html")
        return (
            f"<dl><dt id='m.f{number}'>f{number}(x)</dt><dd>Function {number}.</dd></dl>".encode()
        )

    report = read_sphinx("https://many.example/", "many", None, fetcher=fetch)
    assert len(report.records) == 12
    assert by_id(report.records)["m.f7"].summary == "Function 7."
    assert peak == 4


def test_broken_markup_is_survived() -> None:
    deep = parse_page("<div id='top'>" + "<div><span>" * 5000 + "deep text")
    block = anchored_block(deep, "top")
    assert block is not None and block.body.endswith("deep text")

    page = parse_page(
        "<ul><li>one<li>two</ul><dl><dt id='a'>a(x)<dd>Doc a.<dt id='b'>b()<dd>Doc b.</dl>"
        "<p id='p'>first<p>second"
    )
    assert anchored_block(page, "a") == Block("a(x)", "Doc a.", (), "Doc a.")
    assert anchored_block(page, "b") == Block("b()", "Doc b.", (), "Doc b.")
    assert anchored_block(page, "p") == Block("", "first", (), "first")


MKDOCS_PAGE = """<html><body><div class="md-content">
<div class="doc doc-object doc-class">
<h2 id="mk.Shuffler" class="doc doc-heading"><code>Shuffler</code>
<a class="headerlink" href="#mk.Shuffler">¶</a></h2>
<div class="doc doc-contents first">
<div class="doc-signature highlight"><pre><span></span><code>Shuffler(datapipe,
    buffer_size: int = 10000)
</code></pre></div>
<p>Shuffle a DataPipe with a buffer. Bigger is better.</p>
<div class="doc doc-children">
<div class="doc doc-object doc-function">
<h3 id="mk.Shuffler.set_seed" class="doc doc-heading"><code>set_seed</code></h3>
<div class="doc doc-contents"><div class="doc-signature highlight"><pre><code>set_seed(seed)
</code></pre></div><p>Set the seed.</p></div>
</div></div></div></div></div></body></html>"""


def test_mkdocstrings_headings(tmp_path: Path) -> None:
    _inventory(
        tmp_path,
        [
            ("mk.Shuffler", "class", "api/index.html#mk.Shuffler"),
            ("mk.Shuffler.set_seed", "method", "api/index.html#mk.Shuffler.set_seed"),
        ],
    )
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "index.html").write_text(MKDOCS_PAGE)
    records = by_id(read_sphinx(tmp_path, "mk", None).records)
    shuffler = records["mk.Shuffler"]
    assert shuffler.signature == "(datapipe, buffer_size: int = 10000)"
    assert shuffler.summary == "Shuffle a DataPipe with a buffer."
    assert "Set the seed" not in shuffler.doc
    assert records["mk.Shuffler.set_seed"].signature == "(seed)"
    assert records["mk.Shuffler.set_seed"].summary == "Set the seed."
