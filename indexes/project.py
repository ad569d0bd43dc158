"""A Python project's dependencies and the environment they are installed in.

:func:`declared_dependencies` reads what a project names: ``pyproject.toml`` (PEP 621
``dependencies`` and ``optional-dependencies``), ``requirements*.txt`` (following ``-r``),
``uv.lock`` and ``poetry.lock``. :func:`environment_of` asks an interpreter (a subprocess of
that Python, so its own site-packages, never apipilot's) which distributions it has installed,
where, and a fingerprint of each one's ``RECORD``. :func:`plan_project` pairs the two.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from apipilot.indexes.errors import SourceError

PROJECT_MARKERS = ("pyproject.toml", "uv.lock", "poetry.lock", "requirements.txt")
VENV_DIRS = (".venv", "venv", "env")
# Installers and build tools: in every environment, never what a project's code calls.
TOOLING = frozenset({"pip", "setuptools", "wheel", "distribute", "uv"})
QUERY_TIMEOUT = 60.0

# Runs in the project's interpreter: only the standard library, nothing of apipilot's.
_QUERY = """
import hashlib, importlib.metadata as m, json, sysconfig
paths = sysconfig.get_paths()
sites = list(dict.fromkeys([paths["purelib"], paths["platlib"]]))
out = []
for d in m.distributions(path=sites):
    record = d.read_text("RECORD") or ""
    files = [str(f) for f in (d.files or [])]
    top = (d.read_text("top_level.txt") or "").split()
    out.append({"name": d.metadata["Name"], "version": d.version,
                "site": str(d.locate_file("")), "top_level": top, "files": files,
                "fingerprint": hashlib.sha256(record.encode()).hexdigest()})
print(json.dumps({"sites": sites, "distributions": out}))
"""


@dataclass(frozen=True)
class InstalledDistribution:
    """One distribution installed in an environment."""

    name: str
    version: str
    site_packages: Path
    import_names: tuple[str, ...]
    fingerprint: str  # sha256 of its RECORD: changes when its files change

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)

    @property
    def source(self) -> str:
        from apipilot.indexes.readers.python_source import package_source  # only to build

        return package_source(self.import_names, self.site_packages)


@dataclass(frozen=True)
class Environment:
    python: Path
    site_packages: tuple[Path, ...]
    distributions: tuple[InstalledDistribution, ...]

    def find(self, name: str) -> InstalledDistribution | None:
        key = canonicalize_name(name)
        return next((d for d in self.distributions if d.key == key), None)


@dataclass(frozen=True)
class PlannedBuild:
    """A dependency to index, or why it cannot be (``problem``)."""

    name: str
    distribution: InstalledDistribution | None
    problem: str = ""


@dataclass
class ProjectPlan:
    project: Path
    environment: Environment
    builds: list[PlannedBuild] = field(default_factory=list)


def find_project(start: Path) -> Path | None:
    """``start`` or its nearest parent holding a project file (pyproject.toml, a lock file,
    requirements.txt); None if there is none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if any((folder / marker).is_file() for marker in PROJECT_MARKERS):
            return folder
    return None


def declared_dependencies(project: Path) -> list[str]:
    """The distribution names a project declares or locks, in order of first mention."""
    names: list[str] = []
    own = _pyproject_dependencies(project / "pyproject.toml", names)
    for path in sorted(project.glob("requirements*.txt")):
        names += _requirements_file(path, set())
    names += _lock_packages(project / "uv.lock", "package", own)
    names += _lock_packages(project / "poetry.lock", "package", own)
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(canonicalize_name(name), name)
    return [name for key, name in seen.items() if key != own]


def _pyproject_dependencies(path: Path, names: list[str]) -> str:
    """Add the PEP 621 dependencies of ``path`` to ``names``; the project's own name."""
    data = _toml(path)
    project = data.get("project")
    if not isinstance(project, dict):
        return ""
    requirements = list(project.get("dependencies") or [])
    for group in (project.get("optional-dependencies") or {}).values():
        requirements += list(group)
    names += [n for n in (_requirement_name(r) for r in requirements) if n]
    own = project.get("name")
    return canonicalize_name(own) if isinstance(own, str) else ""


