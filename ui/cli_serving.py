"""Options shared by the commands that start a server (``apipilot app``, ``apipilot mcp``):
who may connect, and what a client may make the server read."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

import apipilot
from apipilot.ui.http_guard import TOKEN_ENV, resolve_token

TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help=f"Bearer token every HTTP request must carry (default: ${TOKEN_ENV}). Required to "
        "bind anything but loopback.",
        show_default=False,
    ),
]
AllowedHostOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-host",
        help="Another name clients reach the server by (e.g. its DNS name behind a proxy); "
        "repeatable. Requests naming any other host get 421.",
        show_default=False,
    ),
]
AllowRootOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-root",
        help="What a build may read besides the current directory and your documents folder: "
        "a folder, an http(s) URL prefix, pkg: (installed packages) or sdist: (source "
        "archives from the package registry); repeatable.",
        show_default=False,
    ),
]


def server_token(token: str | None) -> str | None:
    return resolve_token(token)


def source_policy(allow_root: list[str] | None, *, allow_replace: bool) -> apipilot.SourcePolicy:
    """The default policy widened by ``--allow-root`` items."""
    policy = apipilot.SourcePolicy.default().allowing(allow_root or [])
    return replace(policy, allow_replace=allow_replace)
