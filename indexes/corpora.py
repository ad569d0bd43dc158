"""The documentation corpora shipped in ``corpora/`` and the default indexes built from them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from apipilot._data import package_data
from apipilot.indexes.errors import SourceError

DEFAULT_LIBRARY = "torchdata"
DEFAULT_VERSION = "0.7.1"


def corpora_dir() -> Path:
    """``$APIPILOT_CORPORA``, else the shipped corpora (package data)."""
    env = os.environ.get("APIPILOT_CORPORA")
    return Path(env) if env else package_data("corpora")


@dataclass(frozen=True)
class ShippedCorpus:
    library: str
    version: str
    path: Path

    @property
    def ref(self) -> str:
        return f"{self.library}@{self.version}"


def shipped_corpora() -> list[ShippedCorpus]:
    """Every ``corpora/apis/<library>@<version>.jsonl`` file."""
    directory = corpora_dir() / "apis"
    if not directory.is_dir():  # an incomplete install must not pass for "nothing to build"
        raise SourceError(
            f"no shipped corpora at {directory}: reinstall apipilot, or point "
            "APIPILOT_CORPORA at a folder with apis/<library>@<version>.jsonl files"
        )
    found = []
    for path in sorted(directory.glob("*@*.jsonl")):
        library, _, version = path.stem.partition("@")
        found.append(ShippedCorpus(library, version, path))
    return found
