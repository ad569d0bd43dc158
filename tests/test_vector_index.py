from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.vector_index import VectorIndex, VectorIndexParams


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def brute_force(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ base.T), axis=1, kind="stable")[:, :k]


def test_flat_equals_brute_force() -> None:
    base, queries = unit_vectors(2000, 32, 0), unit_vectors(50, 32, 1)
    index = VectorIndex.build(base)
    assert index.kind == "flat" and not index.on_gpu
    scores, ids = index.search(queries, 10)
    expected = brute_force(base, queries, 10)
    assert (ids == expected).all()
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ base.T, ids, 1), rtol=1e-5)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_recall_against_exact(kind: str) -> None:
    # clustered data, as embeddings are: random points around 100 centres
    rng = np.random.default_rng(3)
    centres = unit_vectors(100, 48, 4)
    base = centres[rng.integers(0, 100, 6000)] + 0.1 * rng.standard_normal((6000, 48))
    base = (base / np.linalg.norm(base, axis=1, keepdims=True)).astype(np.float32)
    queries = base[rng.integers(0, 6000, 100)] + 0.05 * rng.standard_normal((100, 48))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    index = VectorIndex.build(base, VectorIndexParams(exact_threshold=1000))
    assert index.kind == "hnsw"  # auto on CPU above the threshold
    approx = VectorIndex.build(base, VectorIndexParams(kind=kind))
    _, ids = approx.search(queries, 10)
    exact = brute_force(base, queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ids, exact, strict=True)])
    assert recall >= 0.9, recall


def test_save_load_round_trip(tmp_path: Path) -> None:
    base = unit_vectors(3000, 16, 5)
    index = VectorIndex.build(base, VectorIndexParams(kind="hnsw"))
    index.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss")
    assert loaded.kind == "hnsw" and len(loaded) == 3000
    q = unit_vectors(5, 16, 6)
    assert (loaded.search(q, 5)[1] == index.search(q, 5)[1]).all()


def test_k_larger_than_collection_and_empty_index() -> None:
    index = VectorIndex.build(unit_vectors(3, 8, 7))
    _, ids = index.search(unit_vectors(1, 8, 8), 5)
    assert list(ids[0][3:]) == [-1, -1]
    empty = VectorIndex.build(np.zeros((0, 8), dtype=np.float32))
    assert (empty.search(unit_vectors(2, 8, 9), 3)[1] == -1).all()


def test_bad_arguments_name_the_value() -> None:
    index = VectorIndex.build(unit_vectors(10, 8, 10))
    with pytest.raises(ConfigError, match="dimension 4"):
        index.search(unit_vectors(1, 4, 11), 3)
    with pytest.raises(ConfigError, match="k must be"):
        index.search(unit_vectors(1, 8, 11), 0)
    with pytest.raises(ConfigError, match="'annoy'"):
        VectorIndexParams(kind="annoy")


def test_gpu_request_without_gpu_is_a_clear_error() -> None:
    from apipilot.retrieval.device import faiss_gpu_count

    if faiss_gpu_count() > 0:
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="no GPU"):
        VectorIndex.build(unit_vectors(10, 8, 12), use_gpu=True)
