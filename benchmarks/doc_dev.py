"""Dev-library R@5 of embedders: model selection on libraries no training pair comes from.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.doc_dev --pairs DATA/dev.jsonl \
        --model minilm --model /tmp/minilm-api/checkpoint-200 --model /tmp/minilm-api

Per dev library, a seeded sample of 40 pairs; each query should rank its own API (by name)
in the top 5 among the sampled APIs and 80 other APIs of the library named by dev pairs.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from apipilot.retrieval.embedder import Embedder, load_embedder
from apipilot.training.dataset import read_pairs
from apipilot.training.pairs import TrainingPair


def dev_recall(
    pairs: list[TrainingPair],
    embedder: Embedder,
    *,
    k: int = 5,
    queries: int = 40,
    distractors: int = 80,
    seed: int = 0,
) -> dict[str, float]:
    """``library -> R@k`` and ``"all"`` (mean over queries): a seeded sample of ``queries``
    pairs a library, searched among their APIs plus ``distractors`` other APIs it documents."""
    rng = random.Random(seed)
    by_library: dict[str, list[TrainingPair]] = defaultdict(list)
    for pair in pairs:
        by_library[pair.library].append(pair)
    hits: dict[str, list[float]] = {}
    for library, every in sorted(by_library.items()):
        group = rng.sample(every, min(queries, len(every)))
        owner: dict[str, str] = {p.positive: p.name for p in group}
        others = sorted({p.positive for p in every} - set(owner))
        for text in rng.sample(others, min(distractors, len(others))):
            owner[text] = next(p.name for p in every if p.positive == text)
        texts = sorted(owner)
        doc_vectors = embedder.encode(texts)
        query_vectors = embedder.encode([p.query for p in group])
        top = np.argsort(-(query_vectors @ doc_vectors.T), axis=1)[:, :k]
        hits[library] = [
            float(any(owner[texts[i]] == pair.name for i in row))
            for pair, row in zip(group, top, strict=True)
        ]
    out = {library: float(np.mean(values)) for library, values in hits.items()}
    out["all"] = float(np.mean([v for values in hits.values() for v in values]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=Path, required=True)
    parser.add_argument("--model", action="append", required=True)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    pairs = read_pairs(args.pairs)
    libraries = sorted({p.library for p in pairs})
    print(f"{len(pairs)} dev pairs of {len(libraries)} libraries: {', '.join(libraries)}\n")
    print("| model | dev R@5 (all pairs) | seconds |")
    print("|---|---|---|")
    for spec in args.model:
        start = time.perf_counter()
        scores = dev_recall(pairs, load_embedder(spec, purpose="build"))
        print(f"| {spec} | {scores['all']:.3f} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
