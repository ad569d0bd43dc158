"""Inner-product search over FAISS: exact when small, approximate when large, GPU when present."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from apipilot.retrieval.device import faiss_gpu_count
from apipilot.retrieval.embedder import Vectors
from apipilot.retrieval.errors import ConfigError

KINDS: tuple[str, ...] = ("auto", "flat", "hnsw", "ivf")


@functools.cache
def _faiss() -> Any:
    import faiss

    # FAISS 1.15.1 batch search on flat indexes is ~10x slow below this threshold (FACTS.md).
    faiss.cvar.distance_compute_blas_threshold = 20
    return faiss


@dataclass(frozen=True)
class VectorIndexParams:
    """How to build the index. ``auto`` is exact below ``exact_threshold`` vectors, else
    HNSW on CPU or IVF on GPU (FAISS has no GPU HNSW)."""

    kind: str = "auto"
    exact_threshold: int = 20_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 64
    ivf_nprobe: int = 32

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown vector index kind {self.kind!r}; valid: {', '.join(KINDS)}")

    def resolve(self, count: int, gpu: bool) -> str:
        if self.kind != "auto":
            return self.kind
        if count < self.exact_threshold:
            return "flat"
        return "ivf" if gpu else "hnsw"


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
        index: Any
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = params.hnsw_ef_construction
        else:
            nlist = max(1, min(int(4 * math.sqrt(count)), count // 39 or 1))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
        if count:
            index.add(vectors)
        return cls(index, kind, params, gpu=gpu)

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
        index = faiss.read_index(str(path))
        kind = "hnsw" if hasattr(index, "hnsw") else "ivf" if hasattr(index, "nprobe") else "flat"
        gpu = _want_gpu(use_gpu) and kind != "hnsw"
        return cls(index, kind, params or VectorIndexParams(), gpu=gpu)

    def _apply_search_params(self, index: Any) -> None:
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = self.params.hnsw_ef_search
        if hasattr(index, "nprobe"):
            index.nprobe = self.params.ivf_nprobe

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


def _as_matrix(vectors: Vectors) -> Vectors:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2:
        raise ConfigError(f"expected a 2-d array of vectors, got shape {matrix.shape}")
    return matrix
