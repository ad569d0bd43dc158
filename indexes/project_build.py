"""Index every dependency of a project, in parallel processes, skipping what is unchanged.

A dependency is unchanged when its library@version is indexed from the same source (the same
site-packages) with the same embedder, and the fingerprint of its distribution's ``RECORD``
is the one recorded in the project's manifest at that build.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from apipilot.indexes.errors import IndexStoreError
from apipilot.indexes.meta import IndexMeta
from apipilot.indexes.project import PlannedBuild, ProjectPlan
from apipilot.indexes.project_manifest import (
    BuiltFrom,
    ProjectManifest,
    read_manifest,
    write_manifest,
)
from apipilot.indexes.store import IndexStore

BUILT, UNCHANGED, FAILED = "built", "unchanged", "failed"
Progress = Callable[[int, int], None]  # (dependencies done, dependencies in all)
# Builds the pending jobs elsewhere (e.g. on Ray: indexes/build_ray.py), one outcome per job.
Runner = Callable[[list["BuildJob"]], list["DependencyOutcome"]]


def default_jobs() -> int:
    return min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class BuildJob:
    """One dependency's build, as sent to a worker process (plain, picklable values)."""

    name: str
    library: str
    version: str
    source: str
    fingerprint: str
    embedder_spec: str
    home: str


@dataclass(frozen=True)
class DependencyOutcome:
    name: str  # as the project names it
    library: str
    version: str
    status: str  # BUILT, UNCHANGED or FAILED
    detail: str = ""  # the build summary, or why it failed
    records: int = 0


def build_project(
    plan: ProjectPlan,
    store: IndexStore,
    *,
    embedder_spec: str,
    jobs: int | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
    runner: Runner | None = None,
) -> list[DependencyOutcome]:
    """Build what ``plan`` lists (``jobs`` processes, default :func:`default_jobs`, or
    ``runner``), write the project's manifest, and return one outcome per dependency, in the
    plan's order."""
    report = progress or (lambda done, total: None)
    previous = read_manifest(store.home, plan.project)
    outcomes: dict[str, DependencyOutcome] = {}
    pending: list[BuildJob] = []
    for planned in plan.builds:
        job = _job(planned, embedder_spec, store.home)
        if job is None:
            outcomes[planned.name] = _failed(planned)
        elif _unchanged(store, job, previous):
            outcomes[planned.name] = DependencyOutcome(
                job.name, job.library, job.version, UNCHANGED, "already indexed from this build"
            )
        else:
            pending.append(job)
    total = len(plan.builds)
    report(len(outcomes), total)
    workers = max(1, jobs if jobs is not None else default_jobs())
    if runner is not None:
        if pending:
            outcomes.update((o.name, o) for o in runner(pending))
            report(len(outcomes), total)
    elif len(pending) <= 1 or (workers == 1 and executor is None):
        for job in pending:
            outcomes[job.name] = build_dependency(job)
            report(len(outcomes), total)
    else:
        pool = executor or ProcessPoolExecutor(max_workers=min(workers, len(pending)))
        try:
            futures = {pool.submit(build_dependency, job): job for job in pending}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    outcomes[job.name] = future.result()
                except Exception as exc:  # a worker process died (killed, out of memory)
                    outcomes[job.name] = DependencyOutcome(
                        job.name, job.library, job.version, FAILED, f"worker failed: {exc}"
                    )
                report(len(outcomes), total)
        finally:
            if executor is None:
                pool.shutdown()
    ordered = [outcomes[p.name] for p in plan.builds]
    write_manifest(store.home, _manifest(plan, ordered, pending, previous))
    return ordered


def build_dependency(job: BuildJob) -> DependencyOutcome:
    """Read and publish one dependency's index (runs in a worker process); never raises."""
    from apipilot.indexes.building import build_from_source

    try:
        result = build_from_source(
            IndexStore(Path(job.home)),
            job.source,
            job.library,
            job.version,
            embedder_spec=job.embedder_spec,
        )
    except Exception as exc:  # one dependency's failure is reported, the others go on
        return DependencyOutcome(job.name, job.library, job.version, FAILED, _reason(exc))
    detail = result.summary().removeprefix(f"built {result.meta.ref}: ")
    return DependencyOutcome(
        job.name, job.library, job.version, BUILT, detail, result.meta.record_count
    )


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _job(planned: PlannedBuild, embedder_spec: str, home: Path) -> BuildJob | None:
    dist = planned.distribution
    if dist is None or planned.problem:
        return None
    return BuildJob(
        planned.name,
        dist.name,
        dist.version,
        dist.source,
        dist.fingerprint,
        embedder_spec,
        str(home),
    )


def _failed(planned: PlannedBuild) -> DependencyOutcome:
    dist = planned.distribution
    return DependencyOutcome(
        planned.name,
        dist.name if dist else planned.name,
        dist.version if dist else "",
        FAILED,
        planned.problem,
    )


def _unchanged(store: IndexStore, job: BuildJob, previous: ProjectManifest | None) -> bool:
    if previous is None or previous.builds.get(job.library) != BuiltFrom(
        job.source, job.fingerprint
    ):
        return False
    if job.version not in store.versions(job.library):
        return False
    try:
        meta = IndexMeta.read(store.path(job.library, job.version))
    except IndexStoreError:
        return False
    return meta.source == job.source and meta.embedder_spec == job.embedder_spec


def _manifest(
    plan: ProjectPlan,
    outcomes: list[DependencyOutcome],
    built: list[BuildJob],
    previous: ProjectManifest | None,
) -> ProjectManifest:
    manifest = ProjectManifest(str(plan.project.resolve()))
    jobs = {job.library: job for job in built}
    for outcome in outcomes:
        if outcome.status == FAILED:
            continue
        manifest.libraries[outcome.library] = outcome.version
        job = jobs.get(outcome.library)
        if job is not None:
            manifest.builds[outcome.library] = BuiltFrom(job.source, job.fingerprint)
        elif previous is not None and outcome.library in previous.builds:
            manifest.builds[outcome.library] = previous.builds[outcome.library]
    return manifest
