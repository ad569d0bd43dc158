"""Read the documentation sources of one library@version and publish its index: the one build
path every surface uses (one source or several, guides linked to the APIs they name)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from apipilot.indexes.builder import BuildStats, PhaseProgress, Progress
from apipilot.indexes.guide_links import link_guides
from apipilot.indexes.meta import IndexMeta
from apipilot.indexes.passages import PassageParams
from apipilot.indexes.policy import SourcePolicy, check_embedder_spec
from apipilot.indexes.readers.registry import detect_reader
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.sources import UNVERSIONED, read_source
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import DEFAULT_EMBEDDER, load_embedder
from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.vector_index import VectorIndexParams

FIRST_READ = ("python", "corpus")  # sources that surely name their library and version


@dataclass(frozen=True)
class BuildResult:
    meta: IndexMeta
    stats: BuildStats
    skipped: list[tuple[str, str]]  # (where, why) for every item left out

    def summary(self) -> str:
        s = self.stats
        return (
            f"built {self.meta.ref}: {self.meta.record_count} records (added {s.added}, "
            f"changed {s.changed}, unchanged {s.unchanged}, removed {s.removed}, "
            f"skipped {len(self.skipped)}) with {self.meta.embedder} in {s.seconds:.1f} s"
        )


def build_from_source(
    store: IndexStore,
    source: str,
    library: str | None = None,
    version: str | None = None,
    **options: Any,
) -> BuildResult:
    """Read ``source`` and build (or rebuild, reusing unchanged vectors) its index; the
    options are those of :func:`build_from_sources`."""
    return build_from_sources(store, [source], library, version, **options)


def build_from_sources(
    store: IndexStore,
    sources: Sequence[str],
    library: str | None = None,
    version: str | None = None,
    *,
    embedder_spec: str = DEFAULT_EMBEDDER,
    strict: bool = True,
    params: VectorIndexParams | None = None,
    progress: Progress | None = None,
    inspect: bool = False,
    policy: SourcePolicy | None = None,
    phases: PhaseProgress | None = None,
    passages: PassageParams | None = None,
) -> BuildResult:
    """Read every source of one library@version, link the guides to the APIs they name, and
    build (or rebuild, reusing unchanged vectors) the index.

    Library and version come from the first source that names them (a package's metadata,
    a Sphinx inventory) unless given; every other source is read as that library@version. A
    record whose id an earlier source gave already is left out (and reported). Any source
    that cannot be read fails the build before anything is written, so the previous index
    stays in use. With a ``policy`` (servers building for a client), every source and the
    embedder must be allowed by it, and an existing library@version is replaced only if it
    allows that. ``phases`` hears ``("read" | "embed" | "write", done, total)``.
    """
    sources = list(dict.fromkeys(s.strip() for s in sources if s.strip()))
    if not sources:
        raise ConfigError("no source given: name a file, folder, URL, pkg:NAME or corpus:REF")
    phase = phases or (lambda name, done, total: None)
    if policy is not None:
        for source in sources:
            policy.check(source)
        check_embedder_spec(embedder_spec)
    embedder = load_embedder(embedder_spec, purpose="build")  # a bad spec fails before reading
    phase("read", 0, len(sources))
    read = read_sources(sources, library, version, strict=strict, inspect=inspect)
    phase("read", len(sources), len(sources))
    if policy is not None and read.version in store.versions(read.library):
        policy.check_replace(f"{read.library}@{read.version}")
    if not read.records:
        reasons = "; ".join(f"{w}: {r}" for w, r in read.skipped[:3])
        raise ConfigError(
            f"no API records found in {' '.join(sources)}" + (f" ({reasons})" if reasons else "")
        )

    def embedded(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        phase("embed", done, total)
        if done >= total:  # the index files are written next
            phase("write", 0, 0)

    phase("embed", 0, 0)
    meta, stats = store.build(
        read.records,
        library=read.library,
        version=read.version,
        embedder=embedder,
        embedder_spec=embedder_spec,
        source=sources[0] if len(sources) == 1 else "",
        sources=sources,
        params=params,
        progress=embedded,
        passages=passages,
    )
    phase("write", 1, 1)
    return BuildResult(meta, stats, read.skipped)


@dataclass
class ReadAll:
    """The records of every source of one build, guides linked, with what was left out."""

    library: str
    version: str
    records: list[ApiRecord]
    skipped: list[tuple[str, str]]
    counts: dict[str, int]  # records kept from each source


def read_sources(
    sources: Sequence[str],
    library: str | None = None,
    version: str | None = None,
    *,
    strict: bool = True,
    inspect: bool = False,
) -> ReadAll:
    """Read ``sources`` as one library@version (see :func:`build_from_sources`); packages are
    read first, then the other sources that may name their library, so they can name it for
    the rest (a record of an id read already is left out: a package's wins)."""
    order = sorted(sources, key=_reading_order)
    records: list[ApiRecord] = []
    skipped: list[tuple[str, str]] = []
    counts: dict[str, int] = {}
    seen: set[str] = set()
    for source in order:
        read = read_source(source, library, version, strict=strict, inspect=inspect)
        library = library or read.library
        version = version or (read.version if read.version != UNVERSIONED else None)
        skipped += read.report.skipped
        repeated = 0
        kept = 0
        for record in read.report.records:
            if record.id in seen:
                repeated += 1
                continue
            seen.add(record.id)
            records.append(record)
            kept += 1
        counts[source] = kept
        if repeated:
            skipped.append((source, f"{repeated} records an earlier source has (same id) left out"))
    assert library is not None  # read_source asks for --library when no source names it
    version = version or UNVERSIONED
    records = [_as(record, library, version) for record in records]
    return ReadAll(library, version, link_guides(records), skipped, counts)


def _reading_order(source: str) -> int:
    reader = detect_reader(source)[0]
    if reader.kind in FIRST_READ:
        return 0
    return 1 if reader.names_library else 2


def _as(record: ApiRecord, library: str, version: str) -> ApiRecord:
    """A record of ``library@version`` (a source read before the version was known)."""
    if record.library == library and record.version == version:
        return record
    return replace(record, library=library, version=version)
