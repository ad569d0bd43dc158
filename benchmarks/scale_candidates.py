"""FAISS index candidates for the scale benchmark; each build and each serve runs in a fresh
process (see :func:`in_child`) so peak and resident memory are that candidate's alone."""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apipilot.retrieval.vector_index import VectorIndex, VectorIndexParams
from benchmarks.scale_data import exact_top_k, iter_chunks, read_rows, recall_at_k, shape_of

K = 10
PRODUCT_PARAMS = VectorIndexParams(kind="ivf-sq8")


@dataclass(frozen=True)
class Candidate:
    name: str
    factory: str  # FAISS index_factory string; {nlist} is filled in from the collection size
    knob: str  # the search-time parameter swept to reach the recall target
    sweep: tuple[int, ...]
    mmap: bool = False  # open with IO_FLAG_MMAP (IVF inverted lists stay on disk)
    ef_construction: int = 0
    k_factor: int = 0  # IndexRefine: candidates re-scored per result
    max_n: int = 0  # skip above this size (0: no limit)
    product: bool = False  # built by apipilot's VectorIndex, and served by it too

    def spec(self, n: int) -> str:
        return self.factory.format(nlist=nlist_for(n))


CANDIDATES = (
    Candidate(
        "ivf-sq8",
        "IVF{nlist},SQ8",
        "nprobe",
        (4, 8, 16, 32, 64, 128),
        mmap=True,
        product=True,
    ),
    Candidate(
        "ivf-pq-refine-sq8",
        "IVF{nlist},PQ96x4fs,Refine(SQ8)",
        "nprobe",
        (4, 8, 16, 32, 64, 128),
        k_factor=16,
    ),
    Candidate("hnsw-sq8", "HNSW32,SQ8", "efSearch", (16, 32, 64, 128, 256), ef_construction=40),
    Candidate(
        "hnsw-flat", "HNSW32", "efSearch", (16, 32, 64, 128), ef_construction=40, max_n=200_000
    ),
    # OPQ64,IVF,PQ64x4fs is not here: training its rotation took 277 s on 20k vectors, and
    # without a refine step its recall@10 stopped at 0.57.
)


def nlist_for(n: int) -> int:
    return PRODUCT_PARAMS.lists(n)


def train_size(n: int) -> int:
    """As the product: 100k rows, or 40 a list when there are more lists (k-means asks 39)."""
    return PRODUCT_PARAMS.training_rows(n)


def faiss_single_thread() -> Any:
    import faiss

    faiss.omp_set_num_threads(1)
    faiss.cvar.distance_compute_blas_threshold = 20  # FACTS.md
    return faiss


def in_child(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``function(*args)`` in a fresh spawned process (its own peak RSS)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: dict[str, Any] = pool.apply(function, args)
    return result


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not ``getrusage``'s ``ru_maxrss``: Linux carries
    it across ``execve``, so a spawned child starts at its parent's peak; ``VmHWM`` does not."""
    return _status_mb("VmHWM:")


def current_rss_mb() -> float:
    return _status_mb("VmRSS:")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def build(candidate: Candidate, vectors: Path, out: Path) -> dict[str, Any]:
    """Train on the first rows (the rows are i.i.d.), add in chunks read from the file."""
    faiss = faiss_single_thread()
    n, dim, _ = shape_of(vectors)
    start = time.perf_counter()
    if candidate.product:
        built = VectorIndex.build_from_chunks(
            n, read_rows(vectors, 0, train_size(n)), iter_chunks(vectors), PRODUCT_PARAMS
        )
        build_s = time.perf_counter() - start
        built.save(out)
        return {
            "build_s": build_s,
            "build_peak_mb": peak_rss_mb(),
            "disk_mb": out.stat().st_size / 2**20,
        }
    index = faiss.index_factory(dim, candidate.spec(n), faiss.METRIC_INNER_PRODUCT)
    if candidate.ef_construction:
        faiss.downcast_index(index).hnsw.efConstruction = candidate.ef_construction
    if not index.is_trained:
        index.train(read_rows(vectors, 0, train_size(n)))
    for chunk in iter_chunks(vectors):
        index.add(chunk)
    build_s = time.perf_counter() - start
    faiss.write_index(index, str(out))
    return {
        "build_s": build_s,
        "build_peak_mb": peak_rss_mb(),
        "disk_mb": out.stat().st_size / 2**20,
    }


def serve(
    candidate: Candidate, index_path: Path, queries: Path, exact: Path, target: float
) -> dict[str, Any]:
    """Open, sweep the knob to the smallest value reaching ``target`` recall@10, then time
    single queries at that value."""
    faiss = faiss_single_thread()
    q = np.load(queries)
    truth = np.load(exact)
    before_open = current_rss_mb()
    start = time.perf_counter()
    flags = faiss.IO_FLAG_MMAP if candidate.mmap else 0
    index = faiss.read_index(str(index_path), flags)
    if candidate.mmap:  # as VectorIndex.load does: no prefetch threads on each search
        faiss.downcast_InvertedLists(index.invlists).prefetch_nthread = 0
    open_s = time.perf_counter() - start
    space = faiss.ParameterSpace()
    if candidate.k_factor:
        faiss.downcast_index(index).k_factor = candidate.k_factor
    sweep: list[dict[str, float]] = []
    chosen = candidate.sweep[-1]
    for value in candidate.sweep:
        space.set_index_parameter(index, candidate.knob, value)
        t0 = time.perf_counter()
        _, ids = index.search(q, K)
        ms = (time.perf_counter() - t0) * 1000 / len(q)
        recall = recall_at_k(ids, truth)
        sweep.append({"value": value, "recall": recall, "batch_ms": ms})
        if recall >= target:
            chosen = value
            break
    space.set_index_parameter(index, candidate.knob, chosen)
    times, found = [], []
    for row in q:
        t0 = time.perf_counter()
        _, ids = index.search(row[None, :], K)
        times.append((time.perf_counter() - t0) * 1000)
        found.append(ids[0])
    times.sort()
    return {
        "open_s": open_s,
        "knob": f"{candidate.knob}={chosen}",
        "recall": recall_at_k(np.array(found), truth),
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "rss_before_open_mb": before_open,
        "rss_serving_mb": current_rss_mb(),
        "serve_peak_mb": peak_rss_mb(),
        "sweep": sweep,
    }


def serve_product(index_path: Path, queries: Path, exact: Path) -> dict[str, Any]:
    """The product's path: ``VectorIndex.load`` with its default search settings."""
    faiss_single_thread()
    q = np.load(queries)
    truth = np.load(exact)
    before_open = current_rss_mb()
    start = time.perf_counter()
    index = VectorIndex.load(index_path, PRODUCT_PARAMS, use_gpu=False)
    open_s = time.perf_counter() - start
    times, found = [], []
    for row in q:
        t0 = time.perf_counter()
        _, ids = index.search(row, K)
        times.append((time.perf_counter() - t0) * 1000)
        found.append(ids[0])
    times.sort()
    return {
        "open_s": open_s,
        "knob": f"nprobe={PRODUCT_PARAMS.sq_nprobe} (default)",
        "recall": recall_at_k(np.array(found), truth),
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "rss_before_open_mb": before_open,
        "rss_serving_mb": current_rss_mb(),
        "serve_peak_mb": peak_rss_mb(),
        "sweep": [],
    }


def ground_truth(vectors: Path, queries: Path, out: Path) -> dict[str, Any]:
    start = time.perf_counter()
    np.save(out, exact_top_k(vectors, np.load(queries), K))
    return {"exact_s": time.perf_counter() - start, "exact_peak_mb": peak_rss_mb()}
