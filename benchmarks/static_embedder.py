"""A model2vec static embedder distilled from the shipped all-MiniLM-L6-v2 against MiniLM on
torch (what index builds use): dense and fused R@5 on the fine suites, and build-time texts/s.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.static_embedder --model DIR \
        [--model DIR2] [--libraries torchdata monkey beatnum] [--split dev test] \
        [--minilm-libraries torchdata monkey beatnum] [--texts 800] [--rounds 3]

``DIR`` is a model2vec model directory, distilled from the shipped MiniLM with

    from model2vec.distill import distill
    from apipilot.retrieval.embedder import shipped_minilm_path
    distill(model_name=str(shipped_minilm_path()), pca_dims=256).save_pretrained(DIR)

(model2vec 0.10 needs ``skeletoken`` to distill; its ``[distill]`` extra also pins
``transformers<5.4``, which distillation does not need: install ``model2vec skeletoken``.)

R@5: every pool record's index text (``ApiRecord.search_text``; the pool corpora have no
passages or guides, so these are all the search units) embedded by each model and searched in
memory through the product's ``HybridSearcher`` (exact cosine, the product BM25 over the same
texts, ``DEFAULT_WEIGHTS``), 50 deep, in ``dense`` and ``fused`` mode; each task's single
query, scored as the harness does (record identity, ``ranked_names``, ``recall_at`` 5) on the
fine suite's dev or test tasks. MiniLM runs only on ``--minilm-libraries`` (its pandas and
numpy pools take minutes on a CPU). Rate: the first ``--texts`` pandas pool texts, rounds
alternating between the embedders so machine load hits them alike; the median round is shown.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apipilot.evaluation.data import LIBRARIES
from apipilot.evaluation.methods import identity
from apipilot.evaluation.metrics import recall_at
from apipilot.evaluation.naming import ranked_names
from apipilot.evaluation.suites import Suite, fine_suite, with_split
from apipilot.indexes.api_index import search_units
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.sources import read_source
from apipilot.retrieval.bm25 import BM25Index
from apipilot.retrieval.embedder import Embedder, Vectors, minilm_embedder
from apipilot.retrieval.exact_index import ExactIndex
from apipilot.retrieval.search import HybridSearcher, Mode

SMALL_POOLS = ("torchdata", "monkey", "beatnum")
SPLITS = ("dev", "test", "all")
MODES: tuple[Mode, ...] = ("dense", "fused")
DEPTH = 50
K = 5
MINILM = "MiniLM (torch, batch 64)"


class StaticEmbedder:
    """A model2vec static model: token vectors looked up and mean-pooled, no network."""

    backend = "model2vec"

    def __init__(self, model_dir: Path, *, batch_size: int = 1024) -> None:
        self._model_dir = model_dir
        self._batch_size = batch_size
        self._model: Any = None

    @property
    def name(self) -> str:
        return f"model2vec:{self._model_dir.name}"

    def _load(self) -> Any:
        if self._model is None:
            from model2vec import StaticModel

            self._model = StaticModel.from_pretrained(str(self._model_dir))
        return self._model

    @property
    def dim(self) -> int:
        return int(self._load().dim)

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(
            self._load().encode(
                list(texts),
                batch_size=self._batch_size,
                show_progress_bar=show_progress,
                use_multiprocessing=False,
            ),
            dtype=np.float32,
        )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return np.ascontiguousarray(vectors)


@dataclass
class Pool:
    library: str
    records: list[ApiRecord]
    texts: list[str]
    bm25: BM25Index


def load_pool(library: str) -> Pool:
    records = list(read_source(f"corpus:{library}@pool").report.records)
    texts = [r.search_text() for r in records]
    return Pool(library, records, texts, BM25Index.build(texts))


def r_at_5(searcher: HybridSearcher, pool: Pool, suite: Suite, mode: Mode) -> float:
    """Mean R@5 of ``suite``'s tasks, one query each, ranked by ``searcher`` in ``mode``."""
    if not suite.tasks:
        return float("nan")
    results = searcher.search_batch([t.query for t in suite.tasks], DEPTH, mode)
    scores = [
        recall_at(
            ranked_names([identity(pool.records[h.doc], suite) for h in hits], t.gold), t.gold, K
        )
        for t, hits in zip(suite.tasks, results, strict=True)
    ]
    return float(np.mean(scores))


def searcher_for(embedder: Embedder, pool: Pool) -> tuple[HybridSearcher, float]:
    """The product's searcher over ``pool`` with ``embedder``'s vectors; seconds to embed."""
    start = time.perf_counter()
    vectors = embedder.encode(pool.texts)
    seconds = time.perf_counter() - start
    units = search_units(pool.records)
    return HybridSearcher(embedder, ExactIndex(vectors), pool.bm25, units=units), seconds


