"""Build, refresh, list and remove the indexes of a home directory, and the shipped corpora."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from apipilot._limits import MAX_SOURCE_CHARS, capped, library_input, name_input, spec_input
from apipilot._results import BuildSummary, IndexInfo, LibraryInfo, LibraryVersion
from apipilot._stores import store_for
from apipilot.errors import ConfigError
from apipilot.indexes.builder import PhaseProgress as PhaseProgress
from apipilot.indexes.builder import Progress as Progress
from apipilot.indexes.corpora import shipped_corpora
from apipilot.indexes.policy import SourcePolicy
from apipilot.indexes.store import IndexEntry, parse_ref
from apipilot.retrieval.embedder import DEFAULT_EMBEDDER
from apipilot.retrieval.vector_index import KINDS

if TYPE_CHECKING:
    from apipilot.indexes.building import BuildResult
    from apipilot.indexes.meta import IndexMeta
    from apipilot.indexes.store import IndexStore

VECTOR_INDEX_KINDS: tuple[str, ...] = KINDS
MAX_SOURCES = 32  # sources of one library@version


@dataclass(frozen=True)
class Corpus:
    """A documentation corpus shipped with apipilot; ``source`` builds its index."""

    library: str
    version: str

    @property
    def ref(self) -> str:
        return f"{self.library}@{self.version}"

    @property
    def source(self) -> str:
        return f"corpus:{self.ref}"


def corpora() -> list[Corpus]:
    """Every shipped corpus (``corpora/apis/<library>@<version>.jsonl``)."""
    return [Corpus(c.library, c.version) for c in shipped_corpora()]


def list_indexes(home: str | Path | None = None) -> list[IndexInfo]:
    """Every library@version on disk, oldest version first; unusable ones say why."""
    return [_index_info(entry) for entry in store_for(home).entries()]


def list_libraries(home: str | Path | None = None) -> list[LibraryInfo]:
    """Every library with its versions (oldest first), record counts and build information."""
    grouped: dict[str, list[LibraryVersion]] = {}
    for info in list_indexes(home):
        grouped.setdefault(info.library, []).append(
            LibraryVersion(
                info.version,
                records=info.records,
                embedder=info.embedder,
                built_at=info.built_at,
                source=info.source,
                problem=info.problem,
            )
        )
    return [
        LibraryInfo(library, versions[-1].version, tuple(versions))
        for library, versions in grouped.items()
    ]


def build_index(
    source: str | Sequence[str],
    library: str | None = None,
    version: str | None = None,
    *,
    embedder: str = DEFAULT_EMBEDDER,
    strict: bool = True,
    index_kind: str = "auto",
    inspect: bool = False,
    progress: Progress | None = None,
    policy: SourcePolicy | None = None,
    home: str | Path | None = None,
    phases: PhaseProgress | None = None,
    passages: bool = True,
) -> BuildSummary:
    """Read ``source`` (a JSONL file, a docs directory or URL, ``pkg:NAME``,
    ``corpus:NAME@VERSION``…), or each of several sources of one library@version, and publish
    its index; guides are linked to the APIs they name; unchanged records keep their vectors.

    ``index_kind`` is one of ``VECTOR_INDEX_KINDS``; ``progress`` is called with
    ``(done, total)`` while records are embedded, ``phases`` with ``(phase, done, total)``
    through every phase (read, embed, write); ``strict=False`` skips malformed items.
    ``policy`` (for servers that build for a client) limits the sources, the embedders and
    replacing an existing index; see :class:`SourcePolicy`. ``passages=False`` indexes only
    each record's head line (name, signature, summary), not its documentation's passages.
    """
    from apipilot.indexes.building import build_from_sources
    from apipilot.indexes.passages import PassageParams
    from apipilot.retrieval.vector_index import VectorIndexParams

    given = [source] if isinstance(source, str) else list(source)
    if len(given) > MAX_SOURCES:
        raise ConfigError(f"{len(given)} sources: at most {MAX_SOURCES} for one library@version")
    sources = [capped("source", s, MAX_SOURCE_CHARS).strip() for s in given]
    if not sources or not all(sources):
        raise ConfigError("the source is empty: give a file, folder, URL, pkg:NAME or corpus:REF")
    library = name_input("library name", library)
    version = name_input("version", version)
    embedder = spec_input("embedder", embedder) or DEFAULT_EMBEDDER
    result = build_from_sources(
        store_for(home),
        sources,
        library,
        version,
        embedder_spec=embedder,
        strict=strict,
        params=VectorIndexParams(kind=index_kind),
        progress=progress,
        inspect=inspect,
        policy=policy,
        phases=phases,
        passages=PassageParams(enabled=passages),
    )
    return _summary(result)


def refresh_index(
    ref: str,
    *,
    progress: Progress | None = None,
    home: str | Path | None = None,
    phases: PhaseProgress | None = None,
) -> BuildSummary:
    """Re-read every source of ``library[@version]`` (newest when no version) with the
    embedder and passage setting it was built with; re-embed only records whose content
    changed. The old index stays in use until the new one is complete, and when a source
    cannot be read."""
    meta = _current_meta(ref, home)
    if not meta.all_sources:
        raise ConfigError(f"{meta.ref} records no source to refresh from; build it again")
    return _rebuild(meta, meta.all_sources, progress=progress, home=home, phases=phases)


def add_source(
    source: str,
    ref: str,
    *,
    progress: Progress | None = None,
    home: str | Path | None = None,
    phases: PhaseProgress | None = None,
    policy: SourcePolicy | None = None,
) -> BuildSummary:
    """Add ``source`` to the sources of the index ``library[@version]`` (newest when no
    version) and rebuild it: every source is read again (so guides link across all of them);
    unchanged records keep their vectors. The old index stays in use until the new one is
    complete, and when a source cannot be read."""
    meta = _current_meta(ref, home)
    sources = meta.all_sources
    if not sources:
        raise ConfigError(f"{meta.ref} records no source; build it with all its sources")
    if source.strip() in sources:
        raise ConfigError(f"{meta.ref} is built from {source.strip()} already; use `index refresh`")
    return _rebuild(
        meta, [*sources, source], progress=progress, home=home, phases=phases, policy=policy
    )


def _rebuild(
    meta: IndexMeta,
    sources: Sequence[str],
    *,
    progress: Progress | None,
    home: str | Path | None,
    phases: PhaseProgress | None,
    policy: SourcePolicy | None = None,
) -> BuildSummary:
    """Build ``meta``'s library@version again from ``sources`` the way it was built: with its
    embedder, and with passages only when its header records them (``--no-passages`` holds;
    an index written before passages existed records none either)."""
    return build_index(
        sources,
        meta.library,
        meta.version,
        embedder=meta.embedder_spec,
        progress=progress,
        home=home,
        phases=phases,
        policy=policy,
        passages=bool(meta.passages),
    )


def _current_meta(ref: str, home: str | Path | None) -> IndexMeta:
    from apipilot.indexes.meta import IndexMeta

    library, version = parse_ref(library_input(ref))
    store = store_for(home)
    return IndexMeta.read(store.path(library, store.resolve(library, version)))


def index_targets(ref: str, home: str | Path | None = None) -> list[str]:
    """The ``library@version`` refs that ``remove_index(ref)`` would remove."""
    library, version = parse_ref(library_input(ref))
    store = store_for(home)
    if version:
        return [f"{library}@{store.resolve(library, version)}"]
    store.resolve(library)  # raises with the known libraries if there is none
    return [f"{library}@{v}" for v in store.versions(library)]


def remove_index(ref: str, home: str | Path | None = None) -> list[str]:
    """Remove ``library@version``, or every version of ``library``; returns the removed refs."""
    library, version = parse_ref(library_input(ref))
    return store_for(home).remove(library, version)


def build_missing_defaults(
    *,
    embedder: str = DEFAULT_EMBEDDER,
    progress: Progress | None = None,
    home: str | Path | None = None,
    phases: PhaseProgress | None = None,
) -> Iterator[BuildSummary]:
    """Build every shipped corpus that has no index yet, yielding each build's summary."""
    store = store_for(home)
    for corpus in corpora():
        if corpus.version not in store.versions(corpus.library):
            yield build_index(
                corpus.source, embedder=embedder, progress=progress, home=home, phases=phases
            )


