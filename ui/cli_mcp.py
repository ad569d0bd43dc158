"""``apipilot mcp``: serve the MCP tools over stdio (default) or streamable HTTP (``--http``)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import apipilot
from apipilot.ui.cli_errors import user_errors
from apipilot.ui.cli_serving import (
    AllowedHostOption,
    AllowRootOption,
    TokenOption,
    server_token,
    source_policy,
)
from apipilot.ui.http_serve import serve
from apipilot.ui.warmup import Warmup, WarmupReport, lm_in_process, serving_steps

if TYPE_CHECKING:  # the MCP SDK takes ~0.8 s to import: only `apipilot mcp` pays for it
    from apipilot.ui.mcp_server import ServerOptions

DEFAULT_PORT = 7861
MCP_PATH = "/mcp"


def check_llm(llm: str | None) -> str | None:
    """Fail at start-up, not at the first call, on a malformed LM spec."""
    return None if llm is None else apipilot.check_lm_spec(llm)


def start_warmup(home: Path | None, llm: str | None, serving: threading.Event) -> Warmup:
    """Load what the first calls need in the background; once loaded and ``serving`` (the
    server answers requests), say so on stderr."""

    def ready(report: WarmupReport) -> None:
        serving.wait()
        print(report.summary("apipilot MCP server"), file=sys.stderr, flush=True)

    steps = serving_steps(home, llm, with_lm=lm_in_process(llm))
    return Warmup(steps, on_ready=ready).start()


def serve_http(
    options: ServerOptions,
    host: str,
    port: int,
    serving: threading.Event | None = None,
    **guard: Any,
) -> None:
    """Serve streamable HTTP at http://HOST:PORT/mcp behind the Host/Origin/token guard;
    ``serving`` is set once the server handles requests."""
    from apipilot.ui.mcp_server import create_server

    app = create_server(options).streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    started = serving.set if serving is not None else None
    serve(app, host, port, banner="apipilot MCP server", path=MCP_PATH, on_started=started, **guard)


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
        allow_root: AllowRootOption = None,
        allow_replace: Annotated[
            bool,
            typer.Option(
                "--allow-replace", help="Let build_index replace an index that already exists."
            ),
        ] = False,
        token: TokenOption = None,
        allowed_host: AllowedHostOption = None,
        warmup: Annotated[
            bool,
            typer.Option(
                help="Load the indexes, the embedder and an in-process LM in the background at "
                "start; stderr says when the server is ready."
            ),
        ] = True,
    ) -> None:
        """Serve apipilot's tools to IDE agents over MCP (stdio, or streamable HTTP with --http).

        build_index (with --allow-write) reads only shipped corpora and what --allow-root
        allows (default: the current directory and your documents folder), with a shipped
        embedder, and never replaces an existing index unless --allow-replace.
        """
        with user_errors(OSError):  # stderr only: in stdio mode stdout is the protocol
            llm = check_llm(llm)
            # started before the MCP SDK is imported: the two overlap
            serving = threading.Event()
            loading = start_warmup(home, llm, serving) if warmup else Warmup.finished()
            from apipilot.ui.mcp_server import ServerOptions, create_server

            options = ServerOptions(
                home=home,
                llm=llm,
                allow_write=allow_write,
                policy=source_policy(allow_root, allow_replace=allow_replace),
                warmup=loading,
            )
            if http:
                guard = {"token": server_token(token), "allowed_hosts": allowed_host or []}
                serve_http(options, host, port, serving, **guard)
            else:
                server = create_server(options)
                serving.set()  # stdin is read from here on; what came before waits in the pipe
                server.run("stdio")