@dataclass
class Row:
    library: str
    split: str
    tasks: int
    bm25: float
    scores: dict[str, dict[str, float]]  # embedder label -> mode -> R@5


def score_library(
    library: str, splits: Sequence[str], embedders: dict[str, Embedder]
) -> tuple[list[Row], dict[str, float]]:
    pool = load_pool(library)
    searchers: dict[str, HybridSearcher] = {}
    seconds: dict[str, float] = {}
    for label, embedder in embedders.items():
        searchers[label], seconds[label] = searcher_for(embedder, pool)
    any_searcher = next(iter(searchers.values()))
    rows = []
    for split in splits:
        suite = with_split(fine_suite(library), split)
        rows.append(
            Row(
                library,
                split,
                len(suite.tasks),
                r_at_5(any_searcher, pool, suite, "bm25"),
                {
                    label: {mode: r_at_5(s, pool, suite, mode) for mode in MODES}
                    for label, s in searchers.items()
                },
            )
        )
    return rows, seconds


def rates(embedders: dict[str, Embedder], texts: list[str], rounds: int) -> dict[str, list[float]]:
    """texts/s of each embedder on ``texts``, one value a round, rounds alternating."""
    for embedder in embedders.values():
        embedder.encode(texts[:32])  # load and warm up
    out: dict[str, list[float]] = {label: [] for label in embedders}
    for _ in range(rounds):
        for label, embedder in embedders.items():
            start = time.perf_counter()
            embedder.encode(texts)
            out[label].append(len(texts) / (time.perf_counter() - start))
    return out


def _cell(value: float | None) -> str:
    return "–" if value is None or np.isnan(value) else f"{value:.3f}"


def print_recall(rows: list[Row], labels: list[str]) -> None:
    statics = [label for label in labels if label != MINILM]
    head = ["library", "split", "tasks", "bm25"]
    for mode in MODES:
        head += [f"{MINILM.split(' ')[0]} {mode}"]
        for label in statics:
            head += [f"{label} {mode}", f"Δ {mode}"]
    print(f"## R@{K}, fine suites, single query ({DEPTH} deep, product searcher)\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        cells = [row.library, row.split, str(row.tasks), _cell(row.bm25)]
        for mode in MODES:
            base = row.scores.get(MINILM, {}).get(mode)
            cells.append(_cell(base))
            for label in statics:
                value = row.scores[label][mode]
                cells += [_cell(value), "–" if base is None else f"{value - base:+.3f}"]
        print("| " + " | ".join(cells) + " |")
    print()


def print_rates(
    measured: dict[str, list[float]], embedders: dict[str, Embedder], texts: int, rounds: int
) -> None:
    base = statistics.median(measured[MINILM]) if MINILM in measured else None
    print(f"## Build-time embedding rate, {texts} pandas pool texts, median of {rounds} rounds\n")
    print("| embedder | dim | texts/s (median) | rounds | x MiniLM |")
    print("|---|---|---|---|---|")
    for label, values in measured.items():
        median = statistics.median(values)
        ratio = "–" if base is None else f"{median / base:.1f}"
        rounds_text = ", ".join(f"{v:.0f}" for v in values)
        dim = embedders[label].dim
        print(f"| {label} | {dim} | {median:.0f} | {rounds_text} | {ratio} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", action="append", required=True, type=Path)
    parser.add_argument("--libraries", nargs="+", choices=LIBRARIES, default=list(SMALL_POOLS))
    parser.add_argument("--split", nargs="+", choices=SPLITS, default=["dev", "test"])
    parser.add_argument(
        "--minilm-libraries", nargs="*", choices=LIBRARIES, default=list(SMALL_POOLS)
    )
    parser.add_argument("--texts", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    minilm = minilm_embedder("torch")  # index builds: torch, batch 64, 256 tokens
    statics: dict[str, Embedder] = {}
    for model_dir in args.model:
        embedder = StaticEmbedder(model_dir.expanduser().resolve())
        statics[f"m2v {model_dir.name}"] = embedder
    everyone: dict[str, Embedder] = {MINILM: minilm, **statics}

    pandas = read_source("corpus:pandas@pool").report.records[: args.texts]
    measured = rates(everyone, [r.search_text() for r in pandas], args.rounds)
    print_rates(measured, everyone, len(pandas), args.rounds)

    rows: list[Row] = []
    for library in args.libraries:
        chosen = everyone if library in args.minilm_libraries else statics
        library_rows, seconds = score_library(library, args.split, chosen)
        rows += library_rows
        spent = ", ".join(f"{label} {s:.1f} s" for label, s in seconds.items())
        print(f"<!-- {library}: pool embedded in {spent} -->", flush=True)
    print()
    print_recall(rows, list(everyone))


if __name__ == "__main__":
    main()
