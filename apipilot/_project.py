"""Index a Python project's dependencies at the versions installed in its environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from apipilot._indexes import PhaseProgress, check_embedder
from apipilot._stores import index_home, store_for
from apipilot.errors import ConfigError
from apipilot.retrieval.embedder import DEFAULT_EMBEDDER

ProjectProgress = Callable[[int, int], None]  # (dependencies done, dependencies in all)


@dataclass(frozen=True)
class DependencyResult:
    """One dependency of an indexed project: ``built``, ``unchanged`` or ``failed`` (why)."""

    name: str
    library: str
    version: str
    status: str
    detail: str
    records: int

    @property
    def ref(self) -> str:
        return f"{self.library}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "library": self.library,
            "version": self.version,
            "status": self.status,
            "detail": self.detail,
            "records": self.records,
        }


@dataclass(frozen=True)
class ProjectSummary:
    """What ``index_project`` did: the project, the interpreter read, one result per dependency."""

    project: str
    python: str
    manifest: str
    dependencies: tuple[DependencyResult, ...]

    def count(self, status: str) -> int:
        return sum(1 for d in self.dependencies if d.status == status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "python": self.python,
            "manifest": self.manifest,
            "dependencies": [d.to_dict() for d in self.dependencies],
        }


def index_project(
    path: str | Path = ".",
    *,
    python: str | Path | None = None,
    jobs: int | None = None,
    embedder: str = DEFAULT_EMBEDDER,
    progress: ProjectProgress | None = None,
    home: str | Path | None = None,
    ray: bool = False,
    ray_address: str | None = None,
    phases: PhaseProgress | None = None,
) -> ProjectSummary:
    """Build a ``pkg:`` index of every dependency of the project at ``path`` (pyproject.toml,
    requirements*.txt, uv.lock, poetry.lock), at the version installed in its environment and
    read from that environment's site-packages.

    The environment is ``python`` (an interpreter or a virtualenv folder), else the project's
    ``.venv``/``venv``, else ``$VIRTUAL_ENV``, else this interpreter; with no project files,
    every distribution installed there is indexed. Builds run in ``jobs`` processes (default
    min(4, CPUs)); a dependency already indexed from the same distribution is ``unchanged``.
    Afterwards, inside the project, a library asked for without a version resolves to the
    project's version. With ``ray`` (or a ``ray_address``) the builds run on Ray (see
    :func:`apipilot.build_many`; ``phases`` hears its read and embed phases); the project's
    environment must then be at the same path on every node.
    """
    from apipilot.indexes.project import environment_of, plan_project, project_python
    from apipilot.indexes.project_build import build_project
    from apipilot.indexes.project_manifest import manifest_path

    embedder = check_embedder(embedder)  # a bad spec fails before any build starts
    on_ray = ray or ray_address is not None
    if on_ray:
        from apipilot.indexes.build_ray import require_ray

        require_ray()  # without Ray installed, say how to get it before reading the project
    if jobs is not None and jobs < 1:
        raise ConfigError(f"jobs must be 1 or more, not {jobs}")
    project = Path(path).expanduser().resolve()
    if not project.is_dir():
        raise ConfigError(f"{path}: no such project folder")
    interpreter = project_python(project, Path(python).expanduser() if python else None)
    plan = plan_project(project, environment_of(interpreter))
    store = store_for(home)
    runner = None
    if on_ray:
        from apipilot.indexes.build_ray import RayOptions, build_jobs_on_ray

        options = RayOptions(address=ray_address, workers=jobs)
        runner = partial(
            build_jobs_on_ray, store=store, embedder_spec=embedder, options=options, phases=phases
        )
    outcomes = build_project(
        plan, store, embedder_spec=embedder, jobs=jobs, progress=progress, runner=runner
    )
    return ProjectSummary(
        str(project),
        str(interpreter),
        str(manifest_path(index_home(home), project)),
        tuple(
            DependencyResult(o.name, o.library, o.version, o.status, o.detail, o.records)
            for o in outcomes
        ),
    )


def project_libraries(
    home: str | Path | None = None, cwd: str | Path | None = None
) -> dict[str, str]:
    """Library -> version of the indexed project around ``cwd`` (default: the current
    folder); empty when there is none."""
    from apipilot.indexes.project_manifest import current_manifest

    manifest = current_manifest(index_home(home), Path(cwd) if cwd is not None else None)
    return dict(manifest.libraries) if manifest is not None else {}
