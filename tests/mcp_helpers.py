"""Start ``apipilot mcp`` as a subprocess for the MCP tests (stdio, or HTTP on a free port)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp import StdioServerParameters
from mcp.types import CallToolResult

from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import HashingEmbedder
from tests.conftest import DEMO, make_record

SERVER = [sys.executable, "-c", "from apipilot.ui.cli import main; main()", "mcp"]
ENV = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
_URL = re.compile(r"apipilot MCP server on (http://\S+)")


def build_demo_home(home: Path) -> Path:
    records = [make_record(name, summary) for name, summary in DEMO]
    IndexStore(home).build(
        records,
        library="demo",
        version="1.0",
        embedder=HashingEmbedder(64),
        embedder_spec="hashing:64",
    )
    return home


def stdio_params(home: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=SERVER[0],
        args=[*SERVER[1:], "--home", str(home), "--llm", "none", *extra],
        env=ENV,
    )


@contextmanager
def http_server(home: Path, *extra: str, timeout: float = 60.0) -> Iterator[str]:
    """Run ``apipilot mcp --http --port 0`` and yield its URL once it listens."""
    command = [*SERVER, "--http", "--port", "0", "--home", str(home), "--llm", "none", *extra]
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env=os.environ | ENV, stdin=subprocess.DEVNULL
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + timeout
        url = ""
        while not url and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                raise RuntimeError(f"the MCP server exited with status {process.returncode}")
            if match := _URL.search(line):
                url = match.group(1)
        if not url:
            raise TimeoutError("the MCP server did not start listening in time")
        # keep reading so that server logging can never fill the pipe and block it
        threading.Thread(target=process.stderr.read, daemon=True).start()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def text(result: CallToolResult) -> str:
    """The text answer of a tool call."""
    block = result.content[0]
    assert block.type == "text"
    return block.text


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured answer of a successful tool call, checked to be plain JSON."""
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    data: dict[str, Any] = json.loads(json.dumps(result.structured_content))
    return data
