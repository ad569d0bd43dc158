"""Context7 clients, current and legacy, against the server through the SDK's real client.

The request shapes are those of upstash/context7's MCP server (packages/mcp/src/lib/tools.ts
for the current tools; src/index.ts of the v1 releases for the legacy ones):

- current: ``resolve-library-id {query, libraryName}`` (both required) and
  ``query-docs {libraryId, query}`` (both required);
- legacy (v1): ``resolve-library-id {libraryName}`` and ``get-library-docs
  {context7CompatibleLibraryID, topic?, tokens?}`` (``tokens`` a number, or a string that
  zod's preprocess turns into one; later v1 releases also sent ``mode`` and ``page``).

Ids come as ``/org/project`` or ``/org/project/version``, e.g. ``/vercel/next.js/v14.3.0``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import HashingEmbedder
from apipilot.ui.mcp_context7 import org_id, parse_library_id
from tests.conftest import make_record
from tests.mcp_helpers import build_demo_home, http_server, ok, stdio_params, text

PANDAS_SOURCE = "https://github.com/pandas-dev/pandas/tree/v2.2.2/doc"
PANDAS_APIS = [
    ("read_csv", "Read a comma-separated values (csv) file into DataFrame"),
    ("read_json", "Convert a JSON string to pandas object"),
    ("DataFrame.groupby", "Group DataFrame using a mapper or by a Series of columns"),
    ("DataFrame.merge", "Merge DataFrame or named Series objects with a database-style join"),
    ("DataFrame.to_csv", "Write object to a comma-separated values (csv) file"),
    ("concat", "Concatenate pandas objects along a particular axis"),
    ("DataFrame.pivot_table", "Create a spreadsheet-style pivot table as a DataFrame"),
    ("to_datetime", "Convert argument to datetime"),
    ("DataFrame.dropna", "Remove missing values"),
    ("DataFrame.fillna", "Fill NA/NaN values using the specified method"),
]
# Long documentation, so that a small token budget has something to cut.
FILLER = " This parameter controls how rows, columns and missing values are handled." * 12


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = build_demo_home(tmp_path_factory.mktemp("context7") / "home")
    records = []
    for name, summary in PANDAS_APIS:
        record = make_record(name, summary, library="pandas", version="2.2.2")
        records.append(replace(record, doc=summary + "." + FILLER))
    IndexStore(home).build(
        records,
        library="pandas",
        version="2.2.2",
        embedder=HashingEmbedder(64),
        embedder_spec="hashing:64",
        source=PANDAS_SOURCE,
    )
    return home


@pytest.fixture(scope="module")
def http_url(home: Path) -> Iterator[str]:
    with http_server(home) as url:
        yield url


def error(result: CallToolResult) -> str:
    assert result.is_error, text(result)
    message = text(result)
    assert "validation error" not in message and "pydantic" not in message, message
    return message


async def check_published_schemas(client: Client) -> None:
    tools = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
    assert {"resolve-library-id", "query-docs", "get-library-docs"} <= set(tools)
    resolve = tools["resolve-library-id"]
    assert resolve["required"] == ["libraryName"]
    assert {"libraryName", "query"} <= set(resolve["properties"])
    assert tools["query-docs"]["required"] == ["libraryId", "query"]
    legacy = tools["get-library-docs"]
    assert legacy["required"] == ["context7CompatibleLibraryID"]
    assert {"context7CompatibleLibraryID", "topic", "tokens"} <= set(legacy["properties"])


async def check_current_client(client: Client) -> None:
    # resolve-library-id as Context7's current client sends it
    resolved = ok(
        await client.call_tool(
            "resolve-library-id",
            {"query": "How do I read a CSV file into a DataFrame?", "libraryName": "pandas"},
        )
    )
    assert [lib["id"] for lib in resolved["libraries"]] == ["/pandas"]  # default shape kept
    assert resolved["libraries"][0]["org_id"] == "/pandas-dev/pandas"
    shaped = ok(
        await client.call_tool(
            "resolve-library-id", {"query": "read csv", "libraryName": "pandas", "idShape": "org"}
        )
    )
    pandas = shaped["libraries"][0]
    assert pandas["id"] == "/pandas-dev/pandas"
    assert pandas["versions"][0]["id"] == "/pandas-dev/pandas/2.2.2"
    # demo records no repository URL: its org id repeats the library name
    demo = ok(
        await client.call_tool("resolve-library-id", {"libraryName": "demo", "idShape": "org"})
    )
    assert demo["libraries"][0]["id"] == "/demo/demo"

    # query-docs with every id shape a Context7 client sends, and with our own ids
    query = "How to read a CSV file into a DataFrame with pandas"
    for library_id in (
        "/pandas-dev/pandas",
        "/pandas-dev/pandas/2.2.2",
        "/pandas-dev/pandas/v2.2.2",
        "/PANDAS-DEV/Pandas",
        "/pandas",
        "/pandas/2.2.2",
    ):
        docs = ok(await client.call_tool("query-docs", {"libraryId": library_id, "query": query}))
        assert (docs["library"], docs["version"]) == ("pandas", "2.2.2"), library_id
        assert docs["results"][0]["name"] == "read_csv", library_id
        assert docs["library_id"] == "/pandas/2.2.2"
    demo_docs = ok(
        await client.call_tool("query-docs", {"libraryId": "/demo/demo/1.0", "query": "csv rows"})
    )
    assert demo_docs["results"][0]["name"] == "parse_csv"


async def check_legacy_client(client: Client) -> None:
    resolved = ok(await client.call_tool("resolve-library-id", {"libraryName": "pandas"}))
    assert resolved["libraries"][0]["library"] == "pandas"

    args = {"context7CompatibleLibraryID": "/pandas-dev/pandas", "topic": "read csv"}
    small = await client.call_tool("get-library-docs", args | {"tokens": 500})
    data = ok(small)
    assert (data["library"], data["version"]) == ("pandas", "2.2.2")
    assert data["results"][0]["name"] == "read_csv"
    # asked for 500 tokens: at most 500 * 4 characters come back, and it says it cut
    assert len(text(small)) <= 500 * 4 and data["truncated"] is True
    assert "[truncated to about 500 tokens" in text(small)
    large = ok(await client.call_tool("get-library-docs", args | {"tokens": 20000}))
    assert large["truncated"] is False and len(large["results"]) > len(data["results"])

    # tokens as a string (zod's preprocess accepts it), no tokens (default 5000), v1 mode/page
    as_string = ok(await client.call_tool("get-library-docs", args | {"tokens": "500"}))
    assert as_string["tokens"] <= 500 and as_string["truncated"] is True
    default = ok(await client.call_tool("get-library-docs", args))
    assert default["tokens"] <= 5000 and len(default["results"]) > len(data["results"])
    versioned = ok(
        await client.call_tool(
            "get-library-docs",
            {
                "context7CompatibleLibraryID": "/pandas-dev/pandas/2.2.2",
                "topic": "group rows",
                "mode": "code",
                "page": 1,
            },
        )
    )
    assert versioned["results"][0]["name"] == "DataFrame.groupby"
    page_two = ok(await client.call_tool("get-library-docs", args | {"tokens": 1000, "page": 2}))
    assert page_two["results"] and page_two["results"][0]["name"] not in {
        r["name"] for r in data["results"][:1]
    }
    # below the 200-token floor: clamped, still an answer
    tiny = await client.call_tool("get-library-docs", args | {"tokens": 1})
    assert ok(tiny)["results"] and len(text(tiny)) <= 200 * 4
    # no topic: the library's APIs best matching its name
    assert ok(await client.call_tool("get-library-docs", {"context7CompatibleLibraryID": "/demo"}))[
        "results"
    ]


async def check_bad_arguments(client: Client) -> None:
    # v1 argument names sent to the current tool: named, with the tool that takes them
    mixed = error(
        await client.call_tool(
            "query-docs", {"context7CompatibleLibraryID": "/pandas-dev/pandas", "topic": "csv"}
        )
    )
    assert "libraryId is required" in mixed and "get-library-docs" in mixed
    assert "libraryId must look like /org/project or /org/project/version" in mixed
    assert "known libraries: demo" in mixed and "pandas" in mixed
    # current names sent to the legacy tool
    reverse = error(
        await client.call_tool(
            "get-library-docs", {"libraryId": "/pandas-dev/pandas", "query": "x"}
        )
    )
    assert "context7CompatibleLibraryID is required" in reverse and "query-docs" in reverse
    bad_tokens = error(
        await client.call_tool(
            "get-library-docs", {"context7CompatibleLibraryID": "/pandas", "tokens": "lots"}
        )
    )
    assert "tokens:" in bad_tokens and "'lots'" in bad_tokens
    unknown_org = error(
        await client.call_tool("query-docs", {"libraryId": "/vercel/next.js", "query": "routing"})
    )
    assert "no indexed library in libraryId '/vercel/next.js'" in unknown_org
    assert "/org/project" in unknown_org and "known libraries: demo" in unknown_org
    too_long = error(
        await client.call_tool("query-docs", {"libraryId": "/a/b/pandas/2.2.2", "query": "x"})
    )
    assert "bad libraryId" in too_long
    bad_version = error(
        await client.call_tool("query-docs", {"libraryId": "/pandas-dev/pandas/9.9", "query": "x"})
    )
    assert "built versions: 2.2.2" in bad_version
    huge = error(
        await client.call_tool(
            "get-library-docs", {"context7CompatibleLibraryID": "/" + "x" * 1_000_000}
        )
    )
    assert "context7CompatibleLibraryID:" in huge and len(huge) < 2000
    unknown_tool = error(await client.call_tool("get-library-doc", {}))
    assert "unknown tool 'get-library-doc'" in unknown_tool and "get-library-docs" in unknown_tool


def test_context7_clients_over_stdio(home: Path) -> None:
    async def main() -> None:
        async with Client(stdio_params(home)) as client:
            await check_published_schemas(client)
            await check_current_client(client)
            await check_legacy_client(client)
            await check_bad_arguments(client)

    anyio.run(main)


def test_context7_clients_over_http(http_url: str) -> None:
    async def main() -> None:
        async with Client(http_url) as client:
            await check_current_client(client)
            await check_legacy_client(client)
            await check_bad_arguments(client)

    anyio.run(main)


@pytest.mark.parametrize(
    ("library_id", "expected"),
    [
        ("/pandas-dev/pandas", ("pandas", None)),
        ("/pandas-dev/pandas/2.2.2", ("pandas", "2.2.2")),
        ("/pandas-dev/pandas/v2.2.2", ("pandas", "2.2.2")),
        ("/org/Scikit_Learn", ("scikit-learn", None)),
        ("/scikit-learn/scikit.learn/1.5", ("scikit-learn", "1.5")),
        ("/pandas", ("pandas", None)),
        ("/pandas/2.2.2", ("pandas", "2.2.2")),
        ("pandas@2.2.2", ("pandas", "2.2.2")),
        ("/nosuchlib", ("nosuchlib", None)),  # left to the usual "no index" error
        ("/pandas/9.9", ("pandas", "9.9")),  # left to the usual "built versions" error
    ],
)
def test_parse_library_id_shapes(library_id: str, expected: tuple[str, str | None]) -> None:
    versions = {"pandas": ["2.2.2"], "scikit-learn": ["1.5"]}
    assert parse_library_id(library_id, versions) == expected


def test_org_id_from_the_recorded_source() -> None:
    assert org_id("pandas", PANDAS_SOURCE) == "/pandas-dev/pandas"
    assert org_id("pandas", PANDAS_SOURCE, "2.2.2") == "/pandas-dev/pandas/2.2.2"
    # a repository whose project name differs keeps the library name, so the id maps back
    assert org_id("torchdata", "git@github.com:pytorch/data.git") == "/pytorch/torchdata"
    assert org_id("demo", "corpus:demo@1.0") == "/demo/demo"
    assert org_id("demo", "") == "/demo/demo"
