"""Which library versions a project uses: ``<home>/projects/<hash of its path>.json``.

``apipilot index project`` writes one manifest per project (library -> version, and for each
build the source and the fingerprint of the distribution it was read from). Run inside that
project (its folder or a subfolder), a library asked for without a version resolves to the
project's version when that version is indexed: :func:`project_version`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from apipilot.indexes.project import find_project

PROJECTS_DIR = "projects"


@dataclass(frozen=True)
class BuiltFrom:
    source: str
    fingerprint: str


@dataclass
class ProjectManifest:
    project: str
    libraries: dict[str, str] = field(default_factory=dict)  # library -> version
    builds: dict[str, BuiltFrom] = field(default_factory=dict)  # library -> what it was read from

    def version_of(self, library: str) -> str | None:
        key = canonicalize_name(library)
        return next(
            (v for name, v in self.libraries.items() if canonicalize_name(name) == key), None
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def manifest_path(home: Path, project: Path) -> Path:
    digest = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:16]
    return home / PROJECTS_DIR / f"{digest}.json"


def read_manifest(home: Path, project: Path) -> ProjectManifest | None:
    """The manifest of ``project``; None when it was never indexed or the file is unreadable."""
    path = manifest_path(home, project)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        builds = {name: BuiltFrom(**b) for name, b in data.get("builds", {}).items()}
        return ProjectManifest(data["project"], dict(data["libraries"]), builds)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def write_manifest(home: Path, manifest: ProjectManifest) -> Path:
    """Write atomically (a reader sees the old or the new manifest)."""
    path = manifest_path(home, Path(manifest.project))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(manifest.to_json(), encoding="utf-8")
    tmp.replace(path)
    return path


def current_manifest(home: Path, cwd: Path | None = None) -> ProjectManifest | None:
    """The manifest of the indexed project ``cwd`` (default: the current folder) lies in."""
    try:
        start = cwd if cwd is not None else Path.cwd()
    except OSError:  # the current folder was deleted
        return None
    project = find_project(start)
    return read_manifest(home, project) if project is not None else None


def project_version(home: Path, library: str, cwd: Path | None = None) -> str | None:
    """The version of ``library`` that the project around ``cwd`` uses, if it was indexed."""
    manifest = current_manifest(home, cwd)
    return manifest.version_of(library) if manifest is not None else None
