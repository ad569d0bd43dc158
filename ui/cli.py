"""The ``apipilot`` command line. Errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apipilot.indexes.building import BuildResult, build_from_source
from apipilot.indexes.corpora import DEFAULT_LIBRARY, shipped_corpora
from apipilot.indexes.meta import IndexMeta
from apipilot.indexes.store import IndexStore, parse_ref
from apipilot.retrieval.embedder import DEFAULT_EMBEDDER
from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.search import MODES
from apipilot.retrieval.vector_index import KINDS, VectorIndexParams
from apipilot.ui.cli_errors import err, user_errors
from apipilot.ui.offline import set_offline_defaults

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


def _store(home: Path | None) -> IndexStore:
    return IndexStore(home)


@contextmanager
def _embedding_progress(label: str) -> Iterator[Callable[[int, int], None]]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _build(
    store: IndexStore,
    source: str,
    library: str | None,
    version: str | None,
    embedder_spec: str,
    strict: bool,
    params: VectorIndexParams,
    inspect: bool = False,
) -> BuildResult:
    with _embedding_progress(f"embedding {library or source}") as progress:
        return build_from_source(
            store,
            source,
            library,
            version,
            embedder_spec=embedder_spec,
            strict=strict,
            params=params,
            progress=progress,
            inspect=inspect,
        )


def _print_build(result: BuildResult) -> None:
    out.print(result.summary(), highlight=False)
    for where, reason in result.skipped[:20]:
        out.print(f"  skipped {where}: {reason}", highlight=False)
    if len(result.skipped) > 20:
        out.print(f"  … and {len(result.skipped) - 20} more skipped")


@index_app.command("build")
def index_build(
    source: Annotated[
        str,
        typer.Argument(
            help="pkg:NAME (installed package), a package folder or source tree, a Sphinx "
            "build folder or URL, a Markdown/reST folder or file (llms.txt too), a .jsonl "
            "file, or corpus:NAME@VERSION (shipped)."
        ),
    ],
    library: Annotated[str | None, typer.Option("--library", "-l", help="Library name.")] = None,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Library version (pins the index).")
    ] = None,
    embedder: Annotated[
        str, typer.Option(help="'minilm' (shipped), 'hashing[:DIM]' or a model directory.")
    ] = DEFAULT_EMBEDDER,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Skip malformed lines instead of failing.")
    ] = False,
    kind: Annotated[str, typer.Option(help=f"Vector index: {', '.join(KINDS)}.")] = "auto",
    inspect: Annotated[
        bool, typer.Option("--inspect", help="Python: import compiled modules to read them.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Read SOURCE into API records, embed them and store the index of LIBRARY@VERSION.

    Library and version default to the package metadata for Python packages and to the
    inventory for Sphinx sites; other sources need --library.
    """
    with user_errors():
        params = VectorIndexParams(kind=kind)
        store = _store(home)
        _print_build(
            _build(store, source, library, version, embedder, not skip_bad, params, inspect)
        )


@index_app.command("defaults")
def index_defaults(
    home: HomeOption = None,
    embedder: Annotated[str, typer.Option(help="Embedder for missing indexes.")] = DEFAULT_EMBEDDER,
) -> None:
    """Build every shipped corpus (corpora/apis) that has no index yet."""
    with user_errors():
        store = _store(home)
        for corpus in shipped_corpora():
            if corpus.version in store.versions(corpus.library):
                continue
            source = f"corpus:{corpus.ref}"
            _print_build(_build(store, source, None, None, embedder, True, VectorIndexParams()))
        out.print(f"indexes ready in {store.root}", highlight=False)


@index_app.command("refresh")
def index_refresh(
    ref: Annotated[str, typer.Argument(help="NAME (newest version) or NAME@VERSION.")],
    home: HomeOption = None,
) -> None:
    """Re-read an index's source; re-embed only records whose content changed.

    The old index stays in use until the new one is complete.
    """
    with user_errors():
        library, version = parse_ref(ref)
        store = _store(home)
        meta = IndexMeta.read(store.path(library, store.resolve(library, version)))
        if not meta.source:
            raise ConfigError(f"{meta.ref} records no source to refresh from; build it again")
        params = VectorIndexParams(kind="auto")
        _print_build(
            _build(store, meta.source, meta.library, meta.version, meta.embedder_spec, True, params)
        )


@index_app.command("list")
def index_list(json_output: JsonOption = False, home: HomeOption = None) -> None:
    """Show every library@version with its record count, source, embedder and build date."""
    with user_errors():
        entries = _store(home).entries()
        if json_output:
            rows = [
                {"library": e.library, "version": e.version, "path": str(e.path)}
                | ({"problem": e.problem} if e.problem else {})
                | (asdict(e.meta) if e.meta else {})
                for e in entries
            ]
            for row in rows:
                row.pop("files", None)
            print(json.dumps(rows, indent=2))
            return
        table = Table("library", "version", "records", "embedder", "built", "source")
        for e in entries:
            if e.meta is None:
                table.add_row(e.library, e.version, "-", "-", "-", f"[red]{e.problem}[/]")
            else:
                m = e.meta
                table.add_row(
                    m.library, m.version, str(m.record_count), m.embedder, m.built_at, m.source
                )
        out.print(table if entries else "no indexes yet: run `apipilot index defaults`")


