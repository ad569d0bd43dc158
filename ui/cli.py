"""The ``apipilot`` command line. Errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

import apipilot
from apipilot.ui.cli_errors import err, user_errors
from apipilot.ui.cli_serving import (
    AllowedHostOption,
    AllowRootOption,
    TokenOption,
    server_token,
    source_policy,
)
from apipilot.ui.http_serve import serve
from apipilot.ui.offline import set_offline_defaults
from apipilot.ui.progress import PhaseProgress

app = typer.Typer(
    help="apipilot: which APIs of a library to use for what you want to do.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
index_app = typer.Typer(help="Build, list and remove API indexes.", no_args_is_help=True)
app.add_typer(index_app, name="index")

out = Console()

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Index directory (default: $APIPILOT_HOME or the user cache)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ONNX_OPTIMIZE_ENV = "APIPILOT_ONNX_OPTIMIZE"  # see apipilot.retrieval.onnx_embedder
# The fields of a hit in `search --json`.
SEARCH_JSON_FIELDS = ("id", "name", "qualified_name", "signature", "summary", "score")
_ASK_DEFAULTS = apipilot.RecommendOptions()  # the measured-best agent defaults
NO_RERANKER = "none"  # the --reranker value that names no cross-encoder


def _print_build(built: apipilot.BuildSummary) -> None:
    out.print(built.summary, highlight=False)
    for where, reason in built.skipped[:20]:
        out.print(f"  skipped {where}: {reason}", highlight=False)
    if len(built.skipped) > 20:
        out.print(f"  … and {len(built.skipped) - 20} more skipped")


@index_app.command("build")
def index_build(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="One or more sources of one library@version: pkg:NAME (installed package, "
            "with its README), a package folder or source tree, a Sphinx build folder or URL "
            "(a site without objects.inv is crawled), a built HTML site folder, a "
            "Markdown/reST folder or file (llms.txt too, local or URL), a .jsonl file, or "
            "corpus:NAME@VERSION (shipped).",
            metavar="SOURCE...",
        ),
    ],
    library: Annotated[str | None, typer.Option("--library", "-l", help="Library name.")] = None,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Library version (pins the index).")
    ] = None,
    embedder: Annotated[
        str, typer.Option(help="'minilm' (shipped), 'hashing[:DIM]' or a model directory.")
    ] = apipilot.DEFAULT_EMBEDDER,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Skip malformed lines instead of failing.")
    ] = False,
    kind: Annotated[
        str, typer.Option(help=f"Vector index: {', '.join(apipilot.VECTOR_INDEX_KINDS)}.")
    ] = "auto",
    inspect: Annotated[
        bool, typer.Option("--inspect", help="Python: import compiled modules to read them.")
    ] = False,
    no_passages: Annotated[
        bool,
        typer.Option(
            "--no-passages", help="Index head lines only, not the documentation's passages."
        ),
    ] = False,
    home: HomeOption = None,
) -> None:
    """Read each SOURCE into API and guide records, link the guides to the APIs they name,
    embed them and store the index of LIBRARY@VERSION.

    Library and version default to the package metadata for Python packages and to the
    inventory for Sphinx sites; other sources need --library (or a source that names it).
    """
    with user_errors():
        with PhaseProgress(f"build {library or ' '.join(sources)}") as progress:
            built = apipilot.build_index(
                sources,
                library,
                version,
                embedder=embedder,
                strict=not skip_bad,
                index_kind=kind,
                inspect=inspect,
                phases=progress.update,
                home=home,
                passages=not no_passages,
            )
        _print_build(built)


@index_app.command("defaults")
def index_defaults(
    home: HomeOption = None,
    embedder: Annotated[
        str, typer.Option(help="Embedder for missing indexes.")
    ] = apipilot.DEFAULT_EMBEDDER,
) -> None:
    """Build every shipped corpus (corpora/apis) that has no index yet."""
    with user_errors():
        with PhaseProgress("build the shipped corpora:") as progress:
            for built in apipilot.build_missing_defaults(
                embedder=embedder, phases=progress.update, home=home
            ):
                _print_build(built)
        out.print(f"indexes ready in {apipilot.index_home(home)}", highlight=False)


@index_app.command("refresh")
def index_refresh(
    ref: Annotated[str, typer.Argument(help="NAME (newest version) or NAME@VERSION.")],
    home: HomeOption = None,
) -> None:
    """Re-read every source of an index; re-embed only records whose content changed.

    The old index stays in use until the new one is complete.
    """
    with user_errors(), PhaseProgress(f"refresh {ref}") as progress:
        _print_build(apipilot.refresh_index(ref, phases=progress.update, home=home))


@index_app.command("add")
def index_add(
    source: Annotated[str, typer.Argument(help="The source to add (any kind `build` reads).")],
    library: Annotated[
        str,
        typer.Option(
            "--library", "-l", help="The index to add it to: NAME (newest) or NAME@VERSION."
        ),
    ],
    home: HomeOption = None,
) -> None:
    """Add a source to an existing index and rebuild it from all its sources.

    Unchanged records keep their vectors; the old index stays in use until the new one is
    complete, and when a source cannot be read.
    """
    with user_errors(), PhaseProgress(f"add {source} to {library}") as progress:
        _print_build(apipilot.add_source(source, library, phases=progress.update, home=home))


@index_app.command("list")
def index_list(json_output: JsonOption = False, home: HomeOption = None) -> None:
    """Show every library@version with its record count, source, embedder and build date."""
    with user_errors():
        indexes = apipilot.list_indexes(home)
        if json_output:
            print(json.dumps([info.to_dict() for info in indexes], indent=2))
            return
        table = Table("library", "version", "records", "embedder", "built", "source")
        for i in indexes:
            if i.problem:
                table.add_row(i.library, i.version, "-", "-", "-", f"[red]{i.problem}[/]")
            else:
                sources = "\n".join(i.meta.get("sources") or [i.source])
                table.add_row(i.library, i.version, str(i.records), i.embedder, i.built_at, sources)
        out.print(table if indexes else "no indexes yet: run `apipilot index defaults`")


@index_app.command("remove")
def index_remove(
    ref: Annotated[str, typer.Argument(help="NAME (every version) or NAME@VERSION.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    home: HomeOption = None,
) -> None:
    """Remove an index (one version, or every version of a library)."""
    with user_errors():
        targets = apipilot.index_targets(ref, home)
        if not yes and not typer.confirm(f"remove {', '.join(targets)}?", err=True):
            raise typer.Exit(1)
        for removed in apipilot.remove_index(ref, home):
            out.print(f"removed {removed}", highlight=False)


@index_app.command("verify")
def index_verify(
    ref: Annotated[str, typer.Argument(help="NAME (newest version) or NAME@VERSION.")],
    home: HomeOption = None,
) -> None:
    """Check every file of an index against the SHA-256 recorded when it was built."""
    with user_errors():
        checked = apipilot.verify_index(ref, home)
        out.print(f"{checked.ref}: every file matches its checksum", highlight=False)


@index_app.command("gc")
def index_gc(
    library: Annotated[
        str | None, typer.Argument(help="Only this library (default: every one).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Delete what killed builds left behind; published indexes are never touched."""
    with user_errors():
        removed = apipilot.collect_garbage(library, home)
        for path in removed:
            out.print(f"removed {path}", highlight=False)
        out.print(f"{len(removed)} leftover{'s' if len(removed) != 1 else ''} removed")


