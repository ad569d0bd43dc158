"""``apipilot index build-many``: build the indexes of many sources, locally or on Ray."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import apipilot
from apipilot.ui.cli_errors import user_errors
from apipilot.ui.progress import PhaseProgress

out = Console()
STATUS_STYLE = {"built": "green", "unchanged": "dim", "failed": "red"}
# What each phase counts: local builds count sources, Ray reads sources and embeds texts.
PHASE_UNITS = {"build": "sources", "read": "sources", "embed": "texts"}

RayOption = Annotated[
    bool,
    typer.Option(
        "--ray",
        help="Run the builds on Ray: the cluster of $RAY_ADDRESS, else a local instance "
        "(pip install 'apipilot\\[ray]').",
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDRESS",
        help="Run on the Ray cluster at ADDRESS (e.g. ray://head:10001 or auto); implies --ray.",
    ),
]
# The options `index build-many` shares with `index project`.
EmbedderOption = Annotated[
    str, typer.Option(help="'minilm' (shipped), 'hashing[:DIM]' or a model directory.")
]
JsonOutputOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Index directory (default: $APIPILOT_HOME or the user cache)."),
]


def phase_callback(progress: PhaseProgress) -> Callable[[str, int, int], None]:
    """A ``(phase, done, total)`` callback that names what each phase counts."""
    return lambda phase, done, total: progress.update(
        phase, done, total, unit=PHASE_UNITS.get(phase, "items")
    )


def print_results(results: tuple[apipilot.DependencyResult, ...]) -> None:
    for result in results:
        style = STATUS_STYLE.get(result.status, "")
        out.print(f"  [{style}]{result.status:<9}[/] ", end="", highlight=False)
        where = f"{result.ref} from {result.name}" if result.version else result.name
        out.print(f"{where}: {result.detail}", highlight=False, markup=False)


def index_build_many(
    sources: Annotated[
        str,
        typer.Argument(
            metavar="LIST",
            help="A file with one source a line, optionally followed by LIBRARY[@VERSION] "
            "(# starts a comment; relative paths are from the file's folder), or sources "
            "separated by commas: pkg:rich,pkg:typer,corpus:torchdata@0.7.1.",
        ),
    ],
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-j",
            min=1,
            help="Local build processes (default: min(4, CPUs)); with --ray, embedding "
            "actors (default: one per GPU of the cluster, else min(4, its CPUs)).",
        ),
    ] = None,
    ray: RayOption = False,
    ray_address: RayAddressOption = None,
    embedder: EmbedderOption = apipilot.DEFAULT_EMBEDDER,
    json_output: JsonOutputOption = False,
    home: HomeOption = None,
) -> None:
    """Build the index of every source in LIST, each published atomically as a build does.

    Locally each source builds in its own process. With --ray, a Ray task reads each
    source, Ray Data actors embed the records in batches (one GPU each when the cluster has
    GPUs) and this process publishes the indexes. Exit status 1 if any source failed.
    """
    with user_errors(), PhaseProgress("build-many") as progress:
        results = apipilot.build_many(
            sources,
            embedder=embedder,
            workers=workers,
            ray=ray,
            ray_address=ray_address,
            phases=phase_callback(progress),
            home=home,
        )
    if json_output:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        print_results(results)
        built = sum(1 for r in results if r.status == "built")
        out.print(f"{built} built, {len(results) - built} failed", highlight=False)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def register(index_app: typer.Typer) -> None:
    index_app.command("build-many")(index_build_many)