def _requirements_file(path: Path, visited: set[Path]) -> list[str]:
    real = path.resolve()
    if real in visited:
        return []
    visited.add(real)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the requirements file ({exc})") from None
    names: list[str] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        include = re.match(r"^(?:-r|--requirement)[=\s]\s*(\S+)", line)
        if include:
            names += _requirements_file(path.parent / include.group(1), visited)
        elif not line.startswith("-"):  # other options (-e, --index-url) name no dependency
            name = _requirement_name(line)
            if name:
                names.append(name)
    return names


def _requirement_name(text: str) -> str | None:
    # imported here: packaging's requirement parser costs ~7 ms, and every search reads the
    # project manifest through this module
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text).name
    except InvalidRequirement:
        return None  # a URL or path requirement: no name to look up


def _lock_packages(path: Path, table: str, own: str) -> list[str]:
    packages = _toml(path).get(table)
    if not isinstance(packages, list):
        return []
    names = [p.get("name") for p in packages if isinstance(p, dict)]
    return [n for n in names if isinstance(n, str) and canonicalize_name(n) != own]


def _toml(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourceError(f"{path}: not readable TOML ({exc})") from None


def project_python(project: Path, python: Path | None = None) -> Path:
    """The interpreter whose environment is indexed: ``python`` if given, else the project's
    own virtualenv (``.venv``, ``venv``, ``env``), else ``$VIRTUAL_ENV``, else this Python."""
    if python is not None:
        return _interpreter(python)
    for name in VENV_DIRS:
        for candidate in (
            project / name / "bin" / "python",
            project / name / "Scripts" / "python.exe",
        ):
            if candidate.is_file():
                return candidate
    active = os.environ.get("VIRTUAL_ENV")
    if active and (Path(active) / "bin" / "python").is_file():
        return Path(active) / "bin" / "python"
    return Path(sys.executable)


def _interpreter(python: Path) -> Path:
    """``python`` itself, or the interpreter of the virtualenv folder it names."""
    if python.is_dir():
        for candidate in (python / "bin" / "python", python / "Scripts" / "python.exe"):
            if candidate.is_file():
                return candidate
        raise SourceError(f"--python {python}: a folder without bin/python; give an interpreter")
    if not python.is_file():
        raise SourceError(f"--python {python}: no such interpreter or virtualenv folder")
    return python


def environment_of(python: Path, timeout: float = QUERY_TIMEOUT) -> Environment:
    """Ask ``python`` for its site-packages and installed distributions."""
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", _QUERY],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceError(f"{python}: could not ask it for its packages ({exc})") from None
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise SourceError(f"{python}: listing its packages failed ({tail[0]})")
    data = json.loads(done.stdout)
    distributions = tuple(
        InstalledDistribution(
            name=item["name"],
            version=item["version"],
            site_packages=Path(item["site"]),
            import_names=tuple(item["top_level"]) or _import_names(item["files"]),
            fingerprint=item["fingerprint"],
        )
        for item in data["distributions"]
        if item["name"]
    )
    return Environment(python, tuple(Path(s) for s in data["sites"]), distributions)


def _import_names(files: Iterable[str]) -> tuple[str, ...]:
    """Top-level importable names among a distribution's files (no top_level.txt)."""
    names: dict[str, None] = {}
    for file in files:
        parts = Path(file).parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(".dist-info"):
            continue
        if len(parts) == 1 and parts[0].endswith(".py"):
            names[parts[0].removesuffix(".py")] = None
        elif len(parts) > 1 and parts[-1] in ("__init__.py", "__init__.pyi"):
            names[parts[0]] = None
        elif len(parts) > 1 and parts[-1].endswith((".py", ".pyi")):
            names.setdefault(parts[0], None)  # a namespace package
    return tuple(n for n in names if n.isidentifier())


def plan_project(project: Path, environment: Environment) -> ProjectPlan:
    """What to build: each declared dependency (every installed distribution but the
    installers when the project declares none), matched to what the environment has."""
    declared = declared_dependencies(project)
    plan = ProjectPlan(project, environment)
    if not declared:
        declared = [d.name for d in environment.distributions if d.key not in TOOLING]
    for name in declared:
        dist = environment.find(name)
        if dist is None:
            problem = f"not installed in {environment.python}"
        elif not dist.import_names:
            problem = "installs no importable Python package"
        else:
            problem = ""
        plan.builds.append(PlannedBuild(name, dist, problem))
    return plan
