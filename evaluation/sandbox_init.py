"""PID 1 of the sandbox's namespaces: build a minimal root, drop to an unprivileged user, run.

``evaluation.sandbox`` starts this file as a script (``python -I -S sandbox_init.py CONFIG``)
under ``unshare --net --pid --mount --ipc --uts --fork --kill-child``, as root. It uses the
standard library only and imports nothing of apipilot. Steps:

1. a size-capped tmpfs becomes the new root; the Python installation and the system's library
   folders are bind-mounted into it read-only (nosuid, nodev); ``/etc`` holds only the dynamic
   linker's cache, so ``/etc/passwd`` and everything else of the host is absent;
2. ``/dev`` with null, zero, full, random and urandom only; ``/proc`` of the new PID namespace;
   ``/tmp`` and ``/dev/shm``; a size-capped tmpfs ``/scratch`` (working directory and HOME)
   holding the program;
3. ``chroot`` into it, then fork: the child drops to a throw-away uid with no groups, no
   capabilities and ``no_new_privs``, sets its resource limits (processes counted per uid, so
   ``RLIMIT_NPROC`` holds) and executes the program;
4. this process reaps orphans until the program exits, then exits itself, and with PID 1 gone
   the kernel kills every process left in the namespace (``setsid`` daemons included).

Exit status: the program's own, or 128 + the signal that killed it; ``SETUP_FAILED`` when the
root could not be built.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import sys
from typing import Any

SETUP_FAILED = 125
SCRATCH = "/scratch"
DEVICES = ("null", "zero", "full", "random", "urandom")
ETC_FILES = ("/etc/ld.so.cache",)

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    encoded = [s.encode() if s is not None else None for s in (source, target, fstype)]
    if _libc.mount(*encoded, ctypes.c_ulong(flags), data.encode() or None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _inside(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _bind_read_only(root: str, path: str) -> None:
    target = _inside(root, path)
    if os.path.isdir(path):
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        open(target, "a").close()
    _mount(path, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _mount_shared_tmpfs(target: str, disk: str) -> None:
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"{disk},mode=1777")


def build_root(config: dict[str, Any]) -> None:
    root: str = config["root"]
    disk = f"size={config['limits']['disk_mb']}m"
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, f"{disk},mode=755")
    for link, target in config["links"].items():
        os.symlink(target, _inside(root, link))
    # /tmp first: a Python installation under /tmp (a venv in a CI checkout there) is then
    # bound on top of the sandbox's own /tmp instead of being hidden by it
    _mount_shared_tmpfs(_inside(root, "/tmp"), disk)
    for path in config["binds"]:
        _bind_read_only(root, path)
    etc = _inside(root, "/etc")
    os.makedirs(etc, mode=0o755, exist_ok=True)
    for name in ETC_FILES:
        if os.path.isfile(name):
            shutil.copyfile(name, _inside(root, name))
    dev = _inside(root, "/dev")
    os.makedirs(dev, mode=0o755, exist_ok=True)
    _mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=1m,mode=755")
    for name in DEVICES:
        open(os.path.join(dev, name), "a").close()
        _mount(f"/dev/{name}", os.path.join(dev, name), None, MS_BIND)
    for name, fd in (("stdin", 0), ("stdout", 1), ("stderr", 2)):
        os.symlink(f"/proc/self/fd/{fd}", os.path.join(dev, name))
    os.symlink("/proc/self/fd", os.path.join(dev, "fd"))
    _mount_shared_tmpfs(os.path.join(dev, "shm"), disk)
    proc = _inside(root, "/proc")
    os.makedirs(proc, mode=0o555, exist_ok=True)
    _mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    scratch = _inside(root, SCRATCH)
    os.makedirs(scratch, exist_ok=True)
    _mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"{disk},mode=700")
    for name in config["files"]:
        shutil.copyfile(os.path.join(config["stage"], name), os.path.join(scratch, name))
        os.chown(os.path.join(scratch, name), config["uid"], config["uid"])
    os.chown(scratch, config["uid"], config["uid"])


def _become_sandbox_user(config: dict[str, Any]) -> None:
    limits, uid = config["limits"], config["uid"]
    mb = 1024 * 1024
    for kind, value in (
        (resource.RLIMIT_CPU, limits["cpu_s"]),
        (resource.RLIMIT_AS, limits["memory_mb"] * mb),
        (resource.RLIMIT_FSIZE, limits["file_mb"] * mb),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_NPROC, limits["processes"]),
        (resource.RLIMIT_CORE, 0),
    ):
        hard = value + 1 if kind == resource.RLIMIT_CPU else value  # SIGXCPU before SIGKILL
        resource.setrlimit(kind, (value, hard))
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # a uid change from root clears every capability
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def _run(config: dict[str, Any]) -> int:
    child = os.fork()
    if child == 0:
        try:
            _become_sandbox_user(config)
            os.execve(config["argv"][0], config["argv"], config["env"])
        except BaseException as exc:  # report any failure, then leave the fork
            print(f"apipilot sandbox: cannot start the program: {exc}", file=sys.stderr)
        os._exit(SETUP_FAILED)
    while True:  # PID 1 adopts every orphan: reap them until the program itself ends
        pid, status = os.waitpid(-1, 0)
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    try:
        build_root(config)
        os.chroot(config["root"])
        os.chdir(SCRATCH)
    except OSError as exc:
        print(f"apipilot sandbox: setup failed: {exc}", file=sys.stderr)
        return SETUP_FAILED
    sys.stdout.flush()
    return _run(config)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
