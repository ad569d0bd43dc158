"""The published baselines reproduce: bm25-plain and dense within 0.02 R@5, APIRetriever exactly.

Only the small pools (torchdata, monkey, beatnum) are built, in a temporary home.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apipilot.evaluation.data import PUBLISHED_R5
from apipilot.evaluation.harness import run_eval
from apipilot.evaluation.methods import Env, get_method
from apipilot.evaluation.report import baseline_gaps
from apipilot.evaluation.suites import fine_suite
from apipilot.indexes.building import build_from_source
from apipilot.indexes.store import IndexStore

SMALL = ("torchdata", "monkey", "beatnum")
TOLERANCE = 0.02


def _store(root: Path, embedder: str) -> IndexStore:
    store = IndexStore(root)
    for library in SMALL:
        build_from_source(store, f"corpus:{library}@pool", embedder_spec=embedder)
    return store


@pytest.fixture(scope="module")
def hashing_store(tmp_path_factory: pytest.TempPathFactory) -> IndexStore:
    return _store(tmp_path_factory.mktemp("hashing-home"), "hashing")


def test_bm25_plain_and_apiretriever_reproduce_the_published_numbers(
    hashing_store: IndexStore,
) -> None:
    methods = [get_method("bm25-plain"), get_method("apiretriever")]
    cells = run_eval([fine_suite(lib) for lib in SMALL], methods, Env(hashing_store))
    gaps = baseline_gaps(cells)
    assert len(gaps) == 6
    for cell, gap in gaps:
        assert gap <= TOLERANCE, (cell.library, cell.method, cell.metrics["R@5"])
    apiretriever = [c for c in cells if c.method == "apiretriever"]
    for cell in apiretriever:
        assert round(cell.metrics["R@5"], 3) == PUBLISHED_R5[cell.library][2]


@pytest.mark.model
def test_dense_reproduces_the_minilm_baseline(tmp_path: Path) -> None:
    import torch

    torch.set_num_threads(1)
    store = _store(tmp_path, "minilm")
    cells = run_eval([fine_suite(lib) for lib in SMALL], [get_method("dense")], Env(store))
    gaps = baseline_gaps(cells)
    assert len(gaps) == 3
    for cell, gap in gaps:
        assert gap <= TOLERANCE, (cell.library, cell.metrics["R@5"])
