"""MCP server load test over streamable HTTP on loopback: concurrent search_docs and recommend_apis.

    OMP_NUM_THREADS=1 APIPILOT_HOME=/tmp/aphome .venv/bin/python -m benchmarks.mcp_load \
        [--clients 50] [--calls 10] [--recommend 10] [--llm none] [--deadline 300]

Starts ``apipilot mcp --http --port 0`` on 127.0.0.1 as a subprocess, times the first call of
each tool (it loads the index, the embedder and the LM) and 20 calls from one client, then runs
CLIENTS concurrent sessions of CALLS ``search_docs`` calls each, then RECOMMEND concurrent
``recommend_apis`` calls. Prints a markdown table of latencies and exits non-zero on any error.
Uses torchdata@0.7.1 from ``--home``/``$APIPILOT_HOME`` when it is there, else a small
model-free demo index. The whole run stops after ``--deadline`` seconds whatever happens.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from apipilot.evaluation.metrics import percentile
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore, default_home
from apipilot.retrieval.embedder import HashingEmbedder

QUERIES = [
    "shuffle the elements of a datapipe",
    "group elements into batches",
    "read lines from text files",
    "parse csv rows",
    "list files in a directory",
    "open files from disk",
    "filter elements with a predicate",
    "apply a function to every element",
    "zip two datapipes together",
    "cache results in memory",
    "decompress archive files",
    "sample from several datapipes",
    "iterate over a tar archive",
    "concatenate datapipes",
    "load json lines",
    "unbatch nested lists",
    "fork a datapipe into several",
    "collate samples into tensors",
    "read files from an http url",
    "split data into train and test",
]
REQUIREMENTS = [
    "load CSV files from a folder, parse the rows, shuffle them and batch them",
    "read JSON lines from files, filter bad records and group them into batches",
    "open a tar archive, decode the images inside and shuffle them",
    "combine two datasets, map a preprocessing function and cache the result",
    "list text files, read their lines and sample randomly from them",
]
_URL = re.compile(r"apipilot MCP server on (http://\S+)")


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0


@contextmanager
def server(home: Path, llm: str) -> Iterator[tuple[str, int]]:
    """``apipilot mcp --http --port 0``: yields its URL and pid, and stops it at the end."""
    command = [sys.executable, "-c", "from apipilot.ui.cli import main; main()", "mcp", "--http"]
    command += ["--host", "127.0.0.1", "--port", "0", "--home", str(home), "--llm", llm]
    env = os.environ | {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert process.stderr is not None
        url = ""
        deadline = time.monotonic() + 120
        while not url and time.monotonic() < deadline and process.poll() is None:
            if match := _URL.search(process.stderr.readline()):
                url = match.group(1)
        if not url:
            raise RuntimeError("the MCP server did not start")
        threading.Thread(target=process.stderr.read, daemon=True).start()
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def timed_call(client: Client, phase: Phase, tool: str, args: dict[str, Any]) -> None:
    start = time.perf_counter()
    try:
        result = await client.call_tool(tool, args)
        if result.is_error or result.structured_content is None:
            phase.errors.append(str(result.content[0]))
    except Exception as exc:
        phase.errors.append(f"{type(exc).__name__}: {exc}")
    phase.latencies.append(time.perf_counter() - start)


async def search_load(url: str, library: str, clients: int, calls: int) -> Phase:
    phase = Phase(f"search_docs: {clients} clients x {calls} calls")

    async def one(i: int) -> None:
        async with Client(url) as client:
            for j in range(calls):
                query = QUERIES[(i + j) % len(QUERIES)]
                await timed_call(client, phase, "search_docs", {"library": library, "query": query})

    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for i in range(clients):
            group.start_soon(one, i)
    phase.wall = time.perf_counter() - start
    return phase


async def recommend_load(url: str, library: str, count: int) -> Phase:
    phase = Phase(f"recommend_apis: {count} concurrent calls")

    async def one(i: int) -> None:
        async with Client(url) as client:
            args = {"requirement": REQUIREMENTS[i % len(REQUIREMENTS)], "library": library}
            await timed_call(client, phase, "recommend_apis", args)

    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for i in range(count):
            group.start_soon(one, i)
    phase.wall = time.perf_counter() - start
    return phase


async def warm_up(url: str, library: str) -> list[Phase]:
    """The first call of each tool, alone: it loads the index and embedder, then the LM."""
    search = Phase("first search_docs (loads the index and the embedder)")
    recommend = Phase("first recommend_apis (loads the example bank, and the LM if any)")
    async with Client(url) as client:
        for phase, tool, args in [
            (search, "search_docs", {"library": library, "query": "shuffle"}),
            (recommend, "recommend_apis", {"requirement": REQUIREMENTS[0], "library": library}),
        ]:
            start = time.perf_counter()
            await timed_call(client, phase, tool, args)
            phase.wall = time.perf_counter() - start
    return [search, recommend]


async def sequential(url: str, library: str, calls: int) -> Phase:
    phase = Phase(f"search_docs: 1 client x {calls} calls, one at a time")
    start = time.perf_counter()
    async with Client(url) as client:
        for j in range(calls):
            args = {"library": library, "query": QUERIES[j % len(QUERIES)]}
            await timed_call(client, phase, "search_docs", args)
    phase.wall = time.perf_counter() - start
    return phase


def demo_home(root: Path) -> Path:
    records = [
        ApiRecord(id=f"demo.{i}", library="demo", version="1.0", name=f"api{i}", summary=q)
        for i, q in enumerate(QUERIES)
    ]
    IndexStore(root).build(
        records,
        library="demo",
        version="1.0",
        embedder=HashingEmbedder(64),
        embedder_spec="hashing:64",
    )
    return root


def table(phases: list[Phase]) -> str:
    rows = [
        "| phase | calls | errors | p50 ms | p95 ms | max ms | wall s | calls/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in phases:
        n = len(p.latencies)
        rows.append(
            f"| {p.name} | {n} | {len(p.errors)} | {percentile(p.latencies, 0.5) * 1000:.0f} "
            f"| {percentile(p.latencies, 0.95) * 1000:.0f} | {max(p.latencies) * 1000:.0f} "
            f"| {p.wall:.1f} | {n / p.wall if p.wall else 0:.1f} |"
        )
    return "\n".join(rows)


async def run(args: argparse.Namespace, home: Path, library: str) -> tuple[list[Phase], float]:
    with server(home, args.llm) as (url, pid):
        with anyio.fail_after(args.deadline):
            phases = await warm_up(url, library)
            phases.append(await sequential(url, library, 20))
            phases.append(await search_load(url, library, args.clients, args.calls))
            phases.append(await recommend_load(url, library, args.recommend))
        return phases, peak_rss_mib(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--recommend", type=int, default=10)
    parser.add_argument("--llm", default="none")
    parser.add_argument("--deadline", type=float, default=300.0, help="Stop after this many s.")
    args = parser.parse_args()
    home = (args.home or default_home()).expanduser()
    with tempfile.TemporaryDirectory() as tmp:
        if "0.7.1" in IndexStore(home).versions("torchdata"):
            library, ref = "torchdata", "torchdata@0.7.1"
        else:
            home, library, ref = demo_home(Path(tmp) / "home"), "demo", "demo@1.0 (hashing:64)"
        phases, rss = anyio.run(run, args, home, library)
    print(f"## MCP server under load ({ref}, --llm {args.llm}, streamable HTTP on 127.0.0.1)\n")
    print(table(phases))
    print(f"\nServer peak RSS: {rss:.0f} MiB. Errors: {sum(len(p.errors) for p in phases)}.")
    for p in phases:
        for error in p.errors[:3]:
            print(f"- {p.name}: {error}")
    if any(p.errors for p in phases):
        sys.exit(1)


if __name__ == "__main__":
    main()
