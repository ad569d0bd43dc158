"""Run untrusted generated code in a child process with limits: the code-generation check.

The child runs in a fresh temporary directory with ``python -I`` (no user site, no PYTHON*
variables), an environment holding only PATH, HOME (the temp dir), empty proxies and
single-threaded math libraries, and these limits set before the interpreter starts:
CPU seconds (RLIMIT_CPU), address space (RLIMIT_AS), file size (RLIMIT_FSIZE), no core files.
A wall-clock timeout kills the child's whole process group. Before the program runs, the
bootstrap replaces ``socket.socket`` (and the C-level ``_socket.socket``) with a class that
refuses to be created, so any network use raises; a subclass rather than a plain function
because ``ssl`` and others subclass ``socket.socket`` when imported.

This is a guard against accidents in generated code, not a security boundary against
hostile code (that needs a container or a network namespace).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PASSED_MARK = "__apipilot_sandbox_passed__"
BOOTSTRAP = f"""\
import socket as _socket_module, _socket, sys

class _NoNetwork(_socket_module.socket):
    def __init__(self, *args, **kwargs):
        raise PermissionError("network access is disabled in the sandbox")

_socket_module.socket = _NoNetwork
_socket.socket = _NoNetwork

def _no_network(*args, **kwargs):
    raise PermissionError("network access is disabled in the sandbox")

_socket_module.create_connection = _no_network
_socket_module.socketpair = _no_network
_socket_module.getaddrinfo = _no_network

_source = open("program.py", encoding="utf-8").read()
_globals = {{"__name__": "__main__"}}
exec(compile(_source, "program.py", "exec"), _globals)
print({PASSED_MARK!r})
"""


@dataclass(frozen=True)
class Limits:
    wall_s: float = 20.0
    cpu_s: int = 15
    memory_mb: int = 4096  # address space; importing torch reserves ~2 GB of it
    file_mb: int = 16


@dataclass(frozen=True)
class SandboxResult:
    passed: bool
    status: str  # passed | failed | timeout
    returncode: int | None
    output: str  # the last 2,000 characters of stdout and stderr


def _child_env(home: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "no_proxy": "*",
        "NO_PROXY": "*",
    }
    for name in ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy"):
        env[name] = env[name.upper()] = ""
    return env


def _limit(limits: Limits) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_program(source: str, limits: Limits | None = None) -> SandboxResult:
    """Execute ``source`` in a limited child process; it passes when it runs to the end."""
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="apipilot-sandbox-") as tmp:
        Path(tmp, "program.py").write_text(source, encoding="utf-8")
        Path(tmp, "bootstrap.py").write_text(BOOTSTRAP, encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-I", "bootstrap.py"],
            cwd=tmp,
            env=_child_env(tmp),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: _limit(limits),  # the parent runs no threads here
        )
        try:
            raw, _ = process.communicate(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raw, _ = process.communicate()
            return SandboxResult(False, "timeout", None, raw.decode(errors="replace")[-2000:])
    output = raw.decode(errors="replace")
    passed = process.returncode == 0 and PASSED_MARK in output
    if process.returncode == -signal.SIGXCPU or process.returncode == -signal.SIGKILL:
        status = "timeout"
    else:
        status = "passed" if passed else "failed"
    return SandboxResult(passed, status, process.returncode, output[-2000:])
