"""``apipilot mcp``: serve the MCP tools over stdio (default) or streamable HTTP (``--http``)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

import apipilot
from apipilot.ui.cli_errors import user_errors
from apipilot.ui.mcp_server import ServerOptions, create_server

DEFAULT_PORT = 7861
MCP_PATH = "/mcp"


def check_llm(llm: str | None) -> str | None:
    """Fail at start-up, not at the first call, on a malformed LM spec."""
    return None if llm is None else apipilot.check_lm_spec(llm)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free port, read it from the socket)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_http(options: ServerOptions, host: str, port: int) -> None:
    """Serve streamable HTTP at http://HOST:PORT/mcp; print the URL on stderr once listening."""
    import anyio
    import uvicorn

    app = create_server(options).streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    print(
        f"apipilot MCP server on http://{shown}:{sock.getsockname()[1]}{MCP_PATH}",
        file=sys.stderr,
        flush=True,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    anyio.run(lambda: server.serve(sockets=[sock]))


def register(app: typer.Typer) -> None:
    """Add the ``mcp`` command to the ``apipilot`` CLI."""

    @app.command("mcp")
    def mcp(
        http: Annotated[
            bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")
        ] = False,
        host: Annotated[str, typer.Option(help="Interface to bind (with --http).")] = "127.0.0.1",
        port: Annotated[
            int, typer.Option(help="Port (with --http; 0 picks a free one).", min=0, max=65535)
        ] = DEFAULT_PORT,
        home: Annotated[
            Path | None,
            typer.Option("--home", help="Index directory (default: $APIPILOT_HOME or the cache)."),
        ] = None,
        llm: Annotated[
            str | None,
            typer.Option(help=f"For recommend_apis. {apipilot.lm_spec_help()}"),
        ] = None,
        allow_write: Annotated[
            bool,
            typer.Option("--allow-write", help="Also offer the build_index tool (writes indexes)."),
        ] = False,
    ) -> None:
        """Serve apipilot's tools to IDE agents over MCP (stdio, or streamable HTTP with --http)."""
        with user_errors(OSError):  # stderr only: in stdio mode stdout is the protocol
            options = ServerOptions(home=home, llm=check_llm(llm), allow_write=allow_write)
            if http:
                serve_http(options, host, port)
            else:
                create_server(options).run("stdio")
