"""``apipilot index project``: index a project's dependencies at their installed versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import apipilot
from apipilot.ui.cli_build_many import (
    EmbedderOption,
    HomeOption,
    JsonOutputOption,
    RayAddressOption,
    RayOption,
    phase_callback,
)
from apipilot.ui.cli_errors import user_errors
from apipilot.ui.progress import PhaseProgress

out = Console()
STATUS_STYLE = {"built": "green", "unchanged": "dim", "failed": "red"}


def index_project(
    path: Annotated[
        Path, typer.Argument(help="The project folder (default: the current folder).")
    ] = Path("."),
    python: Annotated[
        Path | None,
        typer.Option(
            "--python",
            help="The interpreter (or virtualenv folder) whose packages are indexed. Default: "
            "the project's .venv or venv, else $VIRTUAL_ENV, else this Python.",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Builds run at once (default: min(4, CPUs)); with --ray, embedding actors.",
        ),
    ] = None,
    ray: RayOption = False,
    ray_address: RayAddressOption = None,
    embedder: EmbedderOption = apipilot.DEFAULT_EMBEDDER,
    json_output: JsonOutputOption = False,
    home: HomeOption = None,
) -> None:
    """Index every dependency of the project at PATH (pyproject.toml, requirements*.txt,
    uv.lock, poetry.lock) at the version installed in its environment.

    Afterwards, inside the project, search, ask, the MCP server and the app use the project's
    version of each library when no version is given, and ask without --library searches
    every library of the project.
    """
    with user_errors(), PhaseProgress(f"index project {path}") as progress:
        summary = apipilot.index_project(
            path,
            python=python,
            jobs=jobs,
            embedder=embedder,
            progress=progress.callback("build", unit="dependencies"),
            home=home,
            ray=ray,
            ray_address=ray_address,
            phases=phase_callback(progress),
        )
    if json_output:
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        out.print(f"{summary.project} ({summary.python})", highlight=False, markup=False)
        for dep in summary.dependencies:
            style = STATUS_STYLE.get(dep.status, "")
            out.print(f"  [{style}]{dep.status:<9}[/] ", end="", highlight=False)
            where = dep.ref if dep.version else dep.name
            out.print(f"{where}: {dep.detail}", highlight=False, markup=False)
        counts = ", ".join(
            f"{summary.count(status)} {status}" for status in ("built", "unchanged", "failed")
        )
        out.print(counts, highlight=False)
    if summary.count("failed"):
        raise typer.Exit(1)


def register(index_app: typer.Typer) -> None:
    index_app.command("project")(index_project)
