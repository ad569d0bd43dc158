"""The compact index kind for large collections: ``ivf-sq8`` (issue 18, scale past RAM)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.vector_index import VectorIndex, VectorIndexParams

DIM = 96
SMALL = VectorIndexParams(
    exact_threshold=1_000,
    compact_threshold=10_000,
    sq_lists=64,
    sq_nprobe=24,
    sq_train_size=5_000,
    add_chunk=3_000,
)


def normalised(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


def clustered(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` records and 100 queries from 200 clusters with anisotropic noise."""
    rng = np.random.default_rng(seed)
    centres = normalised(rng.standard_normal((200, DIM)))
    scales = 0.45 / np.sqrt(np.arange(1, DIM + 1)) * np.exp(0.5 * rng.standard_normal((200, DIM)))

    def draw(count: int) -> np.ndarray:
        cluster = rng.integers(0, 200, count)
        return normalised(centres[cluster] + rng.standard_normal((count, DIM)) * scales[cluster])

    return draw(n), draw(100)


def exact_top_10(base: np.ndarray, queries: np.ndarray) -> np.ndarray:
    return np.argsort(-(queries @ base.T), axis=1, kind="stable")[:, :10]


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)]))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered(20_000, 0)


@pytest.fixture(scope="module")
def built(data: tuple[np.ndarray, np.ndarray]) -> VectorIndex:
    return VectorIndex.build(data[0], SMALL, use_gpu=False)


def test_auto_picks_the_compact_kind_only_from_the_threshold_on_cpu() -> None:
    params = VectorIndexParams()
    assert params.resolve(params.exact_threshold - 1, gpu=False) == "flat"
    assert params.resolve(params.compact_threshold - 1, gpu=False) == "hnsw"
    assert params.resolve(params.compact_threshold, gpu=False) == "ivf-sq8"
    assert params.resolve(1_000_000, gpu=False) == "ivf-sq8"
    assert params.resolve(1_000_000, gpu=True) == "ivf"
    assert VectorIndexParams(kind="ivf-sq8").resolve(10, gpu=False) == "ivf-sq8"
    # FAISS's k-means wants >= 39 rows a list: 1M rows, 4,000 lists, 160,000 training rows
    assert params.training_rows(1_000_000) == 160_000 and params.lists(1_000_000) == 4_000


def test_recall_at_10_against_exact_search(
    built: VectorIndex, data: tuple[np.ndarray, np.ndarray]
) -> None:
    base, queries = data
    assert built.kind == "ivf-sq8" and len(built) == len(base) and not built.on_gpu
    _, ids = built.search(queries, 10)
    assert recall(ids, exact_top_10(base, queries)) >= 0.9


def test_save_load_round_trip_keeps_kind_and_results(
    built: VectorIndex, data: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "v.faiss"
    built.save(path)
    loaded = VectorIndex.load(path, SMALL, use_gpu=False)
    assert loaded.kind == "ivf-sq8" and len(loaded) == len(built)
    queries = data[1]
    assert (loaded.search(queries, 10)[1] == built.search(queries, 10)[1]).all()
    # a byte a dimension, an 8-byte id a row and 64 centroids, against 4 bytes a dimension
    assert path.stat().st_size < 0.3 * data[0].nbytes


def test_load_maps_the_lists_without_prefetch_threads(built: VectorIndex, tmp_path: Path) -> None:
    import faiss

    built.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss", SMALL, use_gpu=False)
    lists = faiss.downcast_InvertedLists(loaded._cpu_index.invlists)
    assert isinstance(lists, faiss.OnDiskInvertedLists)  # paged in from the file, not copied
    # FAISS's default (32 prefetch threads started per search) made a single query ~4x slower
    assert lists.prefetch_nthread == 0


def test_build_from_chunks_reads_each_chunk_once_in_order(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    base, _ = data
    served: list[int] = []

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, len(base), 4_000):
            served.append(start)
            yield base[start : start + 4_000]

    index = VectorIndex.build_from_chunks(len(base), base[:5_000], chunks(), SMALL)
    assert served == list(range(0, len(base), 4_000)) and len(index) == len(base)
    _, ids = index.search(base[[0, 12_345, 19_999]], 1)
    assert ids[:, 0].tolist() == [0, 12_345, 19_999]  # ids follow the chunks' row order


def test_build_from_a_memory_map_never_copies_the_collection(tmp_path: Path) -> None:
    base, _ = clustered(20_000, 1)
    np.save(tmp_path / "vectors.npy", base)
    mapped = np.load(tmp_path / "vectors.npy", mmap_mode="r")
    tracemalloc.start()
    try:
        index = VectorIndex.build(mapped, SMALL, use_gpu=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert index.kind == "ivf-sq8" and len(index) == len(base)
    # the training sample (5,000 rows) is the largest array a build allocates
    assert peak < 0.5 * base.nbytes, peak


def test_bad_inputs_name_the_value(data: tuple[np.ndarray, np.ndarray]) -> None:
    base, _ = data
    with pytest.raises(ConfigError, match="chunk dimension 8 != sample dimension 96"):
        VectorIndex.build_from_chunks(10, base[:500], [base[:10, :8]], SMALL)
    with pytest.raises(ConfigError, match="chunks held 10 rows, but count is 20"):
        VectorIndex.build_from_chunks(20, base[:500], [base[:10]], SMALL)
    with pytest.raises(ConfigError, match=r"training sample must have rows, got shape \(0, 96\)"):
        VectorIndex.build_from_chunks(10, base[:0], [], SMALL)
    with pytest.raises(ConfigError, match="not 'ivf'"):
        VectorIndex.build_from_chunks(10, base[:500], [], VectorIndexParams(kind="ivf"))
    with pytest.raises(ConfigError, match="use_gpu=True"):
        VectorIndex.build_from_chunks(10, base[:500], [], SMALL, use_gpu=True)


def test_the_store_builds_and_reopens_an_ivf_sq8_index(tmp_path: Path) -> None:
    from apipilot.indexes.sources import read_source
    from apipilot.indexes.store import IndexStore
    from apipilot.retrieval.embedder import HashingEmbedder

    records = read_source("corpus:torchdata@pool").report.records
    embedder = HashingEmbedder(64)
    store = IndexStore(tmp_path)
    meta, _ = store.build(
        records,
        library="td",
        version="1",
        embedder=embedder,
        embedder_spec="hashing:64",
        params=VectorIndexParams(kind="ivf-sq8"),
    )
    assert meta.vector_index["kind"] == "ivf-sq8"
    opened = store.open("td", "1", embedder).searcher.vectors
    assert isinstance(opened, VectorIndex)
    assert opened.kind == "ivf-sq8" and len(opened) == len(records)
