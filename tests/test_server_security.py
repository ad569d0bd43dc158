"""The probe's reproductions against the servers (issue 17 #1, #3): each must fail safely."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult

import apipilot
from apipilot.ui.http_serve import BackgroundServer, start_background
from apipilot.ui.web_indexes import try_build
from tests.conftest import DEMO, make_record
from tests.mcp_helpers import ENV, SERVER, build_demo_home, http_server, stdio_params, text

TOKEN = "team-token-0123456789abcdef"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = build_demo_home(tmp_path_factory.mktemp("security") / "home")
    apipilot.build_index("corpus:torchdata@0.7.1", embedder="hashing:64", home=home)
    return home


def served_app(home: Path, token: str | None = None) -> BackgroundServer:
    from apipilot.ui.web import asgi_app, build_app

    blocks = build_app(home, config_file=home / "config.json", results_dir=home)
    return start_background(asgi_app(blocks), token=token)


@pytest.fixture(scope="module")
def app_server(home: Path) -> Iterator[BackgroundServer]:
    server = served_app(home)
    yield server
    server.stop()


def test_app_refuses_a_dns_rebound_host(app_server: BackgroundServer, home: Path) -> None:
    before = apipilot.list_indexes(home)
    port = app_server.url.rsplit(":", 1)[1]
    response = httpx.post(
        f"{app_server.url}/gradio_api/call/on_build",
        headers={"Host": f"evil.example.com:{port}"},
        json={"data": ["/etc", None, "etc", "1", "hashing:64", False, "demo"]},
    )
    assert response.status_code == 421
    for path in ("/gradio_api/call/on_remove", "/gradio_api/call/on_save", "/config"):
        foreign = httpx.post(app_server.url + path, headers={"Host": "evil.example.com"})
        assert foreign.status_code == 421, path
    assert apipilot.list_indexes(home) == before
    assert httpx.get(app_server.url + "/config").status_code == 200  # its own name works


def test_app_refuses_a_foreign_origin(app_server: BackgroundServer) -> None:
    response = httpx.get(app_server.url + "/config", headers={"Origin": "http://evil.example.com"})
    assert response.status_code == 403


def test_app_with_a_token(home: Path) -> None:
    server = served_app(home, token=TOKEN)
    try:
        assert httpx.get(server.url + "/config").status_code == 401
        opened = httpx.get(server.url + f"/?token={TOKEN}")
        assert opened.status_code == 200 and "apipilot_token" in opened.headers["set-cookie"]
        with_cookie = httpx.get(server.url + "/config", cookies={"apipilot_token": TOKEN})
        assert with_cookie.status_code == 200
    finally:
        server.stop()


def test_app_source_box_reads_only_allowed_roots(home: Path, tmp_path: Path) -> None:
    from apipilot.ui.web import app_policy

    outside = tmp_path / "server-docs"
    outside.mkdir()
    (outside / "api.md").write_text("# secret\n\nserver-side text\n")
    for source in (str(outside), "/etc", "https://example.com/docs/", "pkg:rich", "rich"):
        built, note = try_build(home, source, None, "x", "1", "hashing:64", policy=app_policy())
        assert not built and "not allowed" in note, (source, note)
    # an upload is the server's own copy of what the user sent: allowed
    upload = tmp_path / "upload.jsonl"
    upload.write_text("".join(json.dumps(make_record(n, s).to_dict()) + "\n" for n, s in DEMO))
    built, note = try_build(
        home, "", str(upload), "uploaded", "1", "hashing:64", policy=app_policy()
    )
    assert built, note


def test_mcp_build_index_accepts_only_what_it_says(home: Path, tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    docs = allowed / "ok.jsonl"
    docs.write_text("".join(json.dumps(make_record(n, s, "ok").to_dict()) + "\n" for n, s in DEMO))
    poison = allowed / "poison.jsonl"
    poison.write_text(
        "".join(json.dumps(make_record(f"p{i}", "poisoned").to_dict()) + "\n" for i in range(4))
    )
    before = {i.ref: i.records for i in apipilot.list_indexes(home)}

    async def main() -> dict[str, Any]:
        params = stdio_params(home, "--allow-write", "--allow-root", str(allowed))
        async with Client(params) as client:

            async def build(**args: Any) -> CallToolResult:
                return await client.call_tool("build_index", args)

            refused = {
                "/etc": await build(source="/etc", library="etc", version="1"),
                "url": await build(source="https://example.com/", library="x", version="1"),
                "pkg": await build(source="pkg:rich"),
                "model dir": await build(
                    source=str(docs), library="ok", version="1", embedder=str(tmp_path)
                ),
                "replace": await build(
                    source=str(poison), library="torchdata", version="0.7.1", embedder="hashing:64"
                ),
            }
            built = await build(source=str(docs), library="ok", version="1", embedder="hashing:64")
            return {"refused": refused, "built": built}

    results = anyio.run(main)
    for case, result in results["refused"].items():
        assert result.is_error, case
        assert "not allowed" in text(result) or "may not replace" in text(result), case
    assert not results["built"].is_error, text(results["built"])
    after = {i.ref: i.records for i in apipilot.list_indexes(home)}
    assert after.pop("ok@1") == len(DEMO)
    assert after == before  # torchdata@0.7.1 still holds its 95 records, /etc built nothing


def test_mcp_http_beyond_loopback_needs_a_token(home: Path) -> None:
    done = subprocess.run(
        [*SERVER, "--http", "--host", "0.0.0.0", "--port", "0", "--home", str(home)],
        env=os.environ | ENV,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0
    assert "token" in done.stderr


def test_mcp_http_with_a_token(home: Path) -> None:
    with http_server(home, "--token", TOKEN) as url:
        assert httpx.post(url, json={}).status_code == 401
        foreign = httpx.post(
            url, json={}, headers={"Authorization": f"Bearer {TOKEN}", "Host": "evil.example.com"}
        )
        assert foreign.status_code == 421

        async def tools() -> list[str]:
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                return [tool.name for tool in (await client.list_tools()).tools]

        assert "search_docs" in anyio.run(tools)
