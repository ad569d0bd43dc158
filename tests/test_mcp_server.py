"""The MCP server through the SDK's real client: over stdio and over streamable HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import DEMO
from tests.mcp_helpers import build_demo_home, http_server, ok, stdio_params, text

READ_ONLY_TOOLS = {
    "recommend_apis",
    "search_docs",
    "get_api",
    "list_libraries",
    "resolve-library-id",
    "query-docs",
    "get-library-docs",
}
REQUIREMENT = "list the csv files in a folder, parse the rows and shuffle them"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_home(tmp_path_factory.mktemp("mcp") / "home")


@pytest.fixture(scope="module")
def http_url(home: Path) -> Iterator[str]:
    with http_server(home) as url:
        yield url


async def check_every_tool(client: Client) -> None:
    listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == READ_ONLY_TOOLS
    for tool in listed.values():
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.input_schema["type"] == "object"
    assert listed["search_docs"].input_schema["required"] == ["library", "query"]
    assert listed["query-docs"].input_schema["required"] == ["libraryId", "query"]

    libraries = ok(await client.call_tool("list_libraries", {}))
    assert libraries["libraries"][0]["library"] == "demo"
    assert libraries["libraries"][0]["versions"][0] | {"built_at": ""} == {
        "version": "1.0",
        "id": "/demo/1.0",
        "org_id": "/demo/demo/1.0",
        "records": 8,
        "embedder": "hashing-64",
        "built_at": "",
        "source": "",
        "problem": None,
    }

    found = ok(await client.call_tool("search_docs", {"library": "demo", "query": "shuffle"}))
    assert (found["library"], found["version"], found["truncated"]) == ("demo", "1.0", False)
    assert found["results"][0]["name"] == "shuffle"
    assert "demo@1.0" in text(
        await client.call_tool("search_docs", {"library": "demo", "query": "x"})
    )

    one = ok(await client.call_tool("get_api", {"library": "demo", "name": "demo.batch"}))
    assert (one["version"], one["api"]["name"], one["api"]["signature"]) == ("1.0", "batch", "(x)")

    resolved = ok(await client.call_tool("resolve-library-id", {"libraryName": "dem"}))
    assert [lib["id"] for lib in resolved["libraries"]] == ["/demo"]

    docs = ok(
        await client.call_tool("query-docs", {"libraryId": "/demo/1.0", "query": "parse csv rows"})
    )
    assert docs["library_id"] == "/demo/1.0" and docs["results"][0]["name"] == "parse_csv"
    assert docs["results"][0]["doc"]

    answer = ok(
        await client.call_tool(
            "recommend_apis", {"requirement": REQUIREMENT, "library": "demo", "k": 3}
        )
    )
    assert (answer["library"], answer["version"]) == ("demo", "1.0")
    assert answer["subtasks"] and len(answer["apis"]) == 3
    names = {api["name"] for api in answer["apis"]}
    assert names <= {name for name, _ in DEMO}
    assert "demo@1.0" in text(
        await client.call_tool("recommend_apis", {"requirement": REQUIREMENT, "library": "demo"})
    )


async def check_errors(client: Client) -> None:
    unknown = await client.call_tool("search_docs", {"library": "nosuchlib", "query": "shuffle"})
    assert unknown.is_error
    assert "nosuchlib" in text(unknown) and "known libraries: demo" in text(unknown)

    for name, args in [
        ("recommend_apis", {"requirement": REQUIREMENT, "library": "nosuchlib"}),
        ("get_api", {"library": "nosuchlib", "name": "shuffle"}),
        ("query-docs", {"libraryId": "/nosuchlib", "query": "shuffle"}),
    ]:
        result = await client.call_tool(name, args)
        assert result.is_error and "known libraries: demo" in text(result), name

    missing = await client.call_tool("get_api", {"library": "demo", "name": "shufle"})
    assert missing.is_error and "did you mean shuffle" in text(missing)
    bad_version = await client.call_tool(
        "search_docs", {"library": "demo", "query": "x", "version": "9.9"}
    )
    assert bad_version.is_error and "built versions: 1.0" in text(bad_version)
    bad_id = await client.call_tool("query-docs", {"libraryId": "/a/b/c", "query": "x"})
    assert bad_id.is_error and "/name/version" in text(bad_id)
    no_match = await client.call_tool("resolve-library-id", {"libraryName": "zzzzzz"})
    assert no_match.is_error and "known: demo" in text(no_match)
    empty = await client.call_tool("search_docs", {"library": "demo", "query": ""})
    assert empty.is_error
    write = await client.call_tool("build_index", {"source": "x.jsonl"})
    assert write.is_error  # not offered without --allow-write


async def check_budget(client: Client) -> None:
    args = {"library": "demo", "query": "elements", "limit": 8, "max_tokens": 200}
    result = await client.call_tool("search_docs", args)
    data = ok(result)
    assert data["truncated"] is True and data["total"] == 8
    assert 0 < len(data["results"]) < 8
    assert len(text(result)) <= 200 * 4 and "[truncated to about 200 tokens" in text(result)
    full = ok(await client.call_tool("search_docs", args | {"max_tokens": 5000}))
    assert full["truncated"] is False and len(full["results"]) == 8


def test_stdio_every_tool_errors_and_budget(home: Path) -> None:
    async def main() -> None:
        async with Client(stdio_params(home)) as client:
            await check_every_tool(client)
            await check_errors(client)
            await check_budget(client)

    anyio.run(main)


def test_stdio_build_index_needs_allow_write(tmp_path: Path, demo_records) -> None:
    home = build_demo_home(tmp_path / "home")
    docs = tmp_path / "more.jsonl"
    docs.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in demo_records))
    guide = tmp_path / "guide.md"
    guide.write_text("# Shuffling\n\nShuffle the elements of a pipe before batching them.\n\n"
                     "```python\nshuffle(pipe)\n```\n")  # fmt: skip

    async def main() -> None:
        async with Client(
            stdio_params(home, "--allow-write", "--allow-root", str(tmp_path))
        ) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(tools) == READ_ONLY_TOOLS | {"build_index"}
            annotations = tools["build_index"].annotations
            assert annotations is not None and annotations.read_only_hint is False
            args = {
                "source": str(docs),
                "library": "demo2",
                "version": "2.0",
                "embedder": "hashing:64",
            }
            built = ok(await client.call_tool("build_index", args))
            assert (built["library"], built["version"], built["records"]) == ("demo2", "2.0", 8)
            assert built["sources"] == [str(docs)]
            found = ok(
                await client.call_tool("search_docs", {"library": "demo2", "query": "batch"})
            )
            assert found["version"] == "2.0"
            bad = await client.call_tool("build_index", {"source": str(tmp_path / "none.jsonl")})
            assert bad.is_error and "none.jsonl" in text(bad)
            several = args | {"source": [str(docs), str(guide)], "library": "demo3"}
            both = ok(await client.call_tool("build_index", several))
            assert both["records"] == 9  # the 8 records and the guide, one library@version
            assert both["sources"] == [str(docs), str(guide)]
            outside = several | {"source": [str(docs), "/etc/hostname"], "library": "demo4"}
            refused = await client.call_tool("build_index", outside)
            assert refused.is_error and "/etc/hostname" in text(refused)

    anyio.run(main)


def test_http_every_tool_and_errors(http_url: str) -> None:
    async def main() -> None:
        async with Client(http_url) as client:
            await check_every_tool(client)
            await check_errors(client)

    anyio.run(main)


def test_http_concurrent_clients(http_url: str) -> None:
    results: list[dict[str, Any]] = []

    async def one(i: int) -> None:
        async with Client(http_url) as client:
            for query in ("shuffle", "batch", "parse csv"):
                args = {"library": "demo", "query": f"{query} {i}", "limit": 3}
                results.append(ok(await client.call_tool("search_docs", args)))

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for i in range(8):
                group.start_soon(one, i)

    anyio.run(main)
    assert len(results) == 24 and all(r["version"] == "1.0" for r in results)
