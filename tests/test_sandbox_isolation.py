"""Issue 17 item 9: code in the code-generation sandbox cannot reach the network, the host's
files or outlive its run, and a machine without namespaces refuses to run it."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from apipilot.evaluation.sandbox import (
    UNISOLATED_ENV,
    Limits,
    SandboxUnavailable,
    namespace_problem,
    run_program,
)

REPO = Path(__file__).resolve().parent.parent
FAST = Limits(wall_s=20.0, cpu_s=10, memory_mb=1024)
CAN_ISOLATE = (
    sys.platform.startswith("linux") and os.geteuid() == 0 and bool(shutil.which("unshare"))
)
needs_namespaces = pytest.mark.skipif(
    not CAN_ISOLATE, reason="isolation needs Linux, root and unshare (CI has them)"
)


@pytest.fixture(scope="module", autouse=True)
def isolation_works() -> None:
    if CAN_ISOLATE:  # where it should work, a broken sandbox fails loudly instead of skipping
        assert namespace_problem() is None, namespace_problem()


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"secret from the host")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (_Counting,), {"hits": hits})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@needs_namespaces
def test_a_child_python_cannot_fetch_a_loopback_url(loopback_server) -> None:
    port, hits = loopback_server
    fetch = (
        f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/x').read())"
    )
    code = (
        "import subprocess, sys\n"  # a fresh interpreter: no bootstrap patches its socket module
        f"r = subprocess.run([sys.executable, '-c', {fetch!r}], capture_output=True, text=True)\n"
        "print(r.stdout, r.stderr)\n"
        "assert r.returncode == 0\n"
    )
    result = run_program(code, FAST)
    assert not result.passed
    assert "secret from the host" not in result.output
    assert hits == []


@needs_namespaces
def test_a_ctypes_socket_reaches_nothing() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    code = (
        "import ctypes, socket, struct\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)\n"
        "assert fd >= 0, ctypes.get_errno()\n"
        f"address = struct.pack('!HH4s8x', socket.AF_INET, {port}, bytes([127, 0, 0, 1]))\n"
        "address = struct.pack('=H', socket.AF_INET) + address[2:]\n"
        "rc = libc.connect(fd, address, len(address))\n"
        "assert rc == 0, f'connect failed, errno {ctypes.get_errno()}'\n"
        "libc.send(fd, b'leak', 4, 0)\n"
    )
    try:
        result = run_program(code, FAST)
        listener.settimeout(0.5)
        with pytest.raises(TimeoutError):
            listener.accept()[0].close()  # nothing ever connected
    finally:
        listener.close()
    assert not result.passed and "connect failed" in result.output


@needs_namespaces
def test_fifty_forks_are_bounded_and_all_die_with_the_run() -> None:
    marker = f"forkbomb-{uuid.uuid4().hex}"
    code = (
        "import os, time\n"
        "made, refused = 0, 0\n"
        "for _ in range(50):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        refused += 1\n"
        "        continue\n"
        "    if pid == 0:\n"
        f"        os.execv('/bin/sleep', ['/bin/sleep', '30', {marker!r}])\n"
        "    made += 1\n"
        "print('made', made, 'refused', refused)\n"
    )
    start = time.monotonic()
    result = run_program(code, Limits(wall_s=20.0, cpu_s=10, memory_mb=1024, processes=16))
    assert result.passed, result.output
    made = int(result.output.split("made ")[1].split()[0])
    assert 0 < made < 16 and f"refused {50 - made}" in result.output
    assert time.monotonic() - start < 15  # the sleepers did not hold the run open
    assert _processes_with(marker) == []


@needs_namespaces
def test_a_setsid_daemon_is_dead_when_the_run_returns() -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    daemon = f"import time; time.sleep(2); open('/scratch/late', 'w').write({marker!r})"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {daemon!r}], start_new_session=True,\n"
        "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "import time; time.sleep(0.5)\n"
    )
    result = run_program(code, FAST)
    assert result.passed, result.output
    assert _processes_with(marker) == []


@needs_namespaces
def test_a_timed_out_run_leaves_no_daemon() -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    daemon = f"import time; time.sleep(30)  # {marker}"
    code = (
        "import os, subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {daemon!r}], start_new_session=True)\n"
        "time.sleep(60)\n"
    )
    result = run_program(code, Limits(wall_s=2.0, cpu_s=5, memory_mb=1024))
    assert result.status == "timeout"
    assert _processes_with(marker) == []


@needs_namespaces
def test_host_files_are_not_readable() -> None:
    for path in ("/etc/passwd", "/etc/shadow", str(REPO / "README.md"), "/root/.bashrc"):
        code = f"print(open({path!r}).read())\n"
        result = run_program(code, FAST)
        assert not result.passed and "FileNotFoundError" in result.output, (path, result.output)
    assert "root:" not in run_program("print(open('/etc/passwd').read())\n", FAST).output


@needs_namespaces
def test_the_program_runs_unprivileged_with_limits() -> None:
    code = (
        "import os, resource\n"
        "assert os.getuid() != 0 and os.geteuid() != 0\n"
        "assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 64\n"
        "assert resource.getrlimit(resource.RLIMIT_NPROC)[0] == 8\n"
        "try:\n"
        "    open('/usr/evil', 'w')\n"
        "except OSError as exc:\n"
        "    print('refused', type(exc).__name__)\n"
        "else:\n"
        "    raise SystemExit('wrote into /usr')\n"
    )
    limits = Limits(wall_s=20.0, cpu_s=10, memory_mb=1024, open_files=64, processes=8)
    result = run_program(code, limits)
    assert result.passed and "refused" in result.output, result.output


def test_without_namespaces_it_refuses_by_default(monkeypatch) -> None:
    monkeypatch.delenv(UNISOLATED_ENV, raising=False)
    with pytest.raises(SandboxUnavailable, match=f"no namespaces here.*{UNISOLATED_ENV}=1"):
        run_program("print('ran')\n", FAST, isolation_problem=lambda: "no namespaces here")


def test_the_unisolated_opt_in_still_kills_setsid_daemons(tmp_path: Path) -> None:
    late = tmp_path / "late"
    daemon = f"import time; time.sleep(1.5); open({str(late)!r}, 'w').write('alive')"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {daemon!r}], start_new_session=True,\n"
        "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    )
    result = run_program(
        code, FAST, allow_unisolated=True, isolation_problem=lambda: "no namespaces here"
    )
    assert result.passed, result.output
    time.sleep(2.5)
    assert not late.exists()
