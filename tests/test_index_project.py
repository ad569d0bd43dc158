"""`apipilot index project`: a project's dependencies, read from its own virtualenv."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import apipilot
from apipilot.indexes.project import declared_dependencies, environment_of
from apipilot.indexes.project_manifest import project_version
from apipilot.ui.cli import app

EMBEDDER = "hashing:64"
# Five distributions at versions nothing in apipilot's venv has; one ships two import names
# and one has a dist name that differs from its import name.
FAKES = {
    "alpha-csv": ("7.1.0", ["alpha_csv"]),
    "beta-plot": ("3.2.1", ["beta_plot"]),
    "gamma": ("0.0.42", ["gamma"]),
    "delta-tools": ("12.0.0", ["delta", "delta_extra"]),
    "epsilon": ("2.5.0", ["eps"]),
}


def _fake_dist(site: Path, name: str, version: str, modules: list[str]) -> None:
    files: list[str] = []
    for module in modules:
        package = site / module
        package.mkdir()
        (package / "__init__.py").write_text(
            f'"""The {module} package of {name}."""\n\n'
            f"def {module}_work(path: str) -> int:\n"
            f'    """Do the {module} work on the file at ``path``."""\n'
            "    return 0\n",
            encoding="utf-8",
        )
        files.append(f"{module}/__init__.py")
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    record = [*files, f"{info.name}/METADATA", f"{info.name}/RECORD"]
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in record), encoding="utf-8")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A virtualenv (no pip) with the five fake distributions; (python, site-packages)."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([python, "-c", query], check=True, capture_output=True,
                               text=True).stdout.strip())  # fmt: skip
    for name, (version, modules) in FAKES.items():
        _fake_dist(site, name, version, modules)
    return python, site


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0.1"\n'
        'dependencies = ["alpha-csv>=7", "Beta_Plot", "gamma; python_version >= \'3\'"]\n'
        '[project.optional-dependencies]\nextra = ["delta-tools"]\n',
        encoding="utf-8",
    )
    (folder / "requirements.txt").write_text("-r requirements-dev.txt\n", encoding="utf-8")
    (folder / "requirements-dev.txt").write_text(
        "# tools\nepsilon==2.5.0  # pinned\n--index-url https://example.invalid\n",
        encoding="utf-8",
    )
    return folder


def test_declared_dependencies_read_pyproject_requirements_and_locks(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "me"\ndependencies = ["a>=1"]\n'
        '[project.optional-dependencies]\nx = ["b[extra]"]\n',
        encoding="utf-8",
    )
    (tmp_path / "requirements.txt").write_text("c\n-r more.txt\n", encoding="utf-8")
    (tmp_path / "more.txt").write_text("d==1\n-r requirements.txt\n", encoding="utf-8")
    (tmp_path / "uv.lock").write_text(
        '[[package]]\nname = "me"\nversion = "0"\n[[package]]\nname = "e"\nversion = "1"\n',
        encoding="utf-8",
    )
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "F"\nversion = "2"\n[[package]]\nname = "a"\nversion = "1"\n',
        encoding="utf-8",
    )
    assert declared_dependencies(tmp_path) == ["a", "b", "c", "d", "e", "F"]


def test_environment_is_read_from_the_given_interpreter(venv: tuple[Path, Path]) -> None:
    python, site = venv
    env = environment_of(python)
    found = {d.name: (d.version, d.import_names) for d in env.distributions}
    assert found == {name: (v, tuple(m)) for name, (v, m) in FAKES.items()}
    assert site in env.site_packages
    dist = env.find("delta_tools")
    assert dist is not None
    record = (site / "delta_tools-12.0.0.dist-info" / "RECORD").read_bytes()
    assert dist.fingerprint == hashlib.sha256(record).hexdigest()


def test_index_project_builds_five_indexes_at_the_venv_versions(
    venv: tuple[Path, Path], project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python, site = venv
    home = tmp_path / "home"
    args = ["index", "project", str(project), "--python", str(python), "--jobs", "2",
            "--embedder", EMBEDDER, "--home", str(home), "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    statuses = {(d["library"], d["version"]): d["status"] for d in summary["dependencies"]}
    assert statuses == {(name, v): "built" for name, (v, _) in FAKES.items()}

    indexes = {(i.library, i.version): i for i in apipilot.list_indexes(home)}
    assert set(indexes) == {(name, v) for name, (v, _) in FAKES.items()}
    delta = apipilot.get_api("delta-tools", "delta_extra.delta_extra_work", home=home)
    assert delta.version == "12.0.0"
    assert delta.api["source"].startswith(str(site))  # read from the venv, not apipilot's
    assert indexes[("delta-tools", "12.0.0")].source.endswith(f"@{site}")

    # Again: nothing changed, nothing rebuilt.
    again = apipilot.index_project(project, python=python, embedder=EMBEDDER, home=home)
    assert {d.status for d in again.dependencies} == {"unchanged"}

    # A changed distribution (new RECORD) is rebuilt; the others are not.
    record = site / "gamma-0.0.42.dist-info" / "RECORD"
    original = record.read_text(encoding="utf-8")
    try:
        record.write_text(original + "gamma/extra.py,,\n", encoding="utf-8")
        third = apipilot.index_project(project, python=python, embedder=EMBEDDER, home=home)
    finally:
        record.write_text(original, encoding="utf-8")
    assert {d.library: d.status for d in third.dependencies} == {
        name: "built" if name == "gamma" else "unchanged" for name in FAKES
    }

    # A refresh re-reads the recorded source: the venv's site-packages again.
    refreshed = apipilot.refresh_index("epsilon@2.5.0", home=home)
    assert (refreshed.version, refreshed.source) == ("2.5.0", f"pkg:eps@{site}")

    # Inside the project, a library without a version resolves to the project's version,
    # even when a newer one is indexed.
    newer = tmp_path / "gamma99.jsonl"
    newer.write_text(
        json.dumps({"id": "gamma.new", "name": "new", "summary": "newer gamma"}) + "\n",
        encoding="utf-8",
    )
    apipilot.build_index(str(newer), "gamma", "99.0", embedder=EMBEDDER, home=home)
    assert apipilot.search("gamma", "work", home=home).version == "99.0"  # outside: newest
    (project / "src").mkdir()
    monkeypatch.chdir(project / "src")
    assert project_version(home.resolve(), "Gamma") == "0.0.42"
    assert apipilot.search("gamma", "work", home=home).version == "0.0.42"
    assert apipilot.project_libraries(home) == {name: v for name, (v, _) in FAKES.items()}


def test_a_dependency_missing_from_the_venv_fails_with_why(
    venv: tuple[Path, Path], tmp_path: Path
) -> None:
    python, _ = venv
    (tmp_path / "requirements.txt").write_text("gamma\nnot-installed-here\n", encoding="utf-8")
    summary = apipilot.index_project(
        tmp_path, python=python, jobs=1, embedder=EMBEDDER, home=tmp_path / "home"
    )
    outcome = {d.name: (d.status, d.detail) for d in summary.dependencies}
    assert outcome["gamma"][0] == "built"
    assert outcome["not-installed-here"] == ("failed", f"not installed in {python}")


def test_bad_python_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(apipilot.SourceError, match="no such interpreter"):
        apipilot.index_project(tmp_path, python=tmp_path / "nope", home=tmp_path / "home")


def test_a_server_policy_checks_the_folder_of_a_pkg_source(tmp_path: Path) -> None:
    """``pkg:NAME@FOLDER`` reads code from FOLDER: allowing installed packages is not enough."""
    policy = apipilot.SourcePolicy(roots=(tmp_path,), allow_packages=True)
    policy.check("pkg:json")
    policy.check(f"pkg:gamma@{tmp_path / 'site-packages'}")
    with pytest.raises(apipilot.SourceNotAllowed, match="outside the allowed folders"):
        policy.check("pkg:gamma@/usr/lib/python3/dist-packages")
