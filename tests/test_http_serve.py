"""The listening socket every HTTP surface (app, MCP over HTTP) is served from."""

from __future__ import annotations

import socket

from apipilot.ui.http_serve import bind


def test_accepted_connections_send_without_waiting_for_acks() -> None:
    # Nagle's algorithm on the server side held each response body until the client's delayed
    # ACK of the headers: 40 ms a call. Accepted sockets inherit TCP_NODELAY from the listener.
    listener = bind("127.0.0.1", 0)
    with listener, socket.create_connection(listener.getsockname()[:2]):
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
