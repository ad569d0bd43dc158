"""Remote Sphinx sites under faults and attack (issue 17 item 7), and the HTTP cache.

Each test starts its own loopback server: a page that trickles one byte every 0.5 s, an
``objects.inv`` that inflates a thousandfold, a server that asks to be retried later, and an
unchanged site read twice.
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sphobjinv as soi

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.fetch import FetchError, HttpFetcher, deadline_seconds
from apipilot.indexes.readers.inventory import InventoryTooLarge, inflate_inventory
from apipilot.indexes.readers.sphinx import read_sphinx
from apipilot.retrieval.errors import ConfigError

Route = Callable[[BaseHTTPRequestHandler], None]
PAGE = b"<dl class='py function'><dt id='lib.{name}'>{name}(x)</dt><dd>Do {name}.</dd></dl>"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a trickling page hangs up


class Site:
    """A loopback server: files of ``folder``, or a route per path; it logs each answer."""

    def __init__(self, folder: Path) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, int]] = []
        self.stop = threading.Event()
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                route = site.routes.get(path)
                if route is not None:
                    route(self)
                else:
                    super().do_GET()

            def send_response(self, code: int, message: str | None = None) -> None:
                site.log.append((self.path, code))
                super().send_response(code, message)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = _Server(
            ("127.0.0.1", 0), lambda *a: Handler(*a, directory=str(folder))
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def trickle(self, path: str) -> None:
        """``path`` answers 200, then one byte every 0.5 s for a minute."""

        def route(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Length", "120")
            handler.end_headers()
            for _ in range(120):
                if self.stop.wait(0.5):
                    return
                try:
                    handler.wfile.write(b"<")
                    handler.wfile.flush()
                except OSError:
                    return

        self.routes[path] = route

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Path], Site]]:
    sites: list[Site] = []

    def start(folder: Path) -> Site:
        sites.append(Site(folder))
        return sites[-1]

    yield start
    for site in sites:
        site.close()


def write_site(folder: Path, names: list[str]) -> Path:
    """An inventory of functions ``lib.NAME``, each on its own page ``NAME.html``."""
    folder.mkdir(parents=True, exist_ok=True)
    inventory = soi.Inventory()
    inventory.project, inventory.version = "lib", "1.0"
    for name in names:
        inventory.objects.append(
            soi.DataObjStr(name=f"lib.{name}", domain="py", role="function", priority="1",
                           uri=f"{name}.html#lib.{name}", dispname="-")
        )  # fmt: skip
        (folder / f"{name}.html").write_bytes(PAGE.replace(b"{name}", name.encode()))
    (folder / "objects.inv").write_bytes(soi.compress(inventory.data_file()))
    return folder


def test_trickling_page_is_skipped_at_its_deadline(tmp_path: Path, serve: Any) -> None:
    site = serve(write_site(tmp_path / "site", ["good", "slow"]))
    site.trickle("/slow.html")
    start = time.monotonic()
    report = read_sphinx(
        site.url, "lib", None, page_deadline=1.0, deadline=60, cache_dir=tmp_path / "cache"
    )
    elapsed = time.monotonic() - start
    assert elapsed < 2.5  # the deadline, one trickled byte and some slack; not 60 s
    assert [r.id for r in report.records] == ["lib.good"]
    reason = dict(report.skipped)[site.url + "slow.html"]
    assert "the per-page deadline (1 s) passed" in reason
    assert "(1 objects not read)" in reason


def test_trickling_site_fails_at_the_overall_deadline(tmp_path: Path, serve: Any) -> None:
    site = serve(write_site(tmp_path / "site", ["a", "b", "c"]))
    for name in "abc":
        site.trickle(f"/{name}.html")
    start = time.monotonic()
    with pytest.raises(SourceError) as caught:
        read_sphinx(site.url, "lib", None, page_deadline=30, deadline=1.5, cache_dir=tmp_path)
    assert time.monotonic() - start < 3.0
    message = str(caught.value)
    assert "the overall deadline for a remote site (1.5 s) passed" in message
    assert "0 of 3 pages read" in message and "APIPILOT_REMOTE_DEADLINE" in message


def test_trickling_inventory_fails_naming_the_deadline(tmp_path: Path, serve: Any) -> None:
    site = serve(tmp_path)
    site.trickle("/objects.inv")
    with pytest.raises(
        SourceError, match=r"no Sphinx inventory .*per-page deadline \(1 s\) passed"
    ):
        read_sphinx(site.url, "lib", None, page_deadline=1.0, cache_dir=tmp_path)


def zlib_bomb(inflated_mb: int) -> bytes:
    """A version 2 inventory whose zlib stream inflates to ``inflated_mb`` MB of one line."""
    header = (
        b"# Sphinx inventory version 2\n# Project: bomb\n# Version: 1\n"
        b"# The remainder of this file is compressed using zlib.\n"
    )
    deflater = zlib.compressobj(9)
    line = b"bomb.f py:function 1 f.html#bomb.f -\n" * (2**20 // 37)
    body = b"".join(deflater.compress(line) for _ in range(inflated_mb)) + deflater.flush()
    return header + body


def test_zlib_bomb_inventory_is_refused_before_it_inflates(tmp_path: Path, serve: Any) -> None:
    bomb = zlib_bomb(64)
    assert len(bomb) < 2**20 // 4  # a small file: the 1.57 MB -> 1.5 GiB reproduction, scaled
    (tmp_path / "objects.inv").write_bytes(bomb)
    site = serve(tmp_path)
    tracemalloc.start()
    try:
        with pytest.raises(SourceError, match=r"objects\.inv inflates past 1 MB"):
            read_sphinx(site.url, "bomb", None, max_inventory_bytes=2**20, cache_dir=tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20  # far below the 64 MB it would inflate to


def test_inventory_cap_and_a_normal_inventory(tmp_path: Path) -> None:
    with pytest.raises(InventoryTooLarge, match="inflates past 2 MB"):
        inflate_inventory(zlib_bomb(8), max_inflated=2 * 2**20)
    plain = inflate_inventory(zlib_bomb(1), max_inflated=2 * 2**20)
    assert plain.startswith(b"# Sphinx inventory version 2") and plain.endswith(b"-\n")
    site = write_site(tmp_path / "site", ["f"])
    report = read_sphinx(site, "lib", None, max_inventory_bytes=2**20)
    assert [r.id for r in report.records] == ["lib.f"]


def test_body_is_capped_with_or_without_a_length(tmp_path: Path, serve: Any) -> None:
    (tmp_path / "big.html").write_bytes(b"x" * 5000)
    site = serve(tmp_path)

    def unannounced(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()  # no Content-Length: the body runs until the connection closes
        handler.wfile.write(b"y" * 5000)

    site.routes["/stream.html"] = unannounced
    fetch = HttpFetcher(site.url, max_bytes=1000)
    with pytest.raises(FetchError, match="5000 bytes, over the 1000 byte cap"):
        fetch("big.html")
    with pytest.raises(FetchError, match="over the 1000 byte cap on a file"):
        fetch("stream.html")
    fetch.close()


def _busy_then_ok(status: int, retry_after: str) -> Route:
    calls = 0

    def route(handler: BaseHTTPRequestHandler) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            handler.send_response(status)
            handler.send_header("Retry-After", retry_after)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    return route


def test_retry_after_is_honoured_up_to_a_cap(tmp_path: Path, serve: Any) -> None:
    site = serve(tmp_path)
    site.routes["/busy.html"] = _busy_then_ok(503, "1")
    site.routes["/limited.html"] = _busy_then_ok(429, "3600")
    sleeps: list[float] = []
    fetch = HttpFetcher(site.url, backoff=0.01, max_retry_after=2.0, sleep=sleeps.append)
    assert fetch("busy.html") == b"ok"
    assert fetch("limited.html") == b"ok"
    assert sleeps == [1.0, 2.0]  # what the server asked, then the cap, not the 0.01 backoff
    fetch.close()


def test_connect_errors_are_retried_with_backoff(tmp_path: Path, serve: Any) -> None:
    site = serve(tmp_path)
    url = site.url
    site.close()  # nothing listens there any more
    sleeps: list[float] = []
    fetch = HttpFetcher(url, retries=2, backoff=0.1, sleep=sleeps.append)
    with pytest.raises(FetchError, match=r"ConnectError.*\(after 3 tries\)"):
        fetch("objects.inv")
    assert sleeps == [0.1, 0.2]


def test_unchanged_site_is_revalidated_not_downloaded(tmp_path: Path, serve: Any) -> None:
    site = serve(write_site(tmp_path / "site", ["f", "g"]))
    cache = tmp_path / "cache"
    first = read_sphinx(site.url, "lib", None, cache_dir=cache)
    assert {code for _, code in site.log} == {200}
    site.log.clear()
    second = read_sphinx(site.url, "lib", None, cache_dir=cache)
    assert second.records == first.records and len(second.records) == 2
    assert sorted(site.log) == [("/f.html", 304), ("/g.html", 304), ("/objects.inv", 304)]

    (tmp_path / "site" / "g.html").write_bytes(PAGE.replace(b"{name}", b"g").replace(b"Do", b"Now"))
    future = time.time() + 5  # a later modification time than the cached copy's
    os.utime(tmp_path / "site" / "g.html", (future, future))
    site.log.clear()
    third = {r.id: r for r in read_sphinx(site.url, "lib", None, cache_dir=cache).records}
    assert third["lib.g"].summary == "Now g."
    assert ("/g.html", 200) in site.log and ("/f.html", 304) in site.log


def test_deadline_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert deadline_seconds(None, "APIPILOT_TEST_DEADLINE", 120.0) == 120.0
    monkeypatch.setenv("APIPILOT_TEST_DEADLINE", "2.5")
    assert deadline_seconds(None, "APIPILOT_TEST_DEADLINE", 120.0) == 2.5
    assert deadline_seconds(7, "APIPILOT_TEST_DEADLINE", 120.0) == 7
    monkeypatch.setenv("APIPILOT_TEST_DEADLINE", "soon")
    with pytest.raises(ConfigError, match="'soon' is not a number of seconds"):
        deadline_seconds(None, "APIPILOT_TEST_DEADLINE", 120.0)
    with pytest.raises(ConfigError, match="positive number of seconds, got -1"):
        deadline_seconds(-1, "APIPILOT_TEST_DEADLINE", 120.0)
