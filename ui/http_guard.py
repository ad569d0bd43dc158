"""Who may talk to apipilot's HTTP servers (the web app and the MCP server over HTTP).

One ASGI middleware for both, in front of everything they serve:

- **Host** must name the server itself (DNS-rebinding protection): a page on
  ``evil.example.com`` that resolves to 127.0.0.1 sends ``Host: evil.example.com`` and gets
  421, as the MCP SDK answers for its own check.
- **Origin**, when a browser sends one, must be the server's own origin: 403 otherwise.
- **Bearer token**, when one is set (``--token`` or ``$APIPILOT_TOKEN``): every request carries
  ``Authorization: Bearer TOKEN``, or the ``apipilot_token`` cookie that opening
  ``/?token=TOKEN`` once in a browser sets (as Jupyter does). 401 otherwise.

Binding anything but loopback without a token is refused (:func:`check_bind`): a server
reachable by others must know who is asking.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from apipilot.errors import ConfigError

TOKEN_ENV = "APIPILOT_TOKEN"
COOKIE = "apipilot_token"
MIN_TOKEN_CHARS = 16

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(token: str | None) -> str | None:
    """The token given, else ``$APIPILOT_TOKEN``; a short one is refused."""
    token = token if token is not None else os.environ.get(TOKEN_ENV) or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"the access token is {len(token)} characters; use at least {MIN_TOKEN_CHARS} "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(24))")'
        )
    return token


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback interface without a token."""
    if not is_loopback(host) and token is None:
        raise ConfigError(
            f"binding {host} opens the server to other machines; set a token with --token or "
            f"${TOKEN_ENV} (clients then send 'Authorization: Bearer TOKEN'), or bind 127.0.0.1"
        )


@dataclass(frozen=True)
class AccessPolicy:
    """Hosts and origins the server answers to, and the token it asks for (if any)."""

    hosts: frozenset[str]
    origins: frozenset[str]
    token: str | None = None

    @classmethod
    def for_server(
        cls, host: str, port: int, *, token: str | None = None, extra_hosts: Iterable[str] = ()
    ) -> AccessPolicy:
        """The names a client may use for a server bound to ``host:port``.

        Loopback: ``localhost``, ``127.0.0.1`` and ``[::1]``. Another interface: its own
        address, plus ``extra_hosts`` (the names a team reaches it by, e.g. behind a proxy).
        """
        names = {"localhost", "127.0.0.1", "[::1]"} if is_loopback(host) else set()
        if not is_loopback(host) and host not in ("0.0.0.0", "::"):
            names.add(f"[{host}]" if ":" in host else host)
        names |= {name.lower() for name in extra_hosts}
        hosts = frozenset({*names, *(f"{name}:{port}" for name in names)})
        origins = frozenset(f"{scheme}://{name}" for scheme in ("http", "https") for name in hosts)
        return cls(hosts, origins, token)


class GuardMiddleware:
    """Checks Host, Origin and the bearer token before ``app`` sees a request."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get("host", "").lower() not in self.policy.hosts:
            await _refuse(scope, receive, send, 421, "host not allowed")
            return
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.policy.origins:
            await _refuse(scope, receive, send, 403, "origin not allowed")
            return
        if self.policy.token is None:
            await self.app(scope, receive, send)
            return
        from_query = _query_token(scope)
        if from_query is not None and _same(from_query, self.policy.token):
            await self.app(scope, receive, _setting_cookie(send, self.policy.token))
            return
        if not _same(_presented_token(headers), self.policy.token):
            await _refuse(scope, receive, send, 401, "missing or wrong bearer token")
            return
        await self.app(scope, receive, send)


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _presented_token(headers: dict[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no token, not a crash
        return None
    morsel = cookie.get(COOKIE)
    return morsel.value if morsel is not None else None


def _query_token(scope: Scope) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


def _setting_cookie(send: Send, token: str) -> Send:
    async def send_with_cookie(message: Message) -> None:
        if message["type"] == "http.response.start":
            cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
        await send(message)

    return send_with_cookie


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, why: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": why})
        return
    body = f"{status}: {why}\n".encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="apipilot"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
