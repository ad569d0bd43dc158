"""Synthetic 384-d collections for the scale benchmark, written and read in chunks.

The vectors are a mixture of Gaussian clusters with anisotropic noise around centres that are
real MiniLM embeddings of shipped API texts (or, without the model, correlated random centres),
L2-normalised. They are generated straight into a ``.npy`` file and read back with plain file
reads, so neither the generator nor a reader ever holds the whole collection: pages read through
a memory map would count towards the reader's resident memory, file reads do not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from apipilot.indexes.sources import read_source

Matrix = npt.NDArray[np.float32]

CHUNK = 50_000  # rows per generated / read chunk: 77 MB at 384-d
CENTRE_CORPORA = ("corpus:numpy@pool", "corpus:pandas@pool")


@dataclass(frozen=True)
class Mixture:
    """Clusters around ``centres``; noise is ``(z * scales[cluster]) @ rotation``."""

    centres: Matrix  # (k, dim), unit rows
    scales: Matrix  # (k, dim), per-cluster standard deviation along each rotated axis
    rotation: Matrix  # (dim, dim), orthonormal

    @classmethod
    def around(cls, centres: Matrix, noise: float, seed: int) -> Mixture:
        """Noise of expected norm ``noise`` with a decaying spectrum (a few directions carry
        most of it, as in real embeddings) jittered per cluster."""
        rng = np.random.default_rng(seed)
        k, dim = centres.shape
        rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        spectrum = 1.0 / np.sqrt(np.arange(1, dim + 1))
        jitter = np.exp(0.5 * rng.standard_normal((k, dim)))
        scales = spectrum * jitter
        scales *= noise / np.sqrt((scales**2).sum(axis=1, keepdims=True))
        return cls(_normalised(centres), scales.astype(np.float32), rotation.astype(np.float32))

    @property
    def dim(self) -> int:
        return int(self.centres.shape[1])

    def sample(self, n: int, rng: np.random.Generator) -> Matrix:
        cluster = rng.integers(0, len(self.centres), n)
        z = rng.standard_normal((n, self.dim), dtype=np.float32)
        points = self.centres[cluster] + (z * self.scales[cluster]) @ self.rotation
        return _normalised(points)


def gaussian_centres(k: int, dim: int, seed: int) -> Matrix:
    """Correlated random centres: ``k`` clusters grouped under ``k // 40`` topics."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((max(1, k // 40), dim)).astype(np.float32)
    shared = rng.standard_normal(dim).astype(np.float32)  # embeddings share a mean direction
    centres = (
        0.5 * shared + topics[rng.integers(0, len(topics), k)] + 0.8 * rng.standard_normal((k, dim))
    )
    return _normalised(centres.astype(np.float32))


def real_centres(k: int, seed: int) -> Matrix:
    """MiniLM embeddings of ``k`` distinct API texts from the shipped numpy and pandas pools."""
    from apipilot.retrieval.embedder import load_embedder

    texts = sorted({r.search_text() for c in CENTRE_CORPORA for r in read_source(c).report.records})
    rng = np.random.default_rng(seed)
    chosen = [texts[i] for i in rng.choice(len(texts), min(k, len(texts)), replace=False)]
    return _normalised(load_embedder("minilm").encode(chosen))


def write_collection(path: Path, n: int, mixture: Mixture, seed: int) -> None:
    """``n`` points of ``mixture`` into the ``.npy`` file ``path``, one chunk at a time."""
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, mixture.dim))
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        out[start:stop] = mixture.sample(stop - start, rng)
        out.flush()
    del out


def shape_of(path: Path) -> tuple[int, int, int]:
    """``(rows, dim, data offset in bytes)`` of a float32 ``.npy`` file."""
    header = np.load(path, mmap_mode="r", allow_pickle=False)
    if header.dtype != np.float32 or header.ndim != 2:
        raise ValueError(
            f"{path}: expected a 2-d float32 array, found {header.dtype} {header.shape}"
        )
    rows, dim = header.shape
    return int(rows), int(dim), int(header.offset)


def read_rows(path: Path, start: int, stop: int) -> Matrix:
    rows, dim, offset = shape_of(path)
    stop = min(stop, rows)
    data = np.fromfile(
        path, dtype=np.float32, count=(stop - start) * dim, offset=offset + start * dim * 4
    )
    return data.reshape(stop - start, dim)


def iter_chunks(path: Path, chunk: int = CHUNK) -> Iterator[Matrix]:
    rows, _, _ = shape_of(path)
    for start in range(0, rows, chunk):
        yield read_rows(path, start, start + chunk)


def exact_top_k(path: Path, queries: Matrix, k: int) -> npt.NDArray[np.int64]:
    """Ids of the ``k`` largest inner products per query, by brute force over the chunks."""
    import faiss

    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.full((len(queries), k), -1, dtype=np.int64)
    start = 0
    for block in iter_chunks(path):
        scores, ids = faiss.knn(queries, block, k, metric=faiss.METRIC_INNER_PRODUCT)
        all_scores = np.hstack([best_scores, scores])
        all_ids = np.hstack([best_ids, ids + start])
        keep = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(all_scores, keep, 1)
        best_ids = np.take_along_axis(all_ids, keep, 1)
        start += len(block)
    return best_ids


def recall_at_k(found: npt.NDArray[np.int64], exact: npt.NDArray[np.int64]) -> float:
    k = int(exact.shape[1])
    hits = [len(set(f[:k].tolist()) & set(e.tolist())) for f, e in zip(found, exact, strict=True)]
    return float(np.mean(hits)) / k


def _normalised(x: npt.NDArray[np.floating]) -> Matrix:
    out: Matrix = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out
