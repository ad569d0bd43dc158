"""Read a documentation source and publish its index: the one build path every surface uses."""

from __future__ import annotations

from dataclasses import dataclass

from apipilot.indexes.builder import BuildStats, PhaseProgress, Progress
from apipilot.indexes.meta import IndexMeta
from apipilot.indexes.policy import SourcePolicy, check_embedder_spec
from apipilot.indexes.sources import read_source
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import DEFAULT_EMBEDDER, load_embedder
from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.vector_index import VectorIndexParams


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
    *,
    embedder_spec: str = DEFAULT_EMBEDDER,
    strict: bool = True,
    params: VectorIndexParams | None = None,
    progress: Progress | None = None,
    inspect: bool = False,
    policy: SourcePolicy | None = None,
    phases: PhaseProgress | None = None,
) -> BuildResult:
    """Read ``source`` and build (or rebuild, reusing unchanged vectors) its index.

    With a ``policy`` (servers building for a client), the source and the embedder must be
    allowed by it, and an existing library@version is replaced only if it allows that.
    ``phases`` hears ``("read" | "embed" | "write", done, total)`` as the build goes.
    """
    phase = phases or (lambda name, done, total: None)
    if policy is not None:
        policy.check(source)
        check_embedder_spec(embedder_spec)
    embedder = load_embedder(embedder_spec, purpose="build")  # a bad spec fails before reading
    phase("read", 0, 0)
    read = read_source(source, library, version, strict=strict, inspect=inspect)
    phase("read", len(read.report.records), len(read.report.records))
    if policy is not None and read.version in store.versions(read.library):
        policy.check_replace(f"{read.library}@{read.version}")
    if not read.report.records:
        reasons = "; ".join(f"{w}: {r}" for w, r in read.report.skipped[:3])
        raise ConfigError(
            f"no API records found in {source}" + (f" ({reasons})" if reasons else "")
        )

    def embedded(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        phase("embed", done, total)
        if done >= total:  # the index files are written next
            phase("write", 0, 0)

    phase("embed", 0, 0)
    meta, stats = store.build(
        read.report.records,
        library=read.library,
        version=read.version,
        embedder=embedder,
        embedder_spec=embedder_spec,
        source=read.source,
        params=params,
        progress=embedded,
    )
    phase("write", 1, 1)
    return BuildResult(meta, stats, read.report.skipped)
