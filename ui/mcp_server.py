"""apipilot as an MCP server: recommend, search and look up a library's APIs from an IDE agent.

Tools (read-only unless noted): ``recommend_apis``, ``search_docs``, ``get_api``,
``list_libraries``, the Context7-compatible ``resolve-library-id``, ``query-docs`` and legacy
``get-library-docs`` (library ids ``/org/project``, ``/org/project/version``, ``/name`` or
``/name/version``; see ``ui.mcp_context7``), and ``build_index`` (writes; only with
``allow_write``).

Each result has a text answer cut to a token budget (``max_tokens``, default 2000, estimated as
characters / 4; see ``ui.mcp_budget``) and structured content holding the same items. Every
answer names the ``library@version`` that produced it. Expected failures (unknown library or
API, bad arguments) come back as tool errors whose message says what would be valid; argument
validation failures too, rewritten by ``ui.mcp_arguments`` instead of pydantic's dump.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

import apipilot
from apipilot import ApipilotError, IndexNotFound
from apipilot.errors import echo
from apipilot.ui.mcp_arguments import argument_error
from apipilot.ui.mcp_budget import DEFAULT_MAX_TOKENS, clamp_budget, fit
from apipilot.ui.mcp_context7 import ID_SHAPES, org_id, parse_library_id, shape_hint
from apipilot.ui.mcp_models import (
    ApiResult,
    BuildResult,
    LibrariesResult,
    QueryDocsResult,
    RecommendResult,
    ResolveResult,
    SearchResult,
)
from apipilot.ui.warmup import Warmup

logger = logging.getLogger(__name__)

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
WRITES = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
INSTRUCTIONS = (
    "apipilot recommends the APIs of a Python library for a task. Call list_libraries (or "
    "resolve-library-id) to see which libraries and versions are indexed; recommend_apis for a "
    "multi-step requirement; search_docs or query-docs to find APIs by what they do; get_api "
    "for one API's full documentation. Every answer names the library@version it came from."
)

Library = Annotated[str, Field(description="Library name, e.g. 'torchdata' (see list_libraries).")]
Version = Annotated[
    str | None, Field(description="Library version, e.g. '0.7.1'; default: the newest indexed.")
]
OptionalLibrary = Annotated[
    str | None,
    Field(
        description="Library name, e.g. 'torchdata' (see list_libraries); default: every "
        "library of `libraries`, else of the indexed project the server runs in."
    ),
]
Libraries = Annotated[
    list[str] | None,
    Field(
        description="Several libraries (name or name@version) to answer from together; each "
        "subtask is answered by the library that fits it best.",
        max_length=20,
    ),
]
MAX_LIBRARY_ID_CHARS = 3 * (apipilot.LIMITS["name"] + 1)  # /org/project/version
LEGACY_DEFAULT_TOKENS = 5000  # Context7 v1's get-library-docs default
MaxTokens = Annotated[
    int | None,
    Field(
        description=f"Token budget of the text answer (estimated as characters / 4; default "
        f"{DEFAULT_MAX_TOKENS}, 200 to 50000). Answers say when they were truncated."
    ),
]
Query = Annotated[
    str,
    Field(
        description=f"What you want to do, in words (at most {apipilot.LIMITS['query']} "
        "characters).",
        min_length=1,
    ),
]


@dataclass(frozen=True)
class ServerOptions:
    """How the server was started: index directory, LM spec, whether writes are allowed, and
    what ``build_index`` may read (``policy``: by default the current directory and the user's
    documents, shipped embedders only, no replacing an existing index)."""

    home: Path | None = None
    llm: str | None = None  # None: $APIPILOT_LLM or the embedded model; "none": no LM
    allow_write: bool = False
    policy: apipilot.SourcePolicy = field(default_factory=apipilot.SourcePolicy.default)
    # loads the indexes, embedder and LM in the background; tools that need them wait for it
    warmup: Warmup | None = None


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn apipilot errors into MCP tool errors with an actionable message; never crash."""
    try:
        yield
    except ToolError:
        raise
    except IndexNotFound as exc:
        raise ToolError(f"{exc} (list_libraries shows every library and version)") from None
    except ApipilotError as exc:
        raise ToolError(str(exc)) from None
    except Exception as exc:
        logger.exception("tool failed")
        raise ToolError(
            f"internal error ({type(exc).__name__}: {echo(str(exc))}); see the server log"
        ) from None


