"""Where indexes live: one directory per library@version under ``$APIPILOT_HOME``.

Layout::

    $APIPILOT_HOME/indexes/<library>/<version>          symlink to the current build
    $APIPILOT_HOME/indexes/<library>/.builds/<version>-<id>   complete builds
    $APIPILOT_HOME/indexes/<library>/.builds/<version>-<id>.tmp-<pid>   a build in progress

A build is written into a ``.tmp`` directory, renamed when complete, and published by
atomically replacing the symlink, so a crash at any point leaves the previous index usable.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.version import InvalidVersion, Version

from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.builder import BuildStats, Progress, embed_records, timer, write_index
from apipilot.indexes.errors import IndexNotFound, IndexStoreError
from apipilot.indexes.meta import IndexMeta
from apipilot.indexes.record import ApiRecord
from apipilot.retrieval.embedder import Embedder
from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.vector_index import VectorIndexParams

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
BUILDS = ".builds"


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

    def __init__(self, home: Path | None = None) -> None:
        self.home = (home or default_home()).expanduser()
        self.root = self.home / "indexes"
        self._open: dict[tuple[str, str], ApiIndex] = {}

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
        """Load (once per process and build) the index of ``library@version`` (newest if None)."""
        version = self.resolve(library, version)
        path = self.path(library, version)
        build_id = os.path.realpath(path)
        key = (build_id, embedder.name if embedder else "")
        if key not in self._open:
            self._open[key] = ApiIndex.load(path, embedder)
        return self._open[key]

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
    ) -> tuple[IndexMeta, BuildStats]:
        """Build and publish ``library@version``; unchanged records reuse their old vectors."""
        elapsed = timer()
        link = self.path(library, version)
        previous = self._load_previous(link, embedder)
        vectors, stats = embed_records(records, embedder, previous, progress)
        builds = link.parent / BUILDS
        builds.mkdir(parents=True, exist_ok=True)
        self._remove_abandoned(builds)
        final = builds / f"{version}-{uuid.uuid4().hex[:12]}"
        tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
        try:
            meta = write_index(
                tmp,
                records,
                vectors,
                library=library,
                version=version,
                embedder=embedder,
                embedder_spec=embedder_spec,
                source=source,
                params=params or VectorIndexParams(),
                build_seconds=elapsed(),
                apipilot_version=apipilot_version(),
            )
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old_target = link.resolve() if link.is_symlink() else None
        staged_link = link.with_name(f".{version}.link-{uuid.uuid4().hex[:8]}")
        staged_link.symlink_to(Path(BUILDS) / final.name)
        staged_link.replace(link)  # atomic: readers see the old build or the new one
        if old_target is not None and old_target != final.resolve():
            shutil.rmtree(old_target, ignore_errors=True)
        return meta, BuildStats(
            stats.added,
            stats.changed,
            stats.unchanged,
            stats.removed,
            stats.embedded,
            round(elapsed(), 3),
        )

    def remove(self, library: str, version: str | None = None) -> list[str]:
        """Remove one version, or every version of ``library``; returns what was removed."""
        versions = [self.resolve(library, version)] if version else self.versions(library)
        if not versions:
            raise IndexNotFound(f"no index for library {library!r}")
        for v in versions:
            link = self.path(library, v)
            target = link.resolve()
            link.unlink() if link.is_symlink() else shutil.rmtree(link)
            shutil.rmtree(target, ignore_errors=True)
        if version is None:
            shutil.rmtree(self.root / library, ignore_errors=True)
        self._open.clear()
        return [f"{library}@{v}" for v in versions]

    def _load_previous(self, link: Path, embedder: Embedder) -> ApiIndex | None:
        """The current build, if it can lend vectors (same embedder, readable)."""
        if not link.exists():
            return None
        try:
            if IndexMeta.read(link).embedder != embedder.name:
                return None
            return ApiIndex.load(link, embedder, verify=False)
        except (IndexStoreError, ConfigError):
            return None  # a damaged previous build is simply rebuilt from scratch

    @staticmethod
    def _remove_abandoned(builds: Path) -> None:
        """Delete ``.tmp-<pid>`` directories whose building process is gone."""
        for tmp in builds.glob("*.tmp-*"):
            pid = tmp.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(tmp, ignore_errors=True)


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
