"""How every ``apipilot`` command reports failure: one line on stderr and an exit status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from apipilot import ApipilotError

err = Console(stderr=True)


@contextmanager
def user_errors(*also: type[Exception]) -> Iterator[None]:
    """Turn apipilot errors (and the ``also`` types) into one line on stderr and exit 1."""
    expected: tuple[type[Exception], ...] = (ApipilotError, *also)
    try:
        yield
    except expected as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