@app.command("search")
def search(
    library: Annotated[str, typer.Argument(help="Library name (see `apipilot index list`).")],
    query: Annotated[str, typer.Argument(help="What you want to do, in words.")],
    k: Annotated[int, typer.Option("-k", help="How many APIs to return.", min=1, max=200)] = 10,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Library version (default: newest).")
    ] = None,
    mode: Annotated[
        str, typer.Option(help=f"Retrieval: {', '.join(apipilot.SEARCH_MODES)}.")
    ] = "fused",
    json_output: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Retrieve the APIs of LIBRARY that best match QUERY (no LM involved)."""
    # one query per process: ONNX Runtime's graph optimisation would cost more than it saves
    os.environ.setdefault(ONNX_OPTIMIZE_ENV, "0")
    with user_errors():
        found = apipilot.search(library, query, version=version, k=k, mode=mode, home=home)
        if json_output:
            rows = [hit.to_dict(SEARCH_JSON_FIELDS) for hit in found.results]
            print(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        table = Table(
            "#", "api", "signature", "summary", "score", title=f"{found.library}@{found.version}"
        )
        for hit in found.results:
            summary = Text(hit.summary[:80])
            if hit.evidence is not None:  # the passage or guide that matched, on a dim line
                summary.append("\n" + hit.evidence.line(100), style="dim")
            table.add_row(str(hit.rank), hit.name, hit.signature[:60], summary, f"{hit.score:.3f}")
        out.print(table)


@app.command("ask")
def ask(
    requirement: Annotated[str, typer.Argument(help="What you want to do, in words.")],
    library: Annotated[
        str | None,
        typer.Option(
            "--library",
            "-l",
            help="Library name. Default: every library of --libraries, else of the indexed "
            f"project around this folder, else {apipilot.DEFAULT_LIBRARY}.",
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version", "-v", help="Library version (default: the project's, else newest)."
        ),
    ] = None,
    libraries: Annotated[
        str | None,
        typer.Option(
            "--libraries",
            help="Comma-separated libraries (name or name@version) to search together: each "
            "subtask is answered by the library that matches it best.",
        ),
    ] = None,
    k: Annotated[int, typer.Option("-k", help="APIs in the answer.", min=1, max=100)] = 10,
    code: Annotated[bool, typer.Option("--code", help="Also write code that uses them.")] = False,
    rerank: Annotated[
        bool,
        typer.Option(
            help="Rerank each subtask's candidates (the LM, or --reranker); off by default: "
            "it lowered R@5 on the dev split (docs/benchmarks.md)."
        ),
    ] = _ASK_DEFAULTS.rerank,
    decomposer: Annotated[
        str,
        typer.Option(help="Subtasks from: clauses (the requirement's own), lm, or union (both)."),
    ] = _ASK_DEFAULTS.decomposer,
    llm: Annotated[
        str | None,
        typer.Option(help=apipilot.lm_spec_help()),
    ] = None,
    reranker: Annotated[
        str | None,
        typer.Option(
            help="Cross-encoder that reorders each subtask's candidates (naming one turns "
            "--rerank on): minilm-ce, an adapter directory, or none (the LM reranks). "
            "Default: $APIPILOT_RERANKER or none."
        ),
    ] = None,
    json_output: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Decompose REQUIREMENT into subtasks and recommend the APIs of LIBRARY for each."""
    with user_errors():
        options = apipilot.RecommendOptions(
            k=k,
            write_code=code,
            # naming a cross-encoder asks for reranking, which is off by default
            rerank=rerank or (reranker or NO_RERANKER).strip().lower() != NO_RERANKER,
            reranker=reranker,
            llm=llm,
            decomposer=decomposer,
        )
        answer: apipilot.Recommendation | None = None
        with err.status("thinking…", spinner="dots") as status:
            scope = [ref for ref in (libraries or "").split(",") if ref.strip()] or None
            for event in apipilot.stream_recommend(
                requirement, library, version, options=options, home=home, libraries=scope
            ):
                if isinstance(event, apipilot.Finished):
                    answer = event.recommendation
                elif isinstance(event, apipilot.StepDone):
                    status.update(f"{event.step} done…")
        assert answer is not None  # the stream always ends with Finished
        if json_output:
            print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
            return
        _print_answer(answer)


