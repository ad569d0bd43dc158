from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("APIPILOT_RERANKER", "none")  # tests that want one pass it

from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import Embedder, HashingEmbedder, load_embedder

# The fuzz tests draw the same examples on every run, so a run that passed passes again (CI
# lands on it); `HYPOTHESIS_PROFILE=explore pytest tests/test_reader_fuzz.py` draws new ones.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

REPO = Path(__file__).resolve().parent.parent


def make_record(name: str, summary: str, library: str = "demo", version: str = "1.0") -> ApiRecord:
    return ApiRecord(
        id=f"{library}.{name}",
        library=library,
        version=version,
        name=name,
        qualified_name=f"{library}.{name}",
        kind="function",
        signature="(x)",
        summary=summary,
        doc=summary,
    )


DEMO = [
    ("shuffle", "Shuffle the elements of a sequence randomly"),
    ("batch", "Group consecutive elements into mini-batches of a given size"),
    ("parse_csv", "Parse rows of comma separated values from text files"),
    ("list_files", "List the files in a directory matching a pattern"),
    ("open_files", "Open files and yield file handles"),
    ("zip_with", "Combine two sequences element by element"),
    ("filter", "Keep only the elements for which a predicate is true"),
    ("map", "Apply a function to every element"),
]


@pytest.fixture
def demo_records() -> list[ApiRecord]:
    return [make_record(n, s) for n, s in DEMO]


@pytest.fixture
def hashing() -> Embedder:
    return HashingEmbedder(64)


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "home")


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """The shipped all-MiniLM-L6-v2, loaded once per test session."""
    import torch

    torch.set_num_threads(1)
    return load_embedder("minilm")
