"""The reader registry: detection, help text and read_source all come from one table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers import registry
from apipilot.indexes.readers.base import (
    FILE_TYPE,
    NOT_MINE,
    Reader,
    ReadOptions,
    ReadSource,
    SourceTarget,
)
from apipilot.indexes.readers.detect import detect_source
from apipilot.indexes.record import ApiRecord, ReadReport
from apipilot.indexes.sources import read_source


@dataclass(frozen=True)
class ToyReader:
    """A format of one API per line: ``name: summary`` in a ``.toy`` file."""

    kind: str = "toy"
    accepts: str = "a .toy file of name: summary lines"
    names_library: bool = False

    def detect(self, target: SourceTarget) -> int:
        return FILE_TYPE if target.is_file and target.path.suffix == ".toy" else NOT_MINE

    def read(
        self, target: SourceTarget, library: str | None, version: str | None, options: ReadOptions
    ) -> ReadSource:
        assert library is not None  # read_source asks for it: names_library is False
        report = ReadReport()
        for number, line in enumerate(target.path.read_text().splitlines(), start=1):
            name, _, summary = line.partition(":")
            report.records.append(
                ApiRecord(id=name, library=library, version=version or "0", name=name,
                          summary=summary.strip(), source=f"{target.path}:{number}")
            )  # fmt: skip
        return ReadSource(report, library, version or "0", str(target.path))


@pytest.fixture
def toy() -> Iterator[ToyReader]:
    reader = ToyReader()
    registry.register(reader)
    try:
        yield reader
    finally:
        registry.unregister(reader.kind)


def test_a_registered_reader_is_detected_described_and_used(toy: ToyReader, tmp_path: Path) -> None:
    source = tmp_path / "api.toy"
    source.write_text("shuffle: Shuffle the items.\nbatch: Batch the items.\n")
    assert isinstance(toy, Reader)
    assert detect_source(str(source)) == "toy"
    assert "a .toy file of name: summary lines (toy)" in registry.accepted()
    with pytest.raises(SourceError, match="give --library"):
        read_source(str(source))
    read = read_source(str(source), "toylib", "2.0")
    assert [r.name for r in read.report.records] == ["shuffle", "batch"]
    assert (read.library, read.version) == ("toylib", "2.0")
    assert read.report.records[1].source.endswith("api.toy:2")


def test_without_the_reader_the_format_is_refused_naming_what_is_accepted(tmp_path: Path) -> None:
    source = tmp_path / "api.toy"
    source.write_text("shuffle: Shuffle.\n")
    with pytest.raises(SourceError, match="not a documentation source") as caught:
        read_source(str(source), "toylib")
    for reader in registry.readers():
        assert f"({reader.kind})" in str(caught.value)


def test_registering_twice_or_a_non_reader_is_an_error(toy: ToyReader) -> None:
    with pytest.raises(ValueError, match="registered already"):
        registry.register(ToyReader())
    registry.register(ToyReader(accepts="replaced"), replace=True)
    assert registry.reader_of("toy").accepts == "replaced"
    with pytest.raises(TypeError, match="not a Reader"):
        registry.register(object())  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="registered: python"):
        registry.unregister("nope")


def test_the_higher_detection_score_wins(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("")
    (site / "index.md").write_text("# Docs\n")
    assert detect_source(str(site)) == "markdown"  # docs beat a bare package folder...
    (site / "pyproject.toml").write_text("")
    assert detect_source(str(site)) == "python"  # ...a project does not...
    (site / "objects.inv").write_text("")
    assert detect_source(str(site)) == "sphinx"  # ...and a built site beats a package


def test_shipped_corpus_through_the_registry() -> None:
    read = read_source("corpus:torchdata@0.7.1")
    assert (read.library, read.version, read.source) == (
        "torchdata",
        "0.7.1",
        "corpus:torchdata@0.7.1",
    )
    assert len(read.report.records) == 95
    assert detect_source("corpus:torchdata@0.7.1") == "corpus"
    with pytest.raises(
        SourceError, match=r"no shipped corpus 'nope@1'; shipped corpora: .*torchdata"
    ):
        read_source("corpus:nope@1")