def _print_answer(answer: apipilot.Recommendation) -> None:
    refs = zip(answer.library.split(","), answer.version.split(","), strict=False)
    where = ", ".join(f"{library}@{version}" for library, version in refs)
    out.print(f"[bold]{where}[/] — {answer.requirement}\n", highlight=False)
    for i, subtask in enumerate(answer.subtasks, start=1):
        out.print(f"{i}. {subtask.text}  →  {', '.join(subtask.apis)}", highlight=False)
    out.print("\n[bold]Recommended APIs[/]")
    several = "," in answer.library
    for api in answer.apis:
        where = f"  [dim]({api.ref})[/]" if several else ""
        out.print(f"{api.rank:>2}. [bold]{api.display_name}[/]{where}", highlight=False)
        out.print(f"    {api.summary}", highlight=False, markup=False)
        if api.signature:
            out.print(f"    signature: {api.signature}", highlight=False, markup=False)
        if api.source:
            out.print(f"    source: {api.source}", highlight=False, markup=False)
        if api.evidence is not None:
            out.print(f"    {api.evidence.line()}", highlight=False, markup=False)
    if answer.code:
        out.print("\n[bold]Code[/]")
        out.print(answer.code, markup=False, highlight=False)
    if answer.unknown_apis:
        out.print(f"[yellow]not in the index:[/] {', '.join(answer.unknown_apis)}")
    if answer.unsafe_calls:
        unsafe = ", ".join(answer.unsafe_calls)
        out.print(f"unsafe calls (code withheld): {unsafe}", markup=False, highlight=False)
    paths = ", ".join(f"{step}: {path}" for step, path in answer.paths.items())
    out.print(f"\n[dim]{paths}; {answer.timings.get('total', 0):.1f} s[/]")


@app.command("app")
def run_app(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).", min=0, max=65535)] = 7860,
    library: Annotated[str, typer.Option(help="Library shown first.")] = apipilot.DEFAULT_LIBRARY,
    home: HomeOption = None,
    allow_root: AllowRootOption = None,
    token: TokenOption = None,
    allowed_host: AllowedHostOption = None,
) -> None:
    """Start the web app (Gradio) on HOST:PORT.

    Requests must name this server as their Host (DNS-rebinding protection); with a token,
    open http://HOST:PORT/?token=TOKEN once. The Indexes tab builds only from shipped corpora,
    uploads and what --allow-root allows (default: the current directory and your documents).
    """
    with user_errors(OSError):
        from apipilot.ui.web import asgi_app, build_app

        policy = source_policy(allow_root, allow_replace=True)
        blocks = build_app(home, default_library=library, policy=policy, warmup=True)
        serve(
            asgi_app(blocks),
            host,
            port,
            token=server_token(token),
            allowed_hosts=allowed_host or [],
            banner="apipilot app",
        )


def main() -> None:
    set_offline_defaults()
    try:
        app()
    except BrokenPipeError:
        sys.exit(1)


# Sub-commands defined in their own modules register here.
from apipilot.ui.cli_mcp import register as register_mcp  # noqa: E402

register_mcp(app)
from apipilot.ui.cli_eval import register as register_eval  # noqa: E402

register_eval(app)
from apipilot.ui.cli_train import register as register_train  # noqa: E402

register_train(app)
from apipilot.ui.cli_project import register as register_project  # noqa: E402

register_project(index_app)
from apipilot.ui.cli_build_many import register as register_build_many  # noqa: E402

register_build_many(index_app)
