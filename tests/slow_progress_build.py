"""Run by test_progress: the ``apipilot`` CLI with an embedder ``slow:64`` that takes
``DELAY`` seconds a batch, so that a build is slow where no progress callback can fire."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from apipilot.retrieval import embedder as embedders
from apipilot.retrieval.embedder import HashingEmbedder, Vectors

DELAY = 1.5


class SlowEmbedder(HashingEmbedder):
    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        time.sleep(DELAY)
        return super().encode(texts)


if __name__ == "__main__":
    # the embedder cache is where load_embedder("slow:64") finds it; no code is patched
    embedders._CACHE["slow:64"] = SlowEmbedder(64)
    from apipilot.ui.cli import main

    sys.argv = ["apipilot", *sys.argv[1:]]
    main()