@index_app.command("remove")
def index_remove(
    ref: Annotated[str, typer.Argument(help="NAME (every version) or NAME@VERSION.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    home: HomeOption = None,
) -> None:
    """Remove an index (one version, or every version of a library)."""
    with user_errors():
        library, version = parse_ref(ref)
        store = _store(home)
        targets = [f"{library}@{store.resolve(library, version)}"] if version else None
        if targets is None:
            store.resolve(library)  # raises with the known libraries if there is none
            targets = [f"{library}@{v}" for v in store.versions(library)]
        if not yes and not typer.confirm(f"remove {', '.join(targets)}?", err=True):
            raise typer.Exit(1)
        for removed in store.remove(library, version):
            out.print(f"removed {removed}", highlight=False)


def _hit_row(hit: Any) -> dict[str, Any]:
    r = hit.record
    return {
        "id": r.id,
        "name": r.name,
        "qualified_name": r.qualified_name,
        "signature": r.signature,
        "summary": r.summary,
        "score": round(hit.score, 6),
    }


@app.command("search")
def search(
    library: Annotated[str, typer.Argument(help="Library name (see `apipilot index list`).")],
    query: Annotated[str, typer.Argument(help="What you want to do, in words.")],
    k: Annotated[int, typer.Option("-k", help="How many APIs to return.", min=1, max=200)] = 10,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Library version (default: newest).")
    ] = None,
    mode: Annotated[str, typer.Option(help=f"Retrieval: {', '.join(MODES)}.")] = "fused",
    json_output: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Retrieve the APIs of LIBRARY that best match QUERY (no LM involved)."""
    with user_errors():
        if not query.strip():
            raise ConfigError("the query is empty: say what you want to do")
        index = _store(home).open(library, version)
        hits = index.search(query, k, mode=mode)
        if json_output:
            print(json.dumps([_hit_row(h) for h in hits], indent=2, ensure_ascii=False))
            return
        table = Table("#", "api", "signature", "summary", "score", title=index.meta.ref)
        for rank, hit in enumerate(hits, start=1):
            r = hit.record
            table.add_row(str(rank), r.name, r.signature[:60], r.summary[:80], f"{hit.score:.3f}")
        out.print(table)


@app.command("ask")
def ask(
    requirement: Annotated[str, typer.Argument(help="What you want to do, in words.")],
    library: Annotated[str, typer.Option("--library", "-l", help="Library name.")] = (
        DEFAULT_LIBRARY
    ),
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Library version (default: newest).")
    ] = None,
    k: Annotated[int, typer.Option("-k", help="APIs in the answer.", min=1, max=100)] = 10,
    code: Annotated[bool, typer.Option("--code", help="Also write code that uses them.")] = False,
    rerank: Annotated[bool, typer.Option(help="Rerank candidates with the LM.")] = True,
    llm: Annotated[
        str | None,
        typer.Option(
            help="LM: embedded (default; with the decomposer adapter when present), "
            "embedded-base, hf:DIR, gguf:FILE, openai:URL[#model], or none. "
            "Default: $APIPILOT_LLM or embedded."
        ),
    ] = None,
    reranker: Annotated[
        str | None,
        typer.Option(
            help="Cross-encoder that reorders each subtask's candidates: minilm-ce, an adapter "
            "directory, or none (the LM reranks). Default: $APIPILOT_RERANKER or none."
        ),
    ] = None,
    json_output: JsonOption = False,
    home: HomeOption = None,
) -> None:
    """Decompose REQUIREMENT into subtasks and recommend the APIs of LIBRARY for each."""
    with user_errors():
        from apipilot.agents.recommend import stream_recommend

        result: dict[str, Any] = {}
        steps = stream_recommend(
            requirement,
            library,
            version,
            k=k,
            write_code=code,
            rerank=rerank,
            llm=llm,
            reranker=reranker,
            store=_store(home),
        )
        with err.status("thinking…", spinner="dots") as status:
            for step, update in steps:
                if step == "result":
                    result = update
                else:
                    status.update(f"{step} done…")
        if json_output:
            print(json.dumps(result, indent=2, ensure_ascii=False))
            return
        _print_answer(result)


def _print_answer(result: dict[str, Any]) -> None:
    out.print(
        f"[bold]{result['library']}@{result['version']}[/] — {result['requirement']}\n",
        highlight=False,
    )
    for i, subtask in enumerate(result["subtasks"], start=1):
        out.print(f"{i}. {subtask['text']}  →  {', '.join(subtask['apis'])}", highlight=False)
    out.print("\n[bold]Recommended APIs[/]")
    for rank, api in enumerate(result["apis"], start=1):
        out.print(f"{rank:>2}. [bold]{api['qualified_name'] or api['name']}[/]", highlight=False)
        out.print(f"    {api['summary']}", highlight=False, markup=False)
        if api["signature"]:
            out.print(f"    signature: {api['signature']}", highlight=False, markup=False)
        if api["source"]:
            out.print(f"    source: {api['source']}", highlight=False, markup=False)
    if result["code"]:
        out.print("\n[bold]Code[/]")
        out.print(result["code"], markup=False, highlight=False)
    if result["unknown_apis"]:
        out.print(f"[yellow]not in the index:[/] {', '.join(result['unknown_apis'])}")
    paths = ", ".join(f"{step}: {path}" for step, path in result["paths"].items())
    out.print(f"\n[dim]{paths}; {result['timings'].get('total', 0):.1f} s[/]")


@app.command("app")
def run_app(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 7860,
    library: Annotated[str, typer.Option(help="Library shown first.")] = DEFAULT_LIBRARY,
    home: HomeOption = None,
) -> None:
    """Start the web app (Gradio) on HOST:PORT."""
    with user_errors():
        from apipilot.ui.web import build_app

        build_app(_store(home), default_library=library).launch(
            server_name=host, server_port=port, show_error=True
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
