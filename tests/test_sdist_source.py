"""``sdist:`` sources: a distribution's source archive read whole (its docs folder as guides
linked to its API), fetched through an injected downloader, cached, and unpacked safely."""

from __future__ import annotations

import importlib.metadata
import io
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import apipilot
from apipilot.indexes.building import read_sources
from apipilot.indexes.errors import SourceError
from apipilot.indexes.policy import SourceNotAllowed, SourcePolicy
from apipilot.indexes.readers import registry
from apipilot.indexes.readers.registry import detect_reader
from apipilot.indexes.readers.sdist import import_names
from apipilot.indexes.readers.sdist_archive import pip_download
from apipilot.indexes.readers.sdist_source import SdistReader
from apipilot.indexes.store import IndexStore

EMBEDDER = "hashing:64"
PKG_INFO = """Metadata-Version: 2.1
Name: demo-tables
Version: 1.0
Summary: Tables for tests
Description-Content-Type: text/markdown

# demo-tables

Read tables from files and print them nicely in a terminal window today.

```python
from demo_tables import print_table
print_table([[1, 2]])
```
"""
INIT = '''"""Tables for tests."""

__all__ = ["Reader", "load_table", "print_table"]


def load_table(path):
    """Load a table from a CSV file at ``path``."""


def print_table(rows):
    """Print rows as a table."""


class Reader:
    """Read rows one at a time."""

    def next_row(self):
        """The next row."""
'''
GUIDE = """# Working with tables

## Loading a table from disk

Most programs start by loading the table they work on from a file on disk, then look at
its rows one at a time before they print anything back to the user.

```python
import demo_tables as dt
table = dt.load_table("people.csv")
reader = dt.Reader()
reader.next_row()
```
"""
API_RST = """API
===

.. py:function:: demo_tables.load_table(path)

   Load a table. See the guide for the file formats it reads and how errors are reported.
"""
CHANGELOG = "# Changes\n\n## 1.0\n\nFirst release with load_table and print_table and more words.\n"