def answer(text: str, schema: type[BaseModel], data: dict[str, Any]) -> CallToolResult:
    """A result with ``text`` for the model and ``data`` (checked against ``schema``)."""
    structured = schema.model_validate(data).model_dump(mode="json")
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured
    )


def runs_local_lm(llm: str | None) -> bool:
    """Whether ``llm`` (or ``$APIPILOT_LLM`` when None) names a model loaded in this process."""
    spec = llm if llm is not None else os.environ.get(apipilot.LM_ENV_VAR, "")
    return apipilot.lm_runs_in_process(spec)


def _hit_block(hit: dict[str, Any], with_doc: bool = False, with_ref: bool = False) -> str:
    name = hit["qualified_name"] or hit["name"]
    signature = hit["signature"]
    head = f"{hit['rank']}. {hit['name']}{signature if signature.startswith('(') else ''}"
    kind = f" [{hit['kind']}]" if hit.get("kind") else ""
    where = f" ({hit['library']}@{hit['version']})" if with_ref else ""
    lines = [f"{head} — {name}{kind}{where}"]
    if signature and not signature.startswith("("):
        lines.append(f"   signature: {signature}")
    text = (hit.get("doc") if with_doc else None) or hit["summary"]
    if text:
        lines.append("   " + text.replace("\n", "\n   "))
    if hit["source"]:
        lines.append(f"   source: {hit['source']}")
    evidence = hit.get("evidence")
    if evidence:  # the guide section (with its code) or the passage that matched
        label = f'guide "{evidence["title"]}"' if evidence["kind"] == "guide" else "matched"
        lines.append(f"   {label}: " + evidence["text"].replace("\n", "\n   "))
        for code in evidence.get("code", []):
            lines.append("   ```python\n   " + code.replace("\n", "\n   ") + "\n   ```")
        if evidence["kind"] == "guide" and evidence["source"]:
            lines.append(f"   guide source: {evidence['source']}")
    return "\n".join(lines)


def _library_block(library: dict[str, Any]) -> str:
    lines = [f"- {library['library']} — id {library['id']} (newest {library['latest']})"]
    for v in library["versions"]:
        if v.get("problem"):
            lines.append(f"  - {v['version']} ({v['id']}): unusable: {v['problem']}")
        else:
            lines.append(
                f"  - {v['version']} ({v['id']}): {v['records']} APIs, embedder {v['embedder']}, "
                f"built {v['built_at']}, source {v['source'] or '-'}"
            )
    return "\n".join(lines)


IdShape = Literal["name", "org"]


def _libraries_with_ids(home: Path | None, shape: IdShape = "name") -> list[dict[str, Any]]:
    """Every library as a dict, with the ids of it and of its versions in both shapes:
    ``org_id`` always, and ``id`` in ``shape`` (/name[/version] or /org/project[/version])."""
    libraries = []
    for library in apipilot.list_libraries(home):
        item = library.to_dict()
        name = item["library"]
        newest: dict[str, Any] = next(
            (v for v in item["versions"] if v["version"] == item["latest"]), {}
        )
        org = org_id(name, newest.get("source"))
        versions = []
        for v in item["versions"]:
            by_org = org_id(name, v.get("source"), v["version"])
            by_name = f"/{name}/{v['version']}"
            versions.append(v | {"id": by_org if shape == "org" else by_name, "org_id": by_org})
        own = org if shape == "org" else f"/{name}"
        libraries.append(item | {"id": own, "org_id": org, "versions": versions})
    return libraries


def _known_versions(home: Path | None) -> dict[str, list[str]]:
    """Every indexed library's built versions."""
    return {lib.library: [v.version for v in lib.versions] for lib in apipilot.list_libraries(home)}


