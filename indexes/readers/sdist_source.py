"""The registry's entry for a distribution's whole documentation from its source archive:
``sdist:NAME[==VERSION]`` (fetched from the package registry) or ``sdist:PATH`` (an archive on
disk). The reading itself is :func:`indexes.readers.sdist.read_sdist`, imported when read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apipilot.indexes.readers.base import (
    EXPLICIT,
    NOT_MINE,
    ReadOptions,
    ReadSource,
    SourceTarget,
)
from apipilot.indexes.readers.sdist_archive import Downloader

PREFIX = "sdist:"


@dataclass(frozen=True)
class SdistReader:
    kind: str = "sdist"
    accepts: str = (
        "sdist:NAME[==VERSION] (the source archive from the package registry: its docs/ "
        "folder as guides with the package's API) or sdist:PATH to an archive"
    )
    names_library: bool = True  # the archive's PKG-INFO
    download: Downloader | None = field(default=None, compare=False)  # tests pass a fake

    def detect(self, target: SourceTarget) -> int:
        if target.text.startswith(PREFIX) and target.text.removeprefix(PREFIX).strip():
            return EXPLICIT
        return NOT_MINE

    def read(
        self, target: SourceTarget, library: str | None, version: str | None, options: ReadOptions
    ) -> ReadSource:
        from apipilot.indexes.readers.sdist import read_sdist

        return read_sdist(
            target.text.removeprefix(PREFIX).strip(),
            library,
            version,
            options,
            download=self.download,
            source=target.text,
        )
