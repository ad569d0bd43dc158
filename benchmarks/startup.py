"""Start-up and concurrency: cold CLI search against ``import torch``, MCP spawn -> ready -> first
result (stdio and HTTP), first recommend, warm and concurrent search latency, server memory.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.startup --home /tmp/aphome-defaults \
        [--runs 5] [--library torchdata] [--rebuild beatnum] [--default-lm]

``--home`` should hold the default indexes (``apipilot index defaults --home DIR``, once).
Every server is ``apipilot mcp`` started as a subprocess, with ``--llm none`` unless said.
Times are wall clock on this machine, whatever else runs on it: read them as ratios, which is
why the torch import is timed in the same run, alternating with the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
from mcp import Client

from apipilot.evaluation.metrics import percentile
from benchmarks.mcp_load import QUERIES, REQUIREMENTS, Phase, search_load, timed_call

CLI = [sys.executable, "-c", "from apipilot.ui.cli import main; main()"]
_READY = re.compile(r"apipilot MCP server ready .* in ([0-9.]+) s")
_URL = re.compile(r"apipilot MCP server on (http://\S+)")
START_TIMEOUT = 300.0


def env() -> dict[str, str]:
    return os.environ | {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env())
    return time.perf_counter() - start


def cli_cold(home: Path, library: str, runs: int) -> dict[str, Any]:
    """Median wall of ``apipilot search`` and of ``python -c "import torch"``, alternating."""
    search = [*CLI, "search", library, QUERIES[0], "--home", str(home), "-k", "10"]
    torch = [sys.executable, "-c", "import torch"]
    wall(search)  # page the files in once: the runs that count all find them cached
    times: dict[str, list[float]] = {"search": [], "torch": []}
    for _ in range(runs):
        times["torch"].append(wall(torch))
        times["search"].append(wall(search))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {"runs": runs, **medians, "ratio": medians["search"] / medians["torch"]}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Server:
    """A spawned ``apipilot mcp``: when it started, and the stderr lines with their times."""

    process: subprocess.Popen[str]
    started: float
    lines: list[tuple[float, str]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def read(self, stream: IO[str]) -> None:
        for line in stream:
            with self.changed:
                self.lines.append((time.perf_counter(), line.rstrip()))
                self.changed.notify_all()

    def wait_for(
        self, pattern: re.Pattern[str], timeout: float = START_TIMEOUT
    ) -> tuple[float, str]:
        """(seconds since spawn, the first stderr line matching ``pattern``)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for at, line in self.lines:
                    if pattern.search(line):
                        return at - self.started, line
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"no {pattern.pattern!r} on stderr: {self.lines[-5:]}")
                self.changed.wait(0.5)


