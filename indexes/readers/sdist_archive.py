"""A distribution's source archive (sdist): fetched from the package registry with pip, kept in
a cache, and unpacked without letting it write outside its folder.

``pip download --no-deps --no-binary NAME NAME[==VERSION]`` (``sys.executable -m pip``, so the
registry, index and proxy settings are the user's own) puts the archive into
``$APIPILOT_HOME/cache/sdists``; an archive of the same name and version there is reused, so a
refresh reads it again offline. pip prepares the archive's metadata to check it, which runs the
project's build backend (as ``pip install`` would): servers allow ``sdist:`` sources only when
told to (:class:`indexes.policy.SourcePolicy`). ``APIPILOT_NO_FETCH=1`` forbids the download.

Unpacking keeps regular files and folders (and links that stay inside the archive's folder):
tar members are passed through :func:`tarfile.data_filter` (no absolute paths, no ``..``, no
devices, no links out), zip members that would land outside are left out, and an archive of
more than ``MAX_MEMBERS`` members or ``MAX_UNPACKED_BYTES`` bytes is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from apipilot.indexes.errors import SourceError
from apipilot.indexes.record import ReadReport

Downloader = Callable[[str, Path, float], None]
"""``download(requirement, into_dir, timeout_s)``: put the requirement's sdist into ``into_dir``."""

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
TIMEOUT_ENV = "APIPILOT_SDIST_TIMEOUT"
NO_FETCH_ENV = "APIPILOT_NO_FETCH"
DEFAULT_TIMEOUT_S = 300.0
MAX_MEMBERS = 20_000
MAX_UNPACKED_BYTES = 500_000_000
UNPACKED = ".unpacked"
_OFFLINE = re.compile(
    r"NewConnectionError|Temporary failure in name resolution|Network is unreachable|"
    r"Name or service not known|ConnectTimeout|ProxyError|Max retries exceeded|"
    r"No route to host|Connection refused",
    re.I,
)
_NOT_FOUND = re.compile(r"No matching distribution|Could not find a version", re.I)
_BUILD_DEPS = re.compile(r"installing build dependencies|metadata-generation-failed", re.I)


def sdist_cache_dir() -> Path:
    """``$APIPILOT_HOME/cache/sdists`` (the index home: the user cache without the variable)."""
    from apipilot.indexes.store import default_home

    return default_home() / "cache" / "sdists"


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def archive_name_version(filename: str) -> tuple[str, str] | None:
    """``("click", "8.5.1")`` for ``click-8.5.1.tar.gz`` (name canonical); None if not an sdist."""
    lower = filename.lower()
    suffix = next((s for s in ARCHIVE_SUFFIXES if lower.endswith(s)), None)
    if suffix is None:
        return None
    name, _, version = filename[: -len(suffix)].rpartition("-")
    if not name or not version:
        return None
    return canonicalize_name(name), _normal_version(version)


def _normal_version(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def cached_archive(name: str, version: str, cache: Path) -> Path | None:
    """The archive of ``name==version`` already in ``cache``, if any."""
    wanted = (canonicalize_name(name), _normal_version(version))
    if not cache.is_dir():
        return None
    for path in sorted(cache.iterdir()):
        if path.is_file() and archive_name_version(path.name) == wanted:
            return path
    return None


def fetch_sdist(
    name: str,
    version: str | None,
    *,
    cache: Path | None = None,
    download: Downloader | None = None,
    timeout_s: float | None = None,
) -> Path:
    """The source archive of ``name`` (``version``, else the newest the registry has): from
    ``cache`` when there, else downloaded into it. :class:`SourceError` says why it cannot be
    had (offline, not on the registry, no sdist, timed out, fetching forbidden)."""
    cache = cache or sdist_cache_dir()
    requirement = f"{name}=={version}" if version else name
    if version is not None:
        found = cached_archive(name, version, cache)
        if found is not None:
            return found
    if os.environ.get(NO_FETCH_ENV, "") not in ("", "0"):
        raise SourceError(
            f"sdist:{requirement}: {NO_FETCH_ENV} forbids downloading its source archive; put "
            f"it into {cache} or name the file (sdist:/path/to/{name}-VERSION.tar.gz)"
        )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
        (download or pip_download)(requirement, Path(tmp), timeout_s or _timeout())
        archives = sorted(p for p in Path(tmp).iterdir() if p.is_file() and is_archive(p))
        if not archives:
            raise SourceError(f"sdist:{requirement}: the download gave no source archive")
        dest = cache / archives[0].name
        archives[0].replace(dest)
    return dest


def _timeout() -> float:
    text = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(text) if text else DEFAULT_TIMEOUT_S
    except ValueError:
        raise SourceError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds") from None
    return value if value > 0 else DEFAULT_TIMEOUT_S


def pip_download(requirement: str, into: Path, timeout_s: float) -> None:
    """``python -m pip download --no-deps --no-binary NAME REQUIREMENT -d INTO``: the sdist of
    NAME only (``:all:`` would build the build backends pip installs from source too)."""
    name = canonicalize_name(re.split(r"[=<>!~ ]", requirement, maxsplit=1)[0])
    options = ["--no-deps", "--no-binary", name, "--disable-pip-version-check", "--no-input"]
    command = [sys.executable, "-m", "pip", "download", *options, "-d", str(into), requirement]
    shown = f"pip download --no-deps --no-binary {name} {requirement}"
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False, stdin=None
        )
    except subprocess.TimeoutExpired:
        raise SourceError(
            f"sdist:{requirement}: `{shown}` did not finish in {timeout_s:.0f} s "
            f"(raise {TIMEOUT_ENV}, or download the archive and give sdist:PATH)"
        ) from None
    except OSError as exc:
        raise SourceError(f"sdist:{requirement}: `{shown}` could not run ({exc})") from exc
    if done.returncode == 0:
        return
    output = done.stderr + done.stdout
    if _OFFLINE.search(output):
        why = "the package registry cannot be reached (offline?)"
    elif _BUILD_DEPS.search(output):
        errors = [line.strip() for line in output.splitlines() if "ERROR" in line]
        why = (
            "pip could not prepare the archive's metadata (its build backend or build "
            f"dependencies: {(errors[0] if errors else 'see pip')[:200]})"
        )
    elif _NOT_FOUND.search(output):
        why = "the registry has no source archive of it (no such name or version, or wheels only)"
    else:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        why = (lines[-1] if lines else "no output")[:300]
    raise SourceError(
        f"sdist:{requirement}: `{shown}` failed: {why}; give a downloaded archive as "
        "sdist:/path/to/NAME-VERSION.tar.gz to read it without the registry"
    )


