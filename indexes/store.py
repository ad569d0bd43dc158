"""Where indexes live: one directory per library@version under ``$APIPILOT_HOME``.

Layout::

    $APIPILOT_HOME/indexes/<library>/<version>          symlink to the current build
    $APIPILOT_HOME/indexes/<library>/.builds/<version>-<id>   complete builds
    $APIPILOT_HOME/indexes/<library>/.builds/<version>-<id>.tmp-<pid>   a build in progress
    $APIPILOT_HOME/.locks/<library>@<version>.lock      held while building or removing it

A build holds its library@version's lock, is written into a ``.tmp`` directory, renamed when
complete, and published by atomically replacing the symlink, so a crash at any point leaves
the previous index usable. What a killed build leaves (``.tmp`` and unpublished builds, staged
``.link-*`` symlinks) is collected by the next build of that library and by :meth:`gc`.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from packaging.version import InvalidVersion, Version

from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.builder import BuildStats, Progress, embed_units, timer, write_index
from apipilot.indexes.cache import CacheKey, IndexCache
from apipilot.indexes.errors import DamagedIndex, IndexNotFound, IndexStoreError
from apipilot.indexes.locks import LockHeld, exclusive
from apipilot.indexes.meta import META_FILE, IndexMeta
from apipilot.indexes.passages import PassageParams
from apipilot.indexes.record import ApiRecord
from apipilot.retrieval.embedder import Embedder
from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.vector_index import VectorIndexParams

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
BUILDS = ".builds"
LOCKS = ".locks"
DEFAULT_LOCK_TIMEOUT = 120.0  # seconds a build waits for another build of its library@version
_BUILD_DIR = re.compile(r"^(?P<version>.+)-[0-9a-f]{12}(?:\.tmp-(?P<pid>\d+))?$")
_STAGED_LINK = re.compile(r"^\.(?P<version>.+)\.link-[0-9a-f]{8}$")


def default_home() -> Path:
    """``$APIPILOT_HOME``, else the user's cache directory."""
    env = os.environ.get("APIPILOT_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("apipilot"))


def check_name(kind: str, value: str) -> str:
    if not _NAME.match(value):
        raise ConfigError(
            f"invalid {kind} {value!r}: use letters, digits and . _ + - (at most 100 characters)"
        )
    return value


def parse_ref(ref: str) -> tuple[str, str | None]:
    """``"name@version"`` or ``"name"`` to ``(name, version or None)``."""
    name, sep, version = ref.partition("@")
    check_name("library name", name)
    if sep:
        check_name("version", version)
        return name, version
    return name, None


def version_key(version: str) -> tuple[int, Version | str]:
    """Sort key: PEP 440 versions by value, above any other label (sorted by text)."""
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def apipilot_version() -> str:
    from importlib import metadata  # ~30 ms to import: only builds and __version__ need it

    try:
        return metadata.version("apipilot")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class IndexEntry:
    """One library@version in the store, with its header or the reason it cannot be read."""

    library: str
    version: str
    path: Path
    meta: IndexMeta | None
    problem: str = ""


class IndexStore:
    """The indexes under one home directory; opened indexes are cached per process."""

    def __init__(
        self,
        home: Path | None = None,
        *,
        cache: IndexCache | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.home = (home or default_home()).expanduser()
        self.root = self.home / "indexes"
        self.cache = cache if cache is not None else IndexCache()
        self.lock_timeout = lock_timeout

    def path(self, library: str, version: str) -> Path:
        return self.root / check_name("library name", library) / check_name("version", version)

    def libraries(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def versions(self, library: str) -> list[str]:
        """Versions of ``library`` with a published build, oldest first."""
        directory = self.root / library
        if not directory.is_dir():
            return []
        found = [p.name for p in directory.iterdir() if not p.name.startswith(".") and p.exists()]
        return sorted(found, key=version_key)

    def entries(self) -> list[IndexEntry]:
        entries: list[IndexEntry] = []
        for library in self.libraries():
            for version in self.versions(library):
                path = self.path(library, version)
                try:
                    entries.append(IndexEntry(library, version, path, IndexMeta.read(path)))
                except IndexStoreError as exc:
                    entries.append(IndexEntry(library, version, path, None, str(exc)))
        return entries

    def resolve(self, library: str, version: str | None = None) -> str:
        """The version to use: ``version`` if built, else the newest; IndexNotFound otherwise."""
        versions = self.versions(check_name("library name", library))
        if not versions:
            known = ", ".join(self.libraries()) or "none yet (run `apipilot index defaults`)"
            raise IndexNotFound(f"no index for library {library!r}; known libraries: {known}")
        if version is None:
            return versions[-1]
        if version not in versions:
            raise IndexNotFound(
                f"no index for {library}@{version}; built versions: {', '.join(versions)}"
            )
        return version

    def open(
        self, library: str, version: str | None = None, embedder: Embedder | None = None
    ) -> ApiIndex:
        """The index of ``library@version`` (newest if None), loaded once per published build.

        Opening checks the header's digest, the file listing and sizes, not every checksum
        (see :meth:`verify`). A newer build of the same library@version replaces the cached one.
        """
        version = self.resolve(library, version)
        key = CacheKey(library, version, embedder.name if embedder else "")
        link = self.path(library, version)
        for attempt in (1, 2):
            build = Path(os.path.realpath(link))  # load one build even if the link moves meanwhile
            try:
                return self.cache.get(key, str(build), partial(ApiIndex.load, build, embedder))
            except (DamagedIndex, FileNotFoundError):
                # a rebuild published and deleted this build while it was being loaded
                if attempt == 2 or Path(os.path.realpath(link)) == build:
                    raise
        raise AssertionError("unreachable")

    def verify(self, library: str, version: str | None = None) -> IndexMeta:
        """Check every file of ``library@version`` against its SHA-256; DamagedIndex if not."""
        path = self.path(library, self.resolve(library, version))
        meta = IndexMeta.read(path)
        meta.verify_files(path)
        return meta

    @contextmanager
    def locked(self, library: str, version: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock of ``library@version`` (see :mod:`apipilot.indexes.locks`)."""
        name = f"{check_name('library name', library)}@{check_name('version', version)}"
        lock = self.home / LOCKS / f"{name}.lock"
        wait = self.lock_timeout if timeout is None else timeout
        with exclusive(lock, f"{library}@{version}", wait):
            yield

    def build(
        self,
        records: Sequence[ApiRecord],
        *,
        library: str,
        version: str,
        embedder: Embedder,
        embedder_spec: str,
        source: str = "",
        params: VectorIndexParams | None = None,
        progress: Progress | None = None,
        lock_timeout: float | None = None,
        sources: Sequence[str] = (),
        passages: PassageParams | None = None,
    ) -> tuple[IndexMeta, BuildStats]:
        """Build and publish ``library@version``; unchanged records reuse their old vectors.

        ``sources`` lists every source the records were read from (the header keeps them,
        and ``source`` becomes them joined by spaces unless given). Holds the
        library@version's lock throughout: a second build of it waits up to ``lock_timeout``
        seconds (default: the store's) and then raises :class:`LockHeld`. ``passages`` says
        how records' documentation is cut into searched passages (default ``PassageParams()``;
        ``PassageParams(enabled=False)``: head lines only).
        """
        elapsed = timer()
        if sources and not source:
            source = " ".join(sources)
        with self.locked(library, version, lock_timeout):
            self._collect(library, held=version)
            meta, stats = self._build_locked(
                records,
                library,
                version,
                embedder,
                embedder_spec,
                source,
                params,
                progress,
                list(sources),
                passages or PassageParams(),
            )
        return meta, BuildStats(
            stats.added,
            stats.changed,
            stats.unchanged,
            stats.removed,
            stats.embedded,
            round(elapsed(), 3),
        )

    def _build_locked(
        self,
        records: Sequence[ApiRecord],
        library: str,
        version: str,
        embedder: Embedder,
        embedder_spec: str,
        source: str,
        params: VectorIndexParams | None,
        progress: Progress | None,
        sources: list[str] | None = None,
        passages: PassageParams | None = None,
    ) -> tuple[IndexMeta, BuildStats]:
        elapsed = timer()
        link = self.path(library, version)
        previous = self._load_previous(link, embedder)
        units = embed_units(records, embedder, previous, progress, passages or PassageParams())
        stats = units.stats
        del previous
        builds = link.parent / BUILDS
        builds.mkdir(parents=True, exist_ok=True)
        final = builds / f"{version}-{uuid.uuid4().hex[:12]}"
        tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
        try:
            meta = write_index(
                tmp,
                records,
                units.vectors,
                library=library,
                version=version,
                embedder=embedder,
                embedder_spec=embedder_spec,
                source=source,
                params=params or VectorIndexParams(),
                build_seconds=elapsed(),
                apipilot_version=apipilot_version(),
                owners=units.owners,
                passages=units.passages,
                passage_params=passages,
            )
            if sources:
                meta = _with_sources(tmp, meta, sources)
            IndexMeta.read(tmp).check_quick(tmp)  # the header reads back and covers every file
            tmp.rename(final)  # publish point 1: a complete, unpublished build
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old_target = link.resolve() if link.is_symlink() else None
        staged_link = link.with_name(f".{version}.link-{uuid.uuid4().hex[:8]}")
        staged_link.symlink_to(Path(BUILDS) / final.name)  # publish point 2: a staged link
        staged_link.replace(link)  # publish point 3, atomic: readers see the old or new build
        self.cache.discard(library, version)  # superseded in this process
        if old_target is not None and old_target != final.resolve():
            shutil.rmtree(old_target, ignore_errors=True)
        return meta, stats

    def remove(self, library: str, version: str | None = None) -> list[str]:
        """Remove one version, or every version of ``library``; returns what was removed."""
        versions = [self.resolve(library, version)] if version else self.versions(library)
        if not versions:
            raise IndexNotFound(f"no index for library {library!r}")
        for v in versions:
            with self.locked(library, v):
                link = self.path(library, v)
                target = link.resolve()
                link.unlink() if link.is_symlink() else shutil.rmtree(link)
                shutil.rmtree(target, ignore_errors=True)
                self._collect(library, held=v)
        if version is None:
            self._collect(library)  # leftovers of other versions, and the emptied directories
        self.cache.discard(library, version)
        return [f"{library}@{v}" for v in versions]

    def gc(self, library: str | None = None) -> list[Path]:
        """Delete what killed builds left, for versions no live process is building or
        removing: unpublished builds, ``.tmp`` directories and staged ``.link-*`` symlinks.

        Returns the paths removed. The published builds are never touched.
        """
        libraries = [library] if library else self._library_dirs()
        removed: list[Path] = []
        for name in libraries:
            removed += self._collect(check_name("library name", name))
        return removed

    def _library_dirs(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name))

    def _collect(self, library: str, held: str | None = None) -> list[Path]:
        """Collect the leftovers of ``library``: under ``held``'s lock, which the caller holds,
        and under each other version's lock if it is free (a busy version is skipped)."""
        directory = self.root / library
        leftovers: dict[str, list[Path]] = {}
        for path in _leftovers(directory):
            leftovers.setdefault(_leftover_version(path), []).append(path)
        removed: list[Path] = []
        for version, paths in sorted(leftovers.items()):
            if version == held:
                removed += self._remove_unpublished(directory / version, paths)
                continue
            if not _NAME.match(version):
                continue
            try:
                with self.locked(library, version, timeout=0):
                    removed += self._remove_unpublished(directory / version, paths)
            except LockHeld:
                continue  # a live build or removal owns these
        builds = directory / BUILDS
        for empty in (builds, directory):
            if empty.is_dir() and not any(empty.iterdir()):
                empty.rmdir()
        return removed

    @staticmethod
    def _remove_unpublished(link: Path, paths: list[Path]) -> list[Path]:
        published = link.resolve() if link.is_symlink() else None
        removed: list[Path] = []
        for path in paths:
            if path.is_symlink():
                path.unlink()
            elif path.resolve() == published:
                continue
            else:
                pid = _BUILD_DIR.match(path.name)
                owner = pid.group("pid") if pid else None
                if owner is not None and int(owner) != os.getpid() and _alive(int(owner)):
                    continue  # a build without the lock (an older apipilot) may still own it
                shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        return removed

    def _load_previous(self, link: Path, embedder: Embedder) -> ApiIndex | None:
        """The current build, if it can lend vectors (same embedder, intact by checksum)."""
        if not link.exists():
            return None
        try:
            if IndexMeta.read(link).embedder != embedder.name:
                return None
            return ApiIndex.load(link.resolve(), embedder, checksums=True)
        except (IndexStoreError, ConfigError):
            return None  # a damaged previous build is simply rebuilt from scratch


def _with_sources(directory: Path, meta: IndexMeta, sources: list[str]) -> IndexMeta:
    """Rewrite the header of the unpublished build in ``directory`` to list ``sources``."""
    meta = replace(meta, sources=list(sources)).sealed()
    tmp = directory / (META_FILE + ".tmp")
    tmp.write_text(meta.to_json(), encoding="utf-8")
    tmp.replace(directory / META_FILE)
    return meta


def _leftovers(directory: Path) -> Iterator[Path]:
    """Staged links in ``directory`` and every build under its ``.builds``."""
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        if _STAGED_LINK.match(path.name) and path.is_symlink():
            yield path
    builds = directory / BUILDS
    if builds.is_dir():
        for path in builds.iterdir():
            if _BUILD_DIR.match(path.name):
                yield path


def _leftover_version(path: Path) -> str:
    match = _STAGED_LINK.match(path.name) or _BUILD_DIR.match(path.name)
    assert match is not None
    return match.group("version")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
