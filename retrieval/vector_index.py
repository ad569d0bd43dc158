"""Inner-product search over FAISS: exact when small, approximate when large, GPU when present."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from apipilot.retrieval.device import faiss_gpu_count
from apipilot.retrieval.embedder import Vectors
from apipilot.retrieval.errors import ConfigError

KINDS: tuple[str, ...] = ("auto", "flat", "hnsw", "ivf", "ivf-sq8")
_IVF_SQ_FOURCC = b"IwSq"  # how a FAISS file of an IndexIVFScalarQuantizer starts


@functools.cache
def _faiss() -> Any:
    import faiss

    # FAISS 1.15.1 batch search on flat indexes is ~10x slow below this threshold (FACTS.md).
    faiss.cvar.distance_compute_blas_threshold = 20
    return faiss


@dataclass(frozen=True)
class VectorIndexParams:
    """How to build the index. ``auto`` is exact below ``exact_threshold`` vectors, else
    HNSW on CPU or IVF on GPU (FAISS has no GPU HNSW); on CPU from ``compact_threshold``
    vectors, IVF over 8-bit scalar-quantised vectors (``ivf-sq8``: a byte a dimension instead
    of four, inverted lists memory-mapped from the file, built in chunks; the numbers behind
    the choice are in docs/benchmarks.md, "Scale: 1M records")."""

    kind: str = "auto"
    exact_threshold: int = 20_000
    compact_threshold: int = 200_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 64
    ivf_nprobe: int = 32
    sq_lists: int = 0  # ivf-sq8's inverted lists; 0: ivf_lists(count), about 4 sqrt(count)
    sq_nprobe: int = 32  # lists an ivf-sq8 search visits: 16 reached recall@10 0.98 at 1M
    sq_train_size: int = 100_000  # rows sampled to fit the lists and the 8-bit ranges (or more:
    # at least 40 a list, as FAISS's k-means asks)
    add_chunk: int = 50_000  # rows added at a time: a build never copies the whole collection

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown vector index kind {self.kind!r}; valid: {', '.join(KINDS)}")

    def resolve(self, count: int, gpu: bool) -> str:
        if self.kind != "auto":
            return self.kind
        if count < self.exact_threshold:
            return "flat"
        if gpu:
            return "ivf"
        return "ivf-sq8" if count >= self.compact_threshold else "hnsw"

    def training_rows(self, count: int) -> int:
        """How many of ``count`` rows an ``ivf-sq8`` build trains on."""
        return min(count, max(self.sq_train_size, 40 * self.lists(count)))

    def lists(self, count: int) -> int:
        return self.sq_lists or ivf_lists(count)


class VectorIndex:
    """Cosine search over L2-normalised vectors (inner product)."""

    def __init__(self, cpu_index: Any, kind: str, params: VectorIndexParams, *, gpu: bool) -> None:
        self._cpu_index = cpu_index
        self.kind = kind
        self.params = params
        self._apply_search_params(cpu_index)
        self._search_index = self._to_gpu(cpu_index) if gpu else cpu_index
        self.on_gpu = gpu

    @classmethod
    def build(
        cls,
        vectors: Vectors,
        params: VectorIndexParams | None = None,
        *,
        use_gpu: bool | None = None,
    ) -> VectorIndex:
        params = params or VectorIndexParams()
        faiss = _faiss()
        vectors = _as_matrix(vectors)
        count, dim = vectors.shape
        gpu = _want_gpu(use_gpu)
        kind = params.resolve(count, gpu)
        if kind == "ivf-sq8":
            sample = _training_sample(vectors, params.training_rows(count))
            chunks = _chunks(vectors, params.add_chunk)
            return cls.build_from_chunks(count, sample, chunks, params, use_gpu=use_gpu)
        index: Any
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = params.hnsw_ef_construction
        else:
            nlist = ivf_lists(count)
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
        if count:
            index.add(vectors)
        return cls(index, kind, params, gpu=gpu)

    @classmethod
    def build_from_chunks(
        cls,
        count: int,
        sample: Vectors,
        chunks: Iterable[Vectors],
        params: VectorIndexParams | None = None,
        *,
        use_gpu: bool | None = None,
    ) -> VectorIndex:
        """An ``ivf-sq8`` index of ``count`` vectors that need not fit in memory: the lists and
        the 8-bit ranges are fitted on ``sample`` (rows drawn from the collection, see
        :meth:`VectorIndexParams.training_rows`), then ``chunks`` (the rows, in id order) are
        added one at a time, so only one chunk is held beside the index."""
        params = params or VectorIndexParams(kind="ivf-sq8")
        if params.kind not in ("auto", "ivf-sq8"):
            raise ConfigError(f"build_from_chunks builds kind 'ivf-sq8', not {params.kind!r}")
        if use_gpu:
            raise ConfigError("ivf-sq8 is built and served on CPU; got use_gpu=True")
        faiss = _faiss()
        sample = _as_matrix(sample)
        if len(sample) == 0:
            raise ConfigError(f"training sample must have rows, got shape {sample.shape}")
        dim = int(sample.shape[1])
        quantizer = faiss.IndexFlatIP(dim)
        nlist = params.lists(count)
        qt_8bit = faiss.ScalarQuantizer.QT_8bit
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, qt_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.train(sample)
        added = 0
        for chunk in chunks:
            matrix = _as_matrix(chunk)
            if matrix.shape[1] != dim:
                raise ConfigError(f"chunk dimension {matrix.shape[1]} != sample dimension {dim}")
            index.add(matrix)
            added += len(matrix)
        if added != count:
            raise ConfigError(f"chunks held {added} rows, but count is {count}")
        return cls(index, "ivf-sq8", params, gpu=False)

    @property
    def dim(self) -> int:
        return int(self._cpu_index.d)

    def __len__(self) -> int:
        return int(self._cpu_index.ntotal)

    def search(
        self, queries: Vectors, k: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Top-``k`` per query: ``(scores, ids)``, each ``(n_queries, k)``; missing ids are -1."""
        queries = _as_matrix(queries)
        if queries.shape[1] != self.dim:
            raise ConfigError(f"query dimension {queries.shape[1]} != index dimension {self.dim}")
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        if len(self) == 0 or queries.shape[0] == 0:
            return (
                np.full((queries.shape[0], k), -np.inf, dtype=np.float32),
                np.full((queries.shape[0], k), -1, dtype=np.int64),
            )
        scores, ids = self._search_index.search(queries, k)
        return scores.astype(np.float32), ids.astype(np.int64)

    def save(self, path: Path) -> None:
        _faiss().write_index(self._cpu_index, str(path))

    @classmethod
    def load(
        cls, path: Path, params: VectorIndexParams | None = None, *, use_gpu: bool | None = None
    ) -> VectorIndex:
        faiss = _faiss()
        with path.open("rb") as handle:
            compact = handle.read(4) == _IVF_SQ_FOURCC
        # ivf-sq8's inverted lists stay in the file, paged in as searches touch them
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP if compact else 0)
        if compact:
            # the mapped lists' default prefetch starts threads on every search: ~5 ms a
            # single query at 1M records, against ~1.3 ms without (docs/benchmarks.md)
            faiss.downcast_InvertedLists(index.invlists).prefetch_nthread = 0
        kind = "hnsw" if hasattr(index, "hnsw") else "ivf" if hasattr(index, "nprobe") else "flat"
        if compact:
            kind = "ivf-sq8"
        gpu = _want_gpu(use_gpu) and kind not in ("hnsw", "ivf-sq8")
        return cls(index, kind, params or VectorIndexParams(), gpu=gpu)

    def _apply_search_params(self, index: Any) -> None:
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = self.params.hnsw_ef_search
        if hasattr(index, "nprobe"):
            index.nprobe = self.params.ivf_nprobe
        if self.kind == "ivf-sq8":
            index.nprobe = self.params.sq_nprobe

    def _to_gpu(self, index: Any) -> Any:
        faiss = _faiss()
        resources = faiss.StandardGpuResources()
        gpu_index = faiss.index_cpu_to_gpu(resources, 0, index)
        gpu_index.referenced_resources = resources  # keep alive as long as the index
        if hasattr(gpu_index, "nprobe"):
            gpu_index.nprobe = self.params.ivf_nprobe
        return gpu_index


def _want_gpu(use_gpu: bool | None) -> bool:
    available = faiss_gpu_count() > 0
    if use_gpu and not available:
        raise ConfigError("use_gpu=True but FAISS sees no GPU (faiss.get_num_gpus() == 0)")
    return available if use_gpu is None else use_gpu


def ivf_lists(count: int) -> int:
    """Inverted lists for ``count`` vectors: ~4 sqrt(count), at least 39 vectors a list."""
    return max(1, min(int(4 * math.sqrt(count)), count // 39 or 1))


def _training_sample(vectors: Vectors, size: int) -> Vectors:
    """Up to ``size`` rows drawn without replacement (fixed seed: builds are reproducible)."""
    if len(vectors) <= size:
        return vectors
    rows = np.sort(np.random.default_rng(0).choice(len(vectors), size, replace=False))
    return np.ascontiguousarray(vectors[rows])


def _chunks(vectors: Vectors, size: int) -> Iterator[Vectors]:
    for start in range(0, len(vectors), size):
        yield vectors[start : start + size]


def _as_matrix(vectors: Vectors) -> Vectors:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2:
        raise ConfigError(f"expected a 2-d array of vectors, got shape {matrix.shape}")
    return matrix
