"""``apipilot eval``: score methods on the evaluation suites and write the results."""

from __future__ import annotations

import json
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

import apipilot
from apipilot.evaluation.defaults import DEFAULT_LM_LIMIT
from apipilot.ui.cli_errors import user_errors
from apipilot.ui.progress import PhaseProgress

if TYPE_CHECKING:
    from apipilot.evaluation.codegen import CodegenResult
    from apipilot.evaluation.methods import Env
    from apipilot.evaluation.suites import Suite

err = Console(stderr=True)


def _methods(names: list[str] | None) -> list[str]:
    from apipilot.evaluation.methods import method_names

    if not names:
        return method_names()
    return [n.strip() for name in names for n in name.split(",") if n.strip()]


def evaluate(
    suite: Annotated[
        str,
        typer.Option(
            help="all, fine, coarse, realistic, or one suite (TorchDataEval, Coarse-PandasEval, "
            "Realistic-rich, …)."
        ),
    ] = "all",
    split: Annotated[
        str,
        typer.Option(
            help="Tasks of the fixed split: all, dev (choose defaults here) or test (report "
            "here); see evaluation/splits.py."
        ),
    ] = "all",
    library: Annotated[
        str | None,
        typer.Option("--library", "-l", help="Only this library (torchdata, rich, …)."),
    ] = None,
    realistic_sources: Annotated[
        str,
        typer.Option(
            help="What the realistic suites' indexes read: pkg (the installed package and its "
            "README) or sdist (its source archive: docs/ folder guides too; index "
            "LIB@VERSION-sdist)."
        ),
    ] = "pkg",
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method", "-m", help="Method(s), repeatable or comma-separated (default: all)."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="Score only the first N tasks of each suite.", min=1)
    ] = None,
    lm_limit: Annotated[
        int,
        typer.Option(
            help="First N tasks of each suite for methods that run the LM (0: all).", min=0
        ),
    ] = DEFAULT_LM_LIMIT,
    codegen: Annotated[
        bool, typer.Option("--codegen", help="Also generate code and run the tests (slow).")
    ] = False,
    codegen_limit: Annotated[
        int | None, typer.Option(help="First N tasks per library for --codegen.", min=1)
    ] = None,
    codegen_method: Annotated[
        str, typer.Option(help="Method whose top APIs go into the code-generation prompt.")
    ] = "fused",
    json_output: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write latest.md/json, the plot and README-results.md here.")
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Index directory (default: $APIPILOT_HOME or the user cache)."),
    ] = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Merge into the report already in --out (read when writing): this run's "
            "suite/method cells replace the same ones there, the others are kept.",
        ),
    ] = False,
) -> None:
    """Score retrieval and agent methods on the fine-grained, coarse-grained and realistic
    suites."""
    with user_errors():
        _evaluate(
            suite,
            library,
            _methods(method),
            limit,
            lm_limit or None,
            codegen,
            codegen_limit,
            codegen_method,
            json_output,
            out,
            home,
            update,
            split,
            realistic_sources,
        )


def _evaluate(
    suite: str,
    library: str | None,
    methods: list[str],
    limit: int | None,
    lm_limit: int | None,
    codegen: bool,
    codegen_limit: int | None,
    codegen_method: str,
    json_output: bool,
    out: Path | None,
    home: Path | None,
    update: bool = False,
    split: str = "all",
    realistic_sources: str = "pkg",
) -> None:
    from apipilot.evaluation.harness import run_eval
    from apipilot.evaluation.methods import Env, get_method
    from apipilot.evaluation.report import (
        RunReport,
        load_report,
        markdown,
        merge_reports,
        to_json,
        write_report,
    )
    from apipilot.evaluation.suites import select_suites

    if update and out is None:
        raise apipilot.ConfigError("--update needs --out (the folder whose report it updates)")
    chosen = [get_method(name) for name in methods]
    suites = select_suites(suite, library, split, realistic_sources)
    env = Env(apipilot.open_store(home))
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    start = time.perf_counter()

    def progress(line: str) -> None:
        err.print(line, highlight=False, markup=False)

    with PhaseProgress() as bar:
        cells = run_eval(
            suites,
            chosen,
            env,
            limit=limit,
            lm_limit=lm_limit,
            progress=progress,
            cells_done=bar.callback("eval", unit="suite/method cells"),
        )
    notes = [f"`{m.name}`: {m.description}" for m in chosen]
    if lm_limit is not None and any(m.uses_lm for m in chosen):
        notes.append(
            f"methods that run the LM score the first {lm_limit} tasks of each suite "
            "(their task count is shown); the others score every task"
        )
    if limit is not None:
        notes.append(f"every suite was cut to its first {limit} tasks")
    if realistic_sources != "pkg" and any(s.kind == "realistic" for s in suites):
        notes.append(
            f"realistic suites scored on `{realistic_sources}:` indexes (LIB@VERSION-sdist: the "
            "source archive's docs/ folder as guides, with the package's API)"
        )
    if split != "all":
        notes.append(f"{split} split only: the tasks `evaluation/splits.py` puts in {split}")
    codegen_results: list[CodegenResult] = []
    if codegen:
        codegen_results = _codegen(suites, env, codegen_limit, codegen_method, progress)
        notes.append(
            f"code generation: the embedded LM completes each prompt with the top 3 APIs of "
            f"`{codegen_method}` written above it; `canonical` runs the reference solutions "
            "through the same sandbox (a harness check)"
        )
    report = RunReport(
        command="apipilot " + shlex.join(sys.argv[1:]),
        started=started,
        seconds=time.perf_counter() - start,
        settings={
            "suite": suite,
            "split": split,
            "library": library,
            "realistic_sources": realistic_sources,
            "methods": methods,
            "limit": limit,
            "lm_limit": lm_limit,
            "codegen": codegen,
        },
        cells=cells,
        codegen=codegen_results,
        notes=notes,
    )
    if out is not None:
        previous = out / "latest.json"
        if update and previous.is_file():
            report = merge_reports(load_report(previous), report)
        for path in write_report(report, out):
            progress(f"wrote {path}")
    if json_output:
        print(json.dumps(to_json(report), indent=1, ensure_ascii=False))
    else:
        print(markdown(report))


def _codegen(
    suites: list[Suite],
    env: Env,
    limit: int | None,
    method_name: str,
    progress: Callable[[str], None],
) -> list[CodegenResult]:
    from apipilot.evaluation.codegen import run_codegen
    from apipilot.evaluation.methods import get_method

    method = get_method(method_name)
    lm = apipilot.load_lm(None)
    results = []
    for library in dict.fromkeys(s.library for s in suites if s.kind == "fine"):
        for model in (None, lm):
            results.append(
                run_codegen(
                    library, env=env, lm=model, method=method, limit=limit, progress=progress
                )
            )
    return results


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)
