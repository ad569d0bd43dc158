"""Run by test_store: a build whose embedder is slow, so the test can kill it half-way."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import HashingEmbedder, Vectors
from tests.conftest import make_record


class SlowEmbedder(HashingEmbedder):
    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        print("embedding", flush=True)
        time.sleep(30)
        return super().encode(texts)


if __name__ == "__main__":
    records = [make_record(f"api{i}", f"changed summary {i}") for i in range(5)]
    IndexStore(Path(sys.argv[1])).build(
        records,
        library="demo",
        version="1.0",
        embedder=SlowEmbedder(64),
        embedder_spec="hashing:64",
    )
