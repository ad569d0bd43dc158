"""Run untrusted generated code in an isolated child process: the code-generation check.

Isolated (the default, Linux as root with util-linux ``unshare``): the program runs under
``unshare --net --pid --mount --ipc --uts --fork --kill-child`` with ``sandbox_init.py`` as
PID 1, which gives it
- no network: a fresh network namespace whose only interface, loopback, is down (so even
  raw syscalls through ``ctypes`` reach nothing);
- its own PID namespace: when the program exits or the wall clock runs out PID 1 ends, and the
  kernel kills every process left in it, ``setsid`` daemons included;
- its own root: a size-capped tmpfs holding the Python installation and system libraries
  read-only, ``/dev`` with the harmless devices, its own ``/proc``, an ``/etc`` without
  ``passwd``, and a scratch tmpfs as working directory and HOME; nothing of the host's files
  beyond those is visible, and everything is gone when the run ends;
- a throw-away unprivileged uid with ``no_new_privs``, and limits on CPU seconds, address space,
  file size, open files and processes (``RLIMIT_NPROC`` counts that uid's processes only).

Where namespaces are not available ``run_program`` refuses with ``SandboxUnavailable``, unless
the caller opts in to an unisolated run (``allow_unisolated=True`` or
``APIPILOT_SANDBOX_UNISOLATED=1``): then the child gets its own session and the same rlimits
but the process count, and on exit every process carrying the run's token in its environment
is killed; the network and the host's files stay reachable.

In both modes a bootstrap replaces ``socket.socket`` (and the C-level ``_socket.socket``) with
a class that refuses to be created, so the program sees a clear error rather than a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from apipilot.errors import SandboxUnavailable as SandboxUnavailable
from apipilot.evaluation import sandbox_init

PASSED_MARK = "__apipilot_sandbox_passed__"
UNISOLATED_ENV = "APIPILOT_SANDBOX_UNISOLATED"
RUN_TOKEN_ENV = "APIPILOT_SANDBOX_RUN"
INIT_SCRIPT = str(Path(__file__).with_name("sandbox_init.py"))  # PID 1, run as a script
SANDBOX_UIDS = (200_000, 1_000_000)  # a fresh uid per run from this range: no host user has one
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
    cpu_s: int = 15  # per process
    memory_mb: int = 4096  # address space per process; importing torch reserves ~2 GB of it
    file_mb: int = 16  # largest file the program may write
    open_files: int = 256
    processes: int = 64  # processes and threads of the program together
    disk_mb: int = 64  # each of the scratch, /tmp and /dev/shm tmpfs (isolated runs)


@dataclass(frozen=True)
class SandboxResult:
    passed: bool
    status: str  # passed | failed | timeout
    returncode: int | None
    output: str  # the last 2,000 characters of stdout and stderr


def run_program(
    source: str,
    limits: Limits | None = None,
    *,
    allow_unisolated: bool | None = None,
    isolation_problem: Callable[[], str | None] | None = None,
) -> SandboxResult:
    """Execute ``source`` in the sandbox; it passes when it runs to the end.

    ``isolation_problem`` says why namespaces cannot be used (``None``: they can); it defaults
    to a probe of this machine, run once. ``allow_unisolated`` (default: ``$APIPILOT_SANDBOX_
    UNISOLATED`` is ``1``) lets a machine without namespaces run the program unisolated.
    """
    limits = limits or Limits()
    problem = (isolation_problem or namespace_problem)()
    if problem is None:
        return _run_isolated(source, limits)
    if allow_unisolated is None:
        allow_unisolated = os.environ.get(UNISOLATED_ENV, "") == "1"
    if not allow_unisolated:
        raise SandboxUnavailable(
            f"the code sandbox cannot isolate programs on this machine ({problem}); it needs "
            f"Linux, root and util-linux `unshare`. To run generated code without isolation "
            f"(network and files reachable) on a machine you trust, set {UNISOLATED_ENV}=1 "
            "or pass allow_unisolated=True"
        )
    return _run_unisolated(source, limits)


@cache
def namespace_problem() -> str | None:
    """Why isolated runs are impossible here, or ``None`` when a probe run succeeded."""
    if not sys.platform.startswith("linux"):
        return f"platform {sys.platform!r} has no Linux namespaces"
    if shutil.which("unshare") is None:
        return "`unshare` (util-linux) is not on PATH"
    if os.geteuid() != 0:
        return f"it runs as uid {os.geteuid()}, and building the sandbox's root needs root"
    probe = _run_isolated("pass\n", Limits(wall_s=60.0, cpu_s=30))
    if not probe.passed:
        tail = probe.output.strip().splitlines()[-1:] or [f"exit status {probe.returncode}"]
        return f"a probe run failed: {tail[0][:300]}"
    return None


def _python_binds() -> list[str]:
    """Folders the child needs read-only: system libraries and the Python installation."""
    candidates = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    candidates += [*sorted(prefixes), str(Path(sys.executable).resolve().parent)]
    real = sorted({os.path.realpath(c) for c in candidates if os.path.exists(c)})
    binds: list[str] = []
    for path in real:  # a folder inside one already bound needs no bind of its own
        if not any(path == b or path.startswith(b.rstrip("/") + "/") for b in binds):
            binds.append(path)
    return binds


def _system_links() -> dict[str, str]:
    """``/bin -> usr/bin`` and the like on merged-/usr systems, to recreate in the new root."""
    links = {}
    for link in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(link):
            links[link] = os.readlink(link)
    return links


def _child_env(home: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "TMPDIR": home,
        "USER": "sandbox",
        "LOGNAME": "sandbox",
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


def _result(returncode: int | None, raw: bytes, timed_out: bool) -> SandboxResult:
    output = raw.decode(errors="replace")
    if timed_out:
        return SandboxResult(False, "timeout", None, output[-2000:])
    passed = returncode == 0 and PASSED_MARK in output
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        status = "timeout"
    else:
        status = "passed" if passed else "failed"
    return SandboxResult(passed, status, returncode, output[-2000:])


def _run_isolated(source: str, limits: Limits) -> SandboxResult:
    with tempfile.TemporaryDirectory(prefix="apipilot-sandbox-") as stage:
        os.chmod(stage, 0o700)  # the config and staged files: for PID 1 (root) only
        Path(stage, "program.py").write_text(source, encoding="utf-8")
        Path(stage, "bootstrap.py").write_text(BOOTSTRAP, encoding="utf-8")
        Path(stage, "root").mkdir()
        config = {
            "root": str(Path(stage, "root")),
            "stage": stage,
            "files": ["program.py", "bootstrap.py"],
            "binds": _python_binds(),
            "links": _system_links(),
            "uid": SANDBOX_UIDS[0] + secrets.randbelow(SANDBOX_UIDS[1] - SANDBOX_UIDS[0]),
            "limits": asdict(limits),
            "argv": [sys.executable, "-I", "bootstrap.py"],
            "env": _child_env(sandbox_init.SCRATCH),
        }
        Path(stage, "config.json").write_text(json.dumps(config), encoding="utf-8")
        unshare = shutil.which("unshare") or "unshare"
        namespaces = ["--net", "--pid", "--mount", "--ipc", "--uts", "--propagation", "private"]
        command = [unshare, *namespaces, "--fork", "--kill-child", "--"]
        command += [sys.executable, "-I", "-S", INIT_SCRIPT, str(Path(stage, "config.json"))]
        process = subprocess.Popen(
            command,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            raw, _ = process.communicate(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            _end_namespace(process)
            raw, _ = process.communicate()
            return _result(None, raw, timed_out=True)
    code = process.returncode
    if code > 128:  # PID 1 reports a program killed by signal N as 128 + N
        code = 128 - code
    return _result(code, raw, timed_out=False)


def _end_namespace(process: subprocess.Popen[bytes]) -> None:
    """Kill PID 1 of the run's namespace and wait until ``unshare`` has reaped it: PID 1 only
    finishes exiting once the kernel has killed everything else in its namespace."""
    try:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
    except OSError:
        children = ""
    for pid in children.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # --kill-child takes PID 1 with it
        process.wait()


def _limit_unisolated(limits: Limits) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # no RLIMIT_NPROC: it would count every process of the calling user, not the program's


def _run_unisolated(source: str, limits: Limits) -> SandboxResult:
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="apipilot-sandbox-") as tmp:
        Path(tmp, "program.py").write_text(source, encoding="utf-8")
        Path(tmp, "bootstrap.py").write_text(BOOTSTRAP, encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-I", "bootstrap.py"],
            cwd=tmp,
            env=_child_env(tmp) | {RUN_TOKEN_ENV: token},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: _limit_unisolated(limits),  # the parent runs no threads here
        )
        timed_out = False
        try:
            raw, _ = process.communicate(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process.pid)
            raw, _ = process.communicate()
        finally:
            _kill_group(process.pid)
            _kill_marked(token)  # descendants that left the session (setsid daemons)
    return _result(process.returncode, raw, timed_out)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_marked(token: str) -> None:
    """Kill every process whose environment carries ``token`` (a best effort: a process that
    re-executes with a new environment escapes it)."""
    mark = f"{RUN_TOKEN_ENV}={token}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
        except OSError:
            continue