def _add(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_sdist(folder: Path, *, evil: bool = False) -> Path:
    archive = folder / "demo_tables-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        _add(tar, "demo_tables-1.0/PKG-INFO", PKG_INFO)
        _add(tar, "demo_tables-1.0/src/demo_tables/__init__.py", INIT)
        _add(tar, "demo_tables-1.0/docs/guide.md", GUIDE)
        _add(tar, "demo_tables-1.0/docs/api.rst", API_RST)
        _add(tar, "demo_tables-1.0/docs/changelog.md", CHANGELOG)
        if evil:
            _add(tar, "../escaped.txt", "outside")
            link = tarfile.TarInfo("demo_tables-1.0/docs/passwd.md")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(link)
    return archive


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APIPILOT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("APIPILOT_NO_FETCH", raising=False)
    return tmp_path / "home"


@pytest.fixture
def fake_registry(tmp_path: Path) -> Iterator[list[str]]:
    """The sdist reader with a downloader that copies the fixture archive; yields the
    requirements it was asked for."""
    archive = make_sdist(tmp_path)
    asked: list[str] = []

    def download(requirement: str, into: Path, timeout_s: float) -> None:
        asked.append(requirement)
        shutil.copy(archive, into / archive.name)

    original = registry.reader_of("sdist")
    registry.register(SdistReader(download=download), replace=True)
    yield asked
    registry.register(original, replace=True)


def test_a_guide_of_the_docs_folder_links_to_the_package_api(home: Path, tmp_path: Path) -> None:
    archive = make_sdist(tmp_path)
    read = read_sources([f"sdist:{archive}"])
    assert (read.library, read.version) == ("demo-tables", "1.0")  # from PKG-INFO
    by_id = {r.id: r for r in read.records}
    assert by_id["demo_tables.load_table"].kind == "function"  # the archive's source
    guide = by_id["docs/guide.md#loading-a-table-from-disk"]
    assert guide.kind == "guide"
    assert guide.qualified_name == "Working with tables / Loading a table from disk"
    assert guide.links == ("demo_tables.load_table", "demo_tables.Reader",
                           "demo_tables.Reader.next_row")  # fmt: skip
    # a docs section about one API is a guide naming it; the reference record stays the code's
    api_section = by_id["docs/api.rst#demo_tables.load_table"]
    assert api_section.kind == "guide" and api_section.links == ("demo_tables.load_table",)
    assert not any("changelog" in r.id for r in read.records)
    readme = [r for r in read.records if r.id.startswith("demo-tables/README")]
    assert readme and readme[0].links == ("demo_tables.print_table",)


def test_build_fetches_once_then_reads_the_cache(home: Path, fake_registry: list[str]) -> None:
    built = apipilot.build_index("sdist:demo-tables==1.0", embedder=EMBEDDER, home=home)
    assert (built.library, built.version) == ("demo-tables", "1.0")
    assert fake_registry == ["demo-tables==1.0"]
    assert (home / "cache" / "sdists" / "demo_tables-1.0.tar.gz").is_file()
    index = IndexStore(home).open("demo-tables")
    assert index.get("docs/guide.md#loading-a-table-from-disk") is not None
    refreshed = apipilot.refresh_index("demo-tables", home=home)
    assert refreshed.stats["unchanged"] == built.records
    assert fake_registry == ["demo-tables==1.0"]  # the refresh read the cached archive


def test_an_unsafe_archive_member_is_left_out_and_reported(home: Path, tmp_path: Path) -> None:
    archive = make_sdist(tmp_path, evil=True)
    read = read_sources([f"sdist:{archive}"])
    reported = " ".join(where for where, _ in read.skipped)
    assert "../escaped.txt" in reported and "passwd.md" in reported
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not any("root:" in r.doc for r in read.records)


def test_without_the_registry_the_error_says_what_to_do(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIPILOT_NO_FETCH", "1")
    with pytest.raises(SourceError, match="APIPILOT_NO_FETCH forbids"):
        read_sources(["sdist:demo-tables==1.0"])

    def offline(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        stderr = "WARNING: Retrying ... NewConnectionError: Failed to establish a new connection"
        return subprocess.CompletedProcess([], 1, "", stderr)

    monkeypatch.setattr(subprocess, "run", offline)
    with pytest.raises(SourceError, match=r"registry cannot be reached \(offline\?\).*sdist:/"):
        pip_download("demo-tables==1.0", home, 5.0)


def test_bad_specs_and_detection(home: Path) -> None:
    assert detect_reader("sdist:click")[0].kind == "sdist"
    with pytest.raises(SourceError, match="give a distribution name"):
        read_sources(["sdist:click --index-url=evil"])
    with pytest.raises(SourceError, match="no such source archive"):
        read_sources(["sdist:/nowhere/x-1.0.tar.gz"])


def test_import_names_of_an_installed_distribution() -> None:
    assert import_names(importlib.metadata.distribution("PyYAML")) == ["yaml"]


def test_servers_read_sdists_only_when_allowed(tmp_path: Path) -> None:
    policy = SourcePolicy(roots=(tmp_path,))
    with pytest.raises(SourceNotAllowed, match="registry source archives"):
        policy.check("sdist:click")
    with pytest.raises(SourceNotAllowed):  # an archive on disk: its path is checked
        policy.allowing(["sdist:"]).check("sdist:/etc/x-1.0.tar.gz")
    policy.allowing(["sdist:"]).check("sdist:click==8.5.1")
    policy.allowing(["sdist:"]).check(f"sdist:{tmp_path}/x-1.0.tar.gz")


def test_the_realistic_suite_on_whole_documentation() -> None:
    from apipilot.errors import ConfigError
    from apipilot.evaluation.suites import select_suites

    [pkg] = select_suites("Realistic-PyYAML", split="dev")
    [sdist] = select_suites("Realistic-PyYAML", split="dev", realistic_sources="sdist")
    version = importlib.metadata.version("PyYAML")
    assert (pkg.source, pkg.version) == ("pkg:yaml", version)
    assert (sdist.source, sdist.version) == (f"sdist:PyYAML=={version}", f"{version}-sdist")
    assert sdist.name == "Realistic-PyYAML (sdist) [dev]" and sdist.tasks == pkg.tasks
    with pytest.raises(ConfigError, match="valid: pkg, sdist"):
        select_suites("realistic", realistic_sources="docs")
