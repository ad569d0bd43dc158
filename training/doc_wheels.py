"""Documentation of many PyPI packages for training: wheels downloaded, unpacked and read.

Each wheel in the cache is read with the product's own readers: the Python package reader
(griffe, static) on the unpacked wheel, and the Markdown reader on the README the wheel's
``METADATA`` carries. The records of a wheel are cached beside it (``records/*.jsonl``), so
rebuilding the training set reads a wheel once.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.markdown import read_markdown
from apipilot.indexes.readers.python_package import read_python_package
from apipilot.indexes.record import ApiRecord

PACKAGES_FILE = Path(__file__).with_name("doc_packages.txt")
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")
MAX_RECORDS_PER_WHEEL = 4000  # a huge SDK (botocore-sized) adds noise, not variety


@dataclass(frozen=True)
class WheelDocs:
    """The records of one wheel: its API reference and its README sections."""

    library: str
    version: str
    api: list[ApiRecord]
    readme: list[ApiRecord]


def package_names(path: Path = PACKAGES_FILE) -> list[str]:
    """Distribution names, one a line; ``#`` starts a comment."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    return names


def normalised_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def download_wheels(
    names: Iterable[str], cache: Path, *, log: Callable[[str], None] = print
) -> None:
    """``pip download --no-deps`` each package's wheel (any platform tag pip accepts for
    CPython 3.11 on x86-64 Linux) into ``cache/wheels``; names already there are skipped."""
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    have = {normalised_name(w.name.split("-", 1)[0]) for w in wheels.glob("*.whl")}
    for name in names:
        if normalised_name(name) in have:
            continue
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
            "--python-version", "3.11", "--platform", "manylinux2014_x86_64",
            "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux_2_28_x86_64",
            "--platform", "any", "-q", "-d", str(wheels), name,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log(f"skipped {name}: pip download failed ({done.stderr.strip()[-200:]})")


def wheel_files(cache: Path) -> list[Path]:
    return sorted((cache / "wheels").glob("*.whl"))


def read_wheel(wheel: Path, cache: Path) -> WheelDocs:
    """The wheel's records, from the cache when it was read before."""
    match = _WHEEL.match(wheel.name)
    if match is None:
        raise SourceError(f"{wheel.name}: not a wheel file name")
    library = match.group("name").replace("_", "-").lower()
    version = match.group("version")
    cached = cache / "records" / f"{wheel.stem}.json"
    if cached.is_file():
        data = json.loads(cached.read_text(encoding="utf-8"))
        return WheelDocs(
            library,
            version,
            [ApiRecord.from_dict(r) for r in data["api"]],
            [ApiRecord.from_dict(r) for r in data["readme"]],
        )
    tree = cache / "unpacked" / wheel.stem
    if not tree.is_dir():
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(tree)
    api: list[ApiRecord] = []
    try:
        report, _, _ = read_python_package(tree, library, version)
        api = report.records[:MAX_RECORDS_PER_WHEEL]
    except SourceError:
        api = []
    readme = _readme_records(tree, library, version)
    cached.parent.mkdir(parents=True, exist_ok=True)
    payload = {"api": [r.to_dict() for r in api], "readme": [r.to_dict() for r in readme]}
    cached.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return WheelDocs(library, version, api, readme)


def _readme_records(tree: Path, library: str, version: str) -> list[ApiRecord]:
    """The README in ``*.dist-info/METADATA``, read as Markdown (or reST) sections."""
    for metadata in tree.glob("*.dist-info/METADATA"):
        message = Parser().parsestr(metadata.read_text(encoding="utf-8", errors="replace"))
        body = message.get_payload()
        if not isinstance(body, str) or len(body.split()) < 30:
            return []
        kind = str(message.get("Description-Content-Type", ""))
        suffix = ".rst" if "rst" in kind else ".md"
        readme = tree / f"README{suffix}"
        readme.write_text(body, encoding="utf-8")
        try:
            return read_markdown(readme, library, version).records
        except SourceError:
            return []
    return []
