"""Issue 17 item 6: over-long inputs are refused once, in the public API, with a short message;
the CLI and the MCP server inherit it and the MCP answers keep their token budget."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest
from mcp import Client
from typer.testing import CliRunner

import apipilot
from apipilot.ui.cli import app
from apipilot.ui.mcp_budget import fit
from apipilot.ui.mcp_server import ServerOptions, create_server
from tests.mcp_helpers import build_demo_home

ECHO_LIMIT = 400  # an error message may hold ~200 characters of the input plus its own words
MB = 1_000_000


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_home(tmp_path_factory.mktemp("caps") / "home")


def refused(call: object) -> str:
    assert callable(call)
    with pytest.raises(apipilot.InputTooLong) as info:
        call()
    message = str(info.value)
    assert len(message) < ECHO_LIMIT, message
    return message


def test_caps_are_published() -> None:
    assert apipilot.LIMITS["query"] == 2000 and apipilot.LIMITS["requirement"] == 2000
    assert apipilot.LIMITS["name"] == 200


def test_a_query_over_the_cap_is_refused_with_a_short_message(home: Path) -> None:
    assert apipilot.search("demo", "q" * 2000, k=1, home=home).results  # at the cap: fine
    message = refused(lambda: apipilot.search("demo", "q" * 2001, home=home))
    assert "query is 2001 characters; at most 2000" in message


def test_a_200kb_library_name_is_not_echoed(home: Path) -> None:
    message = refused(lambda: apipilot.search("L" * 200_000, "shuffle", home=home))
    assert "library name is 200000 characters; at most 200" in message
    refused(lambda: apipilot.get_api("demo", "n" * 200_000, home=home))
    refused(lambda: apipilot.search("demo", "shuffle", version="9" * 1000, home=home))


def test_recommend_and_build_are_capped(home: Path, tmp_path: Path) -> None:
    options = apipilot.RecommendOptions(llm="none")
    refused(lambda: apipilot.recommend("r" * 2001, "demo", options=options, home=home))
    too_long_spec = apipilot.RecommendOptions(llm="hf:" + "m" * 10_000)
    refused(lambda: apipilot.recommend("shuffle", "demo", options=too_long_spec, home=home))
    refused(lambda: apipilot.build_index("s" * 5000, "lib", "1", home=tmp_path))
    refused(lambda: apipilot.build_index("x.jsonl", "l" * 201, "1", home=tmp_path))


def test_an_unknown_lm_spec_is_echoed_short() -> None:
    with pytest.raises(apipilot.LMSpecError) as info:
        apipilot.check_lm_spec("magic:" + "x" * 100_000)
    assert len(str(info.value)) < 600  # the accepted forms take most of it


def test_the_cli_refuses_a_120kb_search_at_once(home: Path) -> None:
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["search", "demo", "q" * 120_000, "--home", str(home)])
    assert time.perf_counter() - start < 5
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "at most 2000" in result.output and len(result.output) < ECHO_LIMIT


def call_tool(home: Path, name: str, arguments: dict[str, object]) -> tuple[bool, str]:
    async def run() -> tuple[bool, str]:
        server = create_server(ServerOptions(home=home, llm="none"))
        async with Client(server) as client:
            result = await client.call_tool(name, arguments)
        block = result.content[0]
        assert block.type == "text"
        return result.is_error, block.text

    return anyio.run(run)


def test_a_1mb_search_docs_query_is_refused_with_a_small_answer(home: Path) -> None:
    is_error, text = call_tool(home, "search_docs", {"library": "demo", "query": "q" * MB})
    assert is_error and "at most 2000" in text
    assert len(text) < ECHO_LIMIT


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("query-docs", {"libraryId": "/demo", "query": "q" * MB}),
        ("get_api", {"library": "demo", "name": "n" * MB}),
        ("search_docs", {"library": "L" * MB, "query": "shuffle"}),
        ("recommend_apis", {"library": "demo", "requirement": "r" * MB}),
        ("resolve-library-id", {"libraryName": "demo" + "z" * MB}),  # would match demo
    ],
)
def test_every_tool_answers_a_1mb_argument_briefly(
    home: Path, tool: str, arguments: dict[str, object]
) -> None:
    is_error, text = call_tool(home, tool, arguments)
    assert is_error and len(text) < 2000, text[:500]


def test_a_query_at_the_cap_keeps_the_token_budget(home: Path) -> None:
    is_error, text = call_tool(
        home, "search_docs", {"library": "demo", "query": "q" * 2000, "max_tokens": 200}
    )
    assert not is_error and len(text) <= 200 * 4


def test_fit_cuts_a_header_longer_than_the_budget() -> None:
    fitted = fit("h" * 100_000, ["block"], 200)
    assert fitted.tokens <= 200 and fitted.text.startswith("hhh")
