"""Host, Origin and bearer-token checks in front of the web app and the MCP HTTP server."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from apipilot.errors import ConfigError
from apipilot.ui.http_guard import (
    COOKIE,
    AccessPolicy,
    GuardMiddleware,
    Receive,
    Scope,
    Send,
    check_bind,
    is_loopback,
    resolve_token,
)

TOKEN = "s3cret-token-for-tests-0123"
PORT = 7860


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ran"})


def call(
    policy: AccessPolicy, path: str = "/", *, method: str = "GET", **headers: str
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=GuardMiddleware(ok_app, policy))
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            return await client.request(method, path, headers=headers)

    return anyio.run(go)


def loopback(token: str | None = None) -> AccessPolicy:
    return AccessPolicy.for_server("127.0.0.1", PORT, token=token)


def test_a_foreign_host_gets_421_and_nothing_runs() -> None:
    # The probe's reproduction: a build triggered through a DNS-rebound name.
    response = call(
        loopback(), "/gradio_api/call/on_build", method="POST", host=f"evil.example.com:{PORT}"
    )
    assert response.status_code == 421
    assert response.text != "ran"


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", "localhost"])
def test_the_servers_own_names_pass(host: str) -> None:
    assert call(loopback(), host=host).status_code == 200


def test_a_foreign_origin_gets_403() -> None:
    response = call(
        loopback(), method="POST", host=f"127.0.0.1:{PORT}", origin="http://evil.example.com"
    )
    assert response.status_code == 403
    own = call(loopback(), host=f"127.0.0.1:{PORT}", origin=f"http://127.0.0.1:{PORT}")
    assert own.status_code == 200


def test_with_a_token_requests_need_it() -> None:
    policy = loopback(TOKEN)
    host = f"127.0.0.1:{PORT}"
    assert call(policy, host=host).status_code == 401
    assert call(policy, host=host, authorization="Bearer wrong-token").status_code == 401
    assert call(policy, host=host, authorization=f"Bearer {TOKEN}").status_code == 200
    assert call(policy, host=host, cookie=f"{COOKIE}={TOKEN}").status_code == 200
    assert call(policy, host=host, cookie="garbage;;==").status_code == 401


def test_the_token_in_the_url_sets_a_cookie_once() -> None:
    response = call(loopback(TOKEN), f"/?token={TOKEN}", host=f"127.0.0.1:{PORT}")
    assert response.status_code == 200
    assert f"{COOKIE}={TOKEN}" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    wrong = call(loopback(TOKEN), "/?token=nope", host=f"127.0.0.1:{PORT}")
    assert wrong.status_code == 401


def test_a_team_server_answers_to_its_configured_names() -> None:
    policy = AccessPolicy.for_server("0.0.0.0", PORT, token=TOKEN, extra_hosts=["docs.team.lan"])
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert call(policy, host=f"docs.team.lan:{PORT}", **auth).status_code == 200
    assert call(policy, host=f"evil.example.com:{PORT}", **auth).status_code == 421


def test_binding_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", TOKEN)
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and not is_loopback("10.0.0.1")


def test_short_tokens_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="at least"):
        resolve_token("short")
    monkeypatch.setenv("APIPILOT_TOKEN", TOKEN)
    assert resolve_token(None) == TOKEN
    monkeypatch.delenv("APIPILOT_TOKEN")
    assert resolve_token(None) is None


def test_non_http_scopes_pass_through() -> None:
    seen: list[Any] = []

    async def lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def go() -> None:
        async def receive() -> dict[str, Any]:
            return {}

        async def send(message: Any) -> None:
            return None

        await GuardMiddleware(lifespan_app, loopback())({"type": "lifespan"}, receive, send)

    anyio.run(go)
    assert seen == ["lifespan"]