class ApipilotTools:
    """The tool bodies; the MCP SDK runs these synchronous methods on worker threads."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options

    # ---- read-only tools -------------------------------------------------------------------

    def recommend_apis(
        self,
        requirement: Annotated[
            str,
            Field(
                description="What you want to build, in words (may need several APIs).",
                min_length=1,
                max_length=apipilot.LIMITS["requirement"],
            ),
        ],
        library: OptionalLibrary = None,
        version: Version = None,
        k: Annotated[int, Field(description="APIs in the answer.", ge=1, le=100)] = 10,
        max_tokens: MaxTokens = None,
        libraries: Libraries = None,
    ) -> Annotated[CallToolResult, RecommendResult]:
        """Recommend the APIs of a library for a requirement: the agent splits it into subtasks,
        retrieves candidates for each and the whole requirement, and merges them so each
        subtask's best APIs are kept (an LM reranks only when the server runs with one and
        reranking is asked for). Answers with the subtasks, the APIs
        (signature, summary, source, library and version) and the library@version that
        answered. Without a library, every library of `libraries` (or of the indexed project
        the server runs in) is searched and each subtask goes to the library that fits it."""
        with tool_errors():
            result = self._recommend(requirement, library, version, k, libraries).to_dict()
            budget = clamp_budget(max_tokens)
            subtasks = "\n".join(
                f"{i}. {s['text']} → {', '.join(s['apis']) or '(no API)'}"
                for i, s in enumerate(result["subtasks"], start=1)
            )
            several = "," in result["library"]  # each API says which library it is from
            api_blocks = [
                _hit_block(a | {"rank": rank}, with_ref=several)
                for rank, a in enumerate(result["apis"], start=1)
            ]
            if api_blocks:
                api_blocks[0] = "Recommended APIs, best first:\n" + api_blocks[0]
            blocks = [f"Subtasks:\n{subtasks or '(none)'}", *api_blocks]
            if result["code"]:
                blocks.append(f"Code:\n```python\n{result['code']}\n```")
            paths = ", ".join(f"{step}: {path}" for step, path in result["paths"].items())
            header = (
                f"{result['library']}@{result['version']} — APIs for: {result['requirement']}"
                + (f"\n(agent steps: {paths})" if paths else "")
            )
            fitted = fit(header, blocks, budget, unit="blocks")
            shown_apis = max(0, min(len(result["apis"]), fitted.shown - 1))
            code_shown = (
                bool(result["code"]) and fitted.shown == len(blocks) and not fitted.truncated
            )
            data = result | {
                "apis": result["apis"][:shown_apis],
                "total": len(result["apis"]),
                "code": result["code"] if code_shown else "",
                "truncated": fitted.truncated,
                "tokens": fitted.tokens,
            }
            return answer(fitted.text, RecommendResult, data)

    def _recommend(
        self,
        requirement: str,
        library: str | None,
        version: str | None,
        k: int,
        libraries: list[str] | None = None,
    ) -> apipilot.Recommendation:
        llm = self.options.llm
        options = apipilot.RecommendOptions(k=k, llm=llm)
        # Requests run in parallel: a model in this process is shared through one queue that
        # serves older requests first and batches calls off a CPU (agents.lm.shared).
        return apipilot.recommend(
            requirement,
            library,
            version,
            options=options,
            home=self.options.home,
            libraries=libraries,
        )

    def search_docs(
        self,
        library: Library,
        query: Query,
        version: Version = None,
        limit: Annotated[int, Field(description="Most APIs to return.", ge=1, le=100)] = 10,
        max_tokens: MaxTokens = None,
    ) -> Annotated[CallToolResult, SearchResult]:
        """Find the APIs of a library that match a query (dense + BM25 retrieval, no LM):
        name, signature, summary and source of each, best first."""
        with tool_errors():
            found = apipilot.search(
                library, query, version=version, k=limit, home=self.options.home
            ).to_dict()
            header = (
                f"{found['library']}@{found['version']} — {len(found['results'])} APIs for "
                f"{echo(found['query'])}"
            )
            fitted = fit(
                header, [_hit_block(h) for h in found["results"]], clamp_budget(max_tokens)
            )
            data = found | {
                "results": found["results"][: fitted.shown],
                "total": len(found["results"]),
                "truncated": fitted.truncated,
                "tokens": fitted.tokens,
            }
            return answer(fitted.text, SearchResult, data)

    def get_api(
        self,
        library: Library,
        name: Annotated[
            str,
            Field(
                description="The API's name, qualified name, alias or id (case-insensitive).",
                min_length=1,
            ),
        ],
        version: Version = None,
        max_tokens: MaxTokens = None,
    ) -> Annotated[CallToolResult, ApiResult]:
        """One API's full record: signature, aliases, documentation, examples and source."""
        with tool_errors():
            found = apipilot.get_api(
                library, name, version=version, home=self.options.home
            ).to_dict()
            record = found["api"]
            lines = [
                f"{found['library']}@{found['version']} — "
                f"{record['qualified_name'] or record['name']} ({record['kind']})"
            ]
            if record["signature"]:
                lines.append(f"signature: {record['signature']}")
            if record["aliases"]:
                lines.append(f"aliases: {', '.join(record['aliases'])}")
            if record["source"]:
                lines.append(f"source: {record['source']}")
            if found["also"]:
                lines.append(f"also named {echo(name)}: {', '.join(found['also'])}")
            doc = record["doc"] or record["summary"] or "(no documentation)"
            examples = [f"Example:\n```python\n{e}\n```" for e in record["examples"]]
            fitted = fit("\n".join(lines), [doc, *examples], clamp_budget(max_tokens), unit="parts")
            detail = record | {
                "doc": fitted.kept[0] if record["doc"] else "",
                "examples": record["examples"][: max(0, fitted.shown - 1)],
            }
            data = found | {"api": detail, "truncated": fitted.truncated, "tokens": fitted.tokens}
            return answer(fitted.text, ApiResult, data)

    def list_libraries(
        self, max_tokens: MaxTokens = None
    ) -> Annotated[CallToolResult, LibrariesResult]:
        """Every indexed library with its versions, API counts and build information
        (embedder, build date, documentation source), and its Context7-style ids."""
        with tool_errors():
            libraries = _libraries_with_ids(self.options.home)
            header = (
                f"{len(libraries)} indexed libraries"
                if libraries
                else "no indexes yet: run `apipilot index defaults` or `apipilot index build`"
            )
            return _libraries_answer(header, libraries, max_tokens, LibrariesResult)

    def resolve_library_id(
        self,
        libraryName: Annotated[
            str,
            Field(
                description="Library name to look up.",
                min_length=1,
                max_length=apipilot.LIMITS["name"],
            ),
        ],
        query: Annotated[
            str | None, Field(description="The task, for context (accepted, not needed).")
        ] = None,
        idShape: Annotated[
            IdShape,
            Field(
                description="'name': ids /name and /name/version (default); 'org': Context7's "
                "/org/project and /org/project/version (org from the index's repository URL, "
                "else the library name)."
            ),
        ] = "name",
        max_tokens: MaxTokens = None,
    ) -> Annotated[CallToolResult, ResolveResult]:
        """Context7-compatible: turn a library name into library ids (/name for the newest
        version, /name/version for one version; /org/project[/version] with idShape='org')
        to pass to query-docs. Every id shape is accepted by query-docs and get-library-docs."""
        with tool_errors():
            libraries = _libraries_with_ids(self.options.home, idShape)
            matches = _match_libraries(libraryName, libraries)
            if not matches:
                known = ", ".join(lib["library"] for lib in libraries) or "none yet"
                raise ToolError(f"no indexed library matches {echo(libraryName)}; known: {known}")
            header = f"Libraries matching {echo(libraryName)} (pass an id to query-docs):"
            return _libraries_answer(
                header, matches, max_tokens, ResolveResult, library_name=libraryName
            )

    def query_docs(
        self,
        libraryId: Annotated[
            str,
            Field(
                description=f"Library id from resolve-library-id: {ID_SHAPES}, e.g. "
                "/pandas-dev/pandas or /pandas-dev/pandas/2.2.2.",
                min_length=1,
                max_length=MAX_LIBRARY_ID_CHARS,
            ),
        ],
        query: Query,
        limit: Annotated[int, Field(description="Most APIs to return.", ge=1, le=50)] = 8,
        max_tokens: MaxTokens = None,
        tokens: Annotated[
            int | None, Field(description="Same as max_tokens (the Context7 v1 name).")
        ] = None,
    ) -> Annotated[CallToolResult, QueryDocsResult]:
        """Context7-compatible: documentation of the APIs of a library that match a query,
        with doc excerpts."""
        with tool_errors():
            budget = max_tokens if max_tokens is not None else tokens
            return self._docs(libraryId, query, limit, budget)

    def get_library_docs(
        self,
        context7CompatibleLibraryID: Annotated[
            str,
            Field(
                description=f"Library id from resolve-library-id: {ID_SHAPES}, e.g. "
                "/pandas-dev/pandas or /pandas-dev/pandas/2.2.2.",
                min_length=1,
                max_length=MAX_LIBRARY_ID_CHARS,
            ),
        ],
        topic: Annotated[
            str | None,
            Field(
                description="Topic to focus the documentation on (e.g. 'read csv', "
                "'groupby'); default: the library's best-matching APIs for its name.",
                max_length=apipilot.LIMITS["query"],
            ),
        ] = None,
        tokens: Annotated[
            int | None,
            Field(
                description=f"Token budget of the answer (default {LEGACY_DEFAULT_TOKENS}; "
                "clamped to 200 to 50000)."
            ),
        ] = None,
        page: Annotated[
            int, Field(description="Page of results, for more of them (1 to 10).", ge=1, le=10)
        ] = 1,
    ) -> Annotated[CallToolResult, QueryDocsResult]:
        """Context7-compatible (v1 clients): documentation of a library's APIs, focused on a
        topic, cut to a token budget. Newer clients call query-docs."""
        with tool_errors():
            library = context7CompatibleLibraryID
            budget = clamp_budget(LEGACY_DEFAULT_TOKENS if tokens is None else tokens)
            limit = max(5, min(50, budget // 200))
            return self._docs(library, (topic or "").strip(), limit, budget, page)

    def _docs(
        self, library_id: str, query: str, limit: int, max_tokens: int | None, page: int = 1
    ) -> CallToolResult:
        """Documentation excerpts of the APIs of ``library_id`` that match ``query`` (the
        library's name when empty); ``page`` skips the ``limit`` results of earlier pages."""
        library, version = parse_library_id(library_id, _known_versions(self.options.home))
        found = apipilot.search(
            library,
            query or library,
            version=version,
            k=min(limit * page, apipilot.LIMITS["k"]),
            with_doc=True,
            home=self.options.home,
        ).to_dict()
        found["results"] = found["results"][limit * (page - 1) :]
        hits = [{"doc": None} | hit for hit in found["results"]]
        header = (
            f"{found['library']}@{found['version']} documentation for "
            f"{echo(found['query'])} ({len(hits)} APIs)"
        )
        blocks = [_hit_block(h, with_doc=True) for h in hits]
        fitted = fit(header, blocks, clamp_budget(max_tokens))
        data = found | {
            "results": hits[: fitted.shown],
            "library_id": f"/{found['library']}/{found['version']}",
            "total": len(hits),
            "truncated": fitted.truncated,
            "tokens": fitted.tokens,
        }
        return answer(fitted.text, QueryDocsResult, data)

    # ---- write tool (only with --allow-write) ---------------------------------------------

    def build_index(
        self,
        source: Annotated[
            str | list[Annotated[str, Field(min_length=1)]],
            Field(
                description="A source, or a list of sources read into one library@version "
                "(reference docs and guides together): a JSONL file or docs folder on the "
                "server's disk under a folder the server allows, corpus:NAME@VERSION "
                "(shipped), or pkg:NAME, an allowed URL or sdist:NAME when the server allows "
                "them.",
                min_length=1,
            ),
        ],
        library: Annotated[str | None, Field(description="Library name.")] = None,
        version: Annotated[str | None, Field(description="Library version.")] = None,
        embedder: Annotated[
            str,
            Field(
                description=(
                    "'minilm' (shipped), 'minilm-ft', 'minilm-api', 'e5-small' or 'hashing[:DIM]'."
                )
            ),
        ] = "minilm",
    ) -> Annotated[CallToolResult, BuildResult]:
        """Build the index of library@version from one documentation source or several (each
        must be allowed by the server). An existing index is replaced only if the server allows
        it (--allow-replace)."""
        with tool_errors():
            built = apipilot.build_index(
                source,
                library,
                version,
                embedder=embedder,
                policy=self.options.policy,
                home=self.options.home,
            )
            return answer(built.summary, BuildResult, built.to_dict())


def _libraries_answer(
    header: str,
    libraries: list[dict[str, Any]],
    max_tokens: int | None,
    schema: type[BaseModel],
    **extra: Any,
) -> CallToolResult:
    """``libraries`` (with ids) as blocks under ``header``, as many as the budget holds."""
    blocks = [_library_block(lib) for lib in libraries]
    fitted = fit(header, blocks, clamp_budget(max_tokens), unit="libraries")
    data = extra | {
        "libraries": libraries[: fitted.shown],
        "total": len(libraries),
        "truncated": fitted.truncated,
        "tokens": fitted.tokens,
    }
    return answer(fitted.text, schema, data)


def _match_libraries(name: str, libraries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Libraries whose name equals, starts with, contains or closely resembles ``name``."""
    wanted = name.strip().lower().lstrip("/").split("/")[0]
    ranked: list[tuple[int, str, dict[str, Any]]] = []
    for lib in libraries:
        have = lib["library"].lower()
        if have == wanted:
            rank = 0
        elif have.startswith(wanted) or wanted.startswith(have):
            rank = 1
        elif wanted in have or have in wanted:
            rank = 2
        elif difflib.SequenceMatcher(None, wanted, have).ratio() >= 0.6:
            rank = 3
        else:
            continue
        ranked.append((rank, have, lib))
    return [lib for _, _, lib in sorted(ranked, key=lambda t: (t[0], t[1]))]


class ApipilotServer(MCPServer):
    """The SDK's server, with argument errors a model can act on and a helpful unknown-tool
    error (the SDK answers pydantic's validation dump and a bare "Unknown tool")."""

    def __init__(self, options: ServerOptions) -> None:
        super().__init__(
            "apipilot",
            version=apipilot.__version__,
            instructions=INSTRUCTIONS,
            log_level="WARNING",
        )
        self.options = options

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            tools = {tool.name: tool for tool in await self.list_tools()}
            if name not in tools:
                raise ToolError(
                    f"unknown tool {echo(name)}; tools: {', '.join(sorted(tools))}"
                ) from None
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            hint = shape_hint(_known_versions(self.options.home))
            message = argument_error(name, cause, arguments, tools[name].input_schema, hint)
            # keep the ValidationError as the cause: the SDK then logs field names only
            raise ToolError(message) from cause


# the tools that load an index, the embedder or the LM
NEEDS_WARMUP = frozenset(
    {"recommend_apis", "search_docs", "get_api", "query-docs", "get-library-docs"}
)


def after_warmup(warmup: Warmup, tool: Callable[..., Any]) -> Callable[..., Any]:
    """``tool``, waiting first for ``warmup`` to finish (so nothing is loaded twice); the same
    signature and annotations, which the SDK reads to describe the tool."""

    @functools.wraps(tool)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warmup.wait()
        return tool(*args, **kwargs)

    return wrapper


def create_server(options: ServerOptions | None = None) -> MCPServer:
    """An MCP server with apipilot's tools; ``build_index`` only when writes are allowed."""
    options = options or ServerOptions()
    tools = ApipilotTools(options)
    server = ApipilotServer(options)
    read_only: list[tuple[str, str, Callable[..., Any]]] = [
        ("recommend_apis", "Recommend APIs for a requirement", tools.recommend_apis),
        ("search_docs", "Search a library's APIs", tools.search_docs),
        ("get_api", "One API's documentation", tools.get_api),
        ("list_libraries", "Indexed libraries and versions", tools.list_libraries),
        ("resolve-library-id", "Resolve a library id", tools.resolve_library_id),
        ("query-docs", "Query a library's documentation", tools.query_docs),
        ("get-library-docs", "Get a library's documentation", tools.get_library_docs),
    ]
    for name, title, fn in read_only:
        if options.warmup is not None and name in NEEDS_WARMUP:
            fn = after_warmup(options.warmup, fn)
        server.add_tool(fn, name=name, title=title, annotations=READ_ONLY, structured_output=True)
    if options.allow_write:
        server.add_tool(
            tools.build_index,
            name="build_index",
            title="Build an index",
            annotations=WRITES,
            structured_output=True,
        )
    return server