def unpacked_root(archive: Path, report: ReadReport, *, into: Path | None = None) -> Path:
    """The top folder of ``archive`` unpacked (once per archive file, under ``into``, else
    the cache's ``.unpacked``); members that cannot be unpacked safely are left out and
    reported."""
    base = into or sdist_cache_dir() / UNPACKED
    stem = archive.name
    for suffix in ARCHIVE_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    try:
        info = archive.stat()
        where = hashlib.sha256(str(archive.resolve()).encode()).hexdigest()[:8]
        stamp = f"{info.st_size}-{info.st_mtime_ns}-{where}"
    except OSError as exc:
        raise SourceError(f"{archive}: cannot be read ({exc.strerror or exc})") from exc
    folder = base / f"{stem}-{stamp}"
    if not folder.is_dir():
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=base, prefix=".unpack-"))
        try:
            skipped = _unpack(archive, tmp)
            (tmp / ".skipped").write_text("\n".join(skipped), encoding="utf-8")
            try:
                tmp.rename(folder)
            except OSError:  # another build unpacked it meanwhile
                if not folder.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    skipped_file = folder / ".skipped"
    if skipped_file.is_file():
        for line in skipped_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                report.skip(f"{archive}: {line}", "not unpacked (it would leave the folder)")
    tops = [p for p in folder.iterdir() if p.name != ".skipped"]
    return tops[0] if len(tops) == 1 and tops[0].is_dir() and not tops[0].is_symlink() else folder


def _unpack(archive: Path, dest: Path) -> list[str]:
    try:
        if archive.name.lower().endswith(".zip"):
            return _unzip(archive, dest)
        return _untar(archive, dest)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise SourceError(f"{archive}: not a readable source archive ({exc})") from exc


def _untar(archive: Path, dest: Path) -> list[str]:
    skipped: list[str] = []
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        _check_size(archive, len(members), sum(m.size for m in members if m.isfile()))
        kept = []
        for member in members:
            try:
                tarfile.data_filter(member, str(dest))
            except tarfile.FilterError:
                skipped.append(member.name)
                continue
            kept.append(member)
        tar.extractall(dest, members=kept, filter="data")
    return skipped


def _unzip(archive: Path, dest: Path) -> list[str]:
    skipped: list[str] = []
    root = dest.resolve()
    with zipfile.ZipFile(archive) as zipped:
        infos = zipped.infolist()
        _check_size(archive, len(infos), sum(i.file_size for i in infos))
        for info in infos:
            target = (root / info.filename).resolve()
            if not target.is_relative_to(root) or Path(info.filename).is_absolute():
                skipped.append(info.filename)
                continue
            zipped.extract(info, root)
    return skipped


def _check_size(archive: Path, members: int, size: int) -> None:
    if members > MAX_MEMBERS:
        raise SourceError(f"{archive}: {members} members, over the {MAX_MEMBERS} limit")
    if size > MAX_UNPACKED_BYTES:
        raise SourceError(f"{archive}: {size} bytes unpacked, over the {MAX_UNPACKED_BYTES} limit")
