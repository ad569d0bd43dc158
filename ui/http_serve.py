"""Serve an ASGI app (the web app, the MCP server over HTTP) behind ``http_guard``.

Both servers bind the same way: a socket first (port 0 picks a free port, which then goes into
the allowed Host names), the guard in front of the app, uvicorn on the socket.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from apipilot.ui.http_guard import AccessPolicy, ASGIApp, GuardMiddleware, check_bind


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free port, read it from the socket)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this. Without it, a response written as headers then body
    # waits for the client's delayed ACK of the headers: 40 ms a call (measured: 44 -> 11 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(host: str, sock: socket.socket, path: str = "") -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{sock.getsockname()[1]}{path}"


def guarded(
    app: ASGIApp,
    host: str,
    sock: socket.socket,
    *,
    token: str | None,
    allowed_hosts: Iterable[str] = (),
) -> GuardMiddleware:
    """``app`` behind the Host/Origin/token checks for a server bound to ``sock``."""
    port = int(sock.getsockname()[1])
    return GuardMiddleware(
        app, AccessPolicy.for_server(host, port, token=token, extra_hosts=allowed_hosts)
    )


def serve(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    token: str | None,
    allowed_hosts: Iterable[str] = (),
    banner: str,
    path: str = "",
    on_started: Callable[[], None] | None = None,
) -> None:
    """Bind (refusing a non-loopback host without a token), print ``banner`` with the URL on
    stderr, and serve ``app`` behind the guard until interrupted; ``on_started`` is called
    (on another thread) once the server handles requests."""
    import anyio
    import uvicorn

    check_bind(host, token)
    sock = bind(host, port)
    print(f"{banner} on {url_of(host, sock, path)}", file=sys.stderr, flush=True)
    app = guarded(app, host, sock, token=token, allowed_hosts=allowed_hosts)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    if on_started is not None:
        threading.Thread(target=_when_started, args=(server, on_started), daemon=True).start()
    anyio.run(lambda: server.serve(sockets=[sock]))


def _when_started(server: Any, then: Callable[[], None]) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.02)
    if server.started:
        then()


@dataclass
class BackgroundServer:
    """A server running in a thread (tests, embedding): ``url``, and ``stop()``."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_background(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token: str | None = None,
    allowed_hosts: Iterable[str] = (),
    startup_timeout_s: float = 30.0,
) -> BackgroundServer:
    """Serve ``app`` behind the guard in a daemon thread; return once it accepts requests."""
    import uvicorn

    check_bind(host, token)
    sock = bind(host, port)
    app = guarded(app, host, sock, token=token, allowed_hosts=allowed_hosts)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on {url_of(host, sock)} did not start")
        time.sleep(0.05)
    return BackgroundServer(url_of(host, sock), server, thread)