@contextmanager
def spawn(home: Path, llm: str | None, *args: str, http: bool = False) -> Iterator[Server]:
    """``apipilot mcp`` on ``home``; ``llm`` None: the default LM."""
    command = [*CLI, "mcp", "--home", str(home), *(["--llm", llm] if llm else []), *args]
    if http:
        command += ["--http", "--host", "127.0.0.1", "--port", "0"]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL if http else subprocess.PIPE,
        stdout=subprocess.DEVNULL if http else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    server = Server(process, started)
    assert process.stderr is not None
    threading.Thread(target=server.read, args=(process.stderr,), daemon=True).start()
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class StdioSession:
    """Just enough MCP over stdio (newline-delimited JSON-RPC) to time calls."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self._in, self._out = process.stdin, process.stdout
        self._id = 0

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._id += 1
        self._send({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        while True:
            line = self._out.readline()
            if not line:
                raise RuntimeError(f"the server closed stdout during {method}")
            message = json.loads(line)
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def initialize(self) -> None:
        client = {"name": "benchmarks.startup", "version": "0"}
        params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": client}
        self.request("initialize", params)
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = self.request("tools/call", {"name": tool, "arguments": arguments})
        if result.get("isError"):
            raise RuntimeError(f"{tool}: {result['content']}")
        return result

    def _send(self, message: dict[str, Any]) -> None:
        self._in.write(json.dumps(message) + "\n")
        self._in.flush()


def mcp_stdio(home: Path, library: str, *, warmup: bool) -> dict[str, float]:
    """Spawn -> ready (stderr) -> first search_docs answered (asked once ready)."""
    args = () if warmup else ("--no-warmup",)
    with spawn(home, "none", *args) as server:
        ready = server.wait_for(_READY)[0] if warmup else 0.0
        asked = time.perf_counter()
        session = StdioSession(server.process)
        session.initialize()
        session.call("search_docs", {"library": library, "query": QUERIES[1]})
        answered = time.perf_counter()
        return {
            "ready": ready,
            "first": answered - asked,
            "spawn_to_result": answered - server.started,
        }


@dataclass
class HttpReport:
    listening: float = 0.0
    ready: float = 0.0
    first_search: float = 0.0
    first_recommend: float = 0.0
    sequential: Phase | None = None
    concurrent: list[Phase] = field(default_factory=list)
    rss_ready: float = 0.0
    rss_after_calls: float = 0.0
    rss_rebuilds: list[float] = field(default_factory=list)


async def first_call(url: str, tool: str, args: dict[str, Any]) -> float:
    async with Client(url) as client:
        phase = Phase(tool)
        await timed_call(client, phase, tool, args)
        if phase.errors:
            raise RuntimeError(f"{tool}: {phase.errors[0]}")
        return phase.latencies[0]


async def sequential(url: str, library: str, calls: int) -> Phase:
    phase = Phase(f"search_docs, 1 client, {calls} calls one at a time (warm)")
    start = time.perf_counter()
    async with Client(url) as client:
        for j in range(calls):
            args = {"library": library, "query": QUERIES[j % len(QUERIES)]}
            await timed_call(client, phase, "search_docs", args)
    phase.wall = time.perf_counter() - start
    return phase


def rebuild(home: Path, library: str) -> None:
    """Rebuild ``library`` in a second process: the server must drop the superseded build."""
    subprocess.run(
        [*CLI, "index", "refresh", library, "--home", str(home)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env(),
    )


def mcp_http(
    home: Path, library: str, llm: str | None, *, rebuilt: str | None, rebuilds: int, calls: int
) -> HttpReport:
    report = HttpReport()
    with spawn(home, llm, http=True) as server:
        report.listening, line = server.wait_for(_URL)
        match = _URL.search(line)
        assert match is not None
        url = match.group(1)
        report.ready = server.wait_for(_READY)[0]
        pid = server.process.pid
        report.rss_ready = rss_mib(pid)
        report.first_search = anyio.run(
            first_call, url, "search_docs", {"library": library, "query": QUERIES[1]}
        )
        args = {"requirement": REQUIREMENTS[0], "library": library}
        report.first_recommend = anyio.run(first_call, url, "recommend_apis", args)
        if calls:
            report.sequential = anyio.run(sequential, url, library, 20)
            for clients in (1, 4, 16):
                phase = anyio.run(search_load, url, library, clients, calls)
                phase.name = f"search_docs, {clients} concurrent clients x {calls} calls"
                report.concurrent.append(phase)
        report.rss_after_calls = rss_mib(pid)
        for _ in range(rebuilds if rebuilt else 0):
            assert rebuilt is not None
            rebuild(home, rebuilt)
            anyio.run(first_call, url, "search_docs", {"library": rebuilt, "query": "sum"})
            report.rss_rebuilds.append(rss_mib(pid))
    return report


def latency_row(phase: Phase) -> str:
    p50, p95 = percentile(phase.latencies, 0.5), percentile(phase.latencies, 0.95)
    errors = f", {len(phase.errors)} errors" if phase.errors else ""
    return f"| {phase.name} | p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms{errors} |"


def print_report(
    cli: dict[str, Any],
    stdio: dict[str, float],
    stdio_cold: dict[str, float],
    http: HttpReport,
    lm: HttpReport | None,
    args: argparse.Namespace,
) -> None:
    print(f"## Start-up and concurrency ({args.library}, {os.cpu_count()} cores)\n")
    print("| measure | value |")
    print("|---|---|")
    print(
        f"| CLI `apipilot search` cold, median of {cli['runs']} | {cli['search']:.2f} s |\n"
        f'| `python -c "import torch"`, median of {cli["runs"]}, alternating | '
        f"{cli['torch']:.2f} s |\n"
        f"| **ratio search / torch** (target <= 0.35) | **{cli['ratio']:.2f}** |"
    )
    print(
        f"| MCP stdio: spawn -> ready | {stdio['ready']:.2f} s |\n"
        f"| MCP stdio: ready -> first search_docs result (target <= 1 s) | "
        f"{stdio['first']:.2f} s |\n"
        f"| MCP stdio, `--no-warmup`: spawn -> first search_docs result | "
        f"{stdio_cold['spawn_to_result']:.2f} s |"
    )
    print(
        f"| MCP HTTP: spawn -> listening / ready | {http.listening:.2f} s / {http.ready:.2f} s |\n"
        f"| MCP HTTP: first search_docs after ready | {http.first_search:.2f} s |\n"
        f"| MCP HTTP: first recommend_apis after ready, `--llm none` | "
        f"{http.first_recommend:.2f} s |"
    )
    if lm is not None:
        print(
            f"| MCP HTTP, default LM: spawn -> ready | {lm.ready:.2f} s |\n"
            f"| MCP HTTP, default LM: first recommend_apis after ready (target <= 6 s) | "
            f"{lm.first_recommend:.2f} s |\n"
            f"| MCP HTTP, default LM: resident memory when ready | {lm.rss_ready:.0f} MiB |"
        )
    for phase in [http.sequential, *http.concurrent]:
        if phase is not None:
            print(latency_row(phase))
    print(
        f"| MCP server resident memory, default indexes loaded (ready) | "
        f"{http.rss_ready:.0f} MiB |\n"
        f"| ... after the calls above | {http.rss_after_calls:.0f} MiB |"
    )
    if http.rss_rebuilds:
        steps = " -> ".join(f"{m:.0f}" for m in http.rss_rebuilds)
        count = len(http.rss_rebuilds)
        print(f"| ... after each of {count} rebuilds of {args.rebuild} | {steps} MiB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="Holds the default indexes.")
    parser.add_argument("--library", default="torchdata", help="Searched by every client.")
    parser.add_argument("--runs", type=int, default=5, help="Cold CLI runs (each alternating).")
    parser.add_argument("--calls", type=int, default=10, help="Calls per concurrent client.")
    parser.add_argument("--rebuild", default="beatnum", help="Index rebuilt while served.")
    parser.add_argument("--rebuilds", type=int, default=5)
    parser.add_argument("--default-lm", action="store_true", help="Also time the default LM.")
    args = parser.parse_args()
    home = args.home.expanduser().resolve()
    cli = cli_cold(home, args.library, args.runs)
    stdio = mcp_stdio(home, args.library, warmup=True)
    stdio_cold = mcp_stdio(home, args.library, warmup=False)
    http = mcp_http(
        home, args.library, "none", rebuilt=args.rebuild, rebuilds=args.rebuilds, calls=args.calls
    )
    lm = None
    if args.default_lm:
        lm = mcp_http(home, args.library, None, rebuilt=None, rebuilds=0, calls=0)
    print_report(cli, stdio, stdio_cold, http, lm, args)
    print(f"\n`{' '.join(['python -m benchmarks.startup', *sys.argv[1:]])}`")


if __name__ == "__main__":
    main()
