"""Run by test_store_safety: a build that dies (``os._exit``, as if killed) at a publish point.

Points: ``written`` (the ``.tmp`` build is complete, not yet renamed), ``renamed`` (a complete
build, no link yet), ``staged`` (a staged ``.link-*`` symlink, not yet moved over the link),
``replaced`` (the new build is published, the old one not yet deleted).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import HashingEmbedder
from tests.conftest import make_record

POINTS = ("written", "renamed", "staged", "replaced")


def die_at(point: str) -> None:
    rename, symlink_to, replace = Path.rename, Path.symlink_to, Path.replace

    def renaming(self: Path, target: Any) -> Any:
        if ".tmp-" in self.name and point == "written":
            os._exit(9)
        result = rename(self, target)
        if ".tmp-" in self.name and point == "renamed":
            os._exit(9)
        return result

    def linking(self: Path, target: Any, target_is_directory: bool = False) -> None:
        symlink_to(self, target, target_is_directory)
        if point == "staged":
            os._exit(9)

    def replacing(self: Path, target: Any) -> Any:
        result = replace(self, target)
        if ".link-" in self.name and point == "replaced":
            os._exit(9)
        return result

    Path.rename = renaming  # type: ignore[method-assign]
    Path.symlink_to = linking  # type: ignore[method-assign]
    Path.replace = replacing  # type: ignore[method-assign]


if __name__ == "__main__":
    home, point = Path(sys.argv[1]), sys.argv[2]
    assert point in POINTS, point
    records = [make_record(f"api{i}", f"killed build summary {i}") for i in range(5)]
    die_at(point)
    IndexStore(home).build(
        records,
        library="demo",
        version="1.0",
        embedder=HashingEmbedder(64),
        embedder_spec="hashing:64",
    )
    sys.exit("the build was not killed")