def collect_garbage(library: str | None = None, home: str | Path | None = None) -> list[Path]:
    """Delete what killed builds left behind (never a published index); returns the paths."""
    return store_for(home).gc(None if library is None else library_input(library))


def verify_index(ref: str, home: str | Path | None = None) -> IndexInfo:
    """Check every file of ``library[@version]`` against its SHA-256 (DamagedIndex if one
    differs); returns the index's description."""
    library, version = parse_ref(library_input(ref))
    store = store_for(home)
    meta = store.verify(library, version)
    path = store.path(meta.library, meta.version)
    return _index_info(IndexEntry(meta.library, meta.version, path, meta))


def _index_info(entry: IndexEntry) -> IndexInfo:
    meta = entry.meta
    if meta is None:
        return IndexInfo(entry.library, entry.version, str(entry.path), entry.problem or "?")
    details = asdict(meta)
    details.pop("files", None)
    return IndexInfo(
        entry.library,
        entry.version,
        str(entry.path),
        records=meta.record_count,
        embedder=meta.embedder,
        built_at=meta.built_at,
        build_seconds=meta.build_seconds,
        source=meta.source,
        meta=details,
    )


def _summary(result: BuildResult) -> BuildSummary:
    meta = result.meta
    return BuildSummary(
        library=meta.library,
        version=meta.version,
        records=meta.record_count,
        embedder=meta.embedder,
        source=meta.source,
        built_at=meta.built_at,
        stats=asdict(result.stats),
        skipped=tuple(result.skipped),
        summary=result.summary(),
        sources=tuple(meta.all_sources),
    )


def check_embedder(spec: str) -> str:
    """The stripped embedder spec; ConfigError naming the valid ones when it names none.

    Names only: a model is loaded on first use, not here.
    """
    from apipilot.retrieval.embedder import load_embedder

    text = (spec_input("embedder", spec) or "").strip()
    load_embedder(text)
    return text


def open_store(home: str | Path | None = None) -> IndexStore:
    """The process-wide index store of ``home`` (for the evaluation harness and tools)."""
    return store_for(home)
