"""Rebuild the documentation-derived training set of the retriever in one command.

    OMP_NUM_THREADS=1 python -m apipilot.training.doc_data --cache /tmp/apipilot-wheels \
        --out /tmp/doc-pairs [--download] [--packages training/doc_packages.txt]

``--download`` first fetches the wheels of ``--packages`` (``pip download --no-deps``) into
``CACHE/wheels``. Each wheel is read with the product's readers (:mod:`training.doc_wheels`),
turned into pairs (:mod:`training.doc_pairs`), and given a hard negative from the same
library: a seeded pick among the three APIs most similar to the query by bag-of-subwords
(:class:`retrieval.embedder.HashingEmbedder`; lexical look-alikes such as ``read_csv`` for
``read_table``). Libraries whose name hashes into the dev bucket go to ``dev.jsonl`` (model
selection), the rest to ``train.jsonl``. No pair may contain an evaluation query,
requirement or solution (:func:`training.dataset.assert_clean`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from apipilot.evaluation.data import contaminated
from apipilot.retrieval.embedder import HashingEmbedder
from apipilot.training.dataset import assert_clean, forbidden_texts, is_contaminated, write_pairs
from apipilot.training.doc_pairs import API_KINDS, library_pairs
from apipilot.training.doc_wheels import (
    PACKAGES_FILE,
    download_wheels,
    package_names,
    read_wheel,
    wheel_files,
)
from apipilot.training.negatives import mine_hard_negatives
from apipilot.training.pairs import TrainingPair

# the evaluation libraries never come from wheels: their documentation is the shipped corpora
EXCLUDED = frozenset(("numpy", "pandas", "torch", "torchdata", "monkey", "beatnum"))
DEV_BUCKETS = 20  # one library in 20 (by name hash) is a dev library
TRAIN_FILE = "train.jsonl"
DEV_FILE = "dev.jsonl"


def is_dev_library(library: str) -> bool:
    digest = hashlib.sha256(library.encode()).digest()
    return digest[0] % DEV_BUCKETS == 0


def library_seed(library: str, seed: int) -> int:
    """A library's seed does not depend on which other libraries are read with it."""
    return seed + int.from_bytes(hashlib.sha256(library.encode()).digest()[:4], "little")


def build_doc_pairs(
    cache: Path,
    *,
    seed: int = 0,
    max_records: int = 150,
    queries_per_record: int = 2,
    negatives_pool: int = 600,
    cached_only: bool = False,
    log: Callable[[str], None] = print,
) -> tuple[list[TrainingPair], list[TrainingPair]]:
    """``(train, dev)`` pairs of every wheel in ``cache``, contamination-checked."""
    forbidden = forbidden_texts()
    hasher = HashingEmbedder(1024)
    train: list[TrainingPair] = []
    dev: list[TrainingPair] = []
    wheels = wheel_files(cache)
    if cached_only:
        wheels = [w for w in wheels if (cache / "records" / f"{w.stem}.json").is_file()]
    start = time.perf_counter()
    for done, wheel in enumerate(wheels, 1):
        docs = read_wheel(wheel, cache)
        if docs.library in EXCLUDED or not docs.api:
            continue
        lib_seed = library_seed(docs.library, seed)
        pairs = library_pairs(
            docs.library,
            docs.api,
            docs.readme,
            seed=lib_seed,
            max_records=max_records,
            queries_per_record=queries_per_record,
        )
        pairs = [p for p in pairs if not is_contaminated(p, forbidden)]
        candidates = [
            r
            for r in docs.api
            if r.kind in API_KINDS and r.summary and not contaminated(r.search_text(), forbidden)
        ]  # a negative is training text too
        rng = random.Random(lib_seed)
        if len(candidates) > negatives_pool:
            positives = {p.positive for p in pairs}
            mine = [r for r in candidates if r.search_text() in positives]
            rest = [r for r in candidates if r.search_text() not in positives]
            candidates = mine + rng.sample(rest, max(0, min(len(rest), negatives_pool - len(mine))))
        pairs = mine_hard_negatives(pairs, candidates, hasher, seed=lib_seed)
        (dev if is_dev_library(docs.library) else train).extend(pairs)
        if done % 20 == 0 or done == len(wheels):
            log(
                f"read {done}/{len(wheels)} wheels, {len(train)} train / {len(dev)} dev pairs, "
                f"{time.perf_counter() - start:.0f} s"
            )
    assert_clean(train + dev, forbidden)
    return train, dev


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="wheels, unpacked, records")
    parser.add_argument("--out", type=Path, required=True, help="folder for train/dev.jsonl")
    parser.add_argument("--packages", type=Path, default=PACKAGES_FILE)
    parser.add_argument("--download", action="store_true", help="pip download the wheels first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-records", type=int, default=150, help="APIs sampled a library")
    parser.add_argument("--queries-per-record", type=int, default=2)
    parser.add_argument(
        "--cached-only", action="store_true", help="only wheels whose records are cached"
    )
    args = parser.parse_args(argv)
    if args.download:
        download_wheels(package_names(args.packages), args.cache)
    train, dev = build_doc_pairs(
        args.cache,
        seed=args.seed,
        max_records=args.max_records,
        queries_per_record=args.queries_per_record,
        cached_only=args.cached_only,
    )
    write_pairs(train, args.out / TRAIN_FILE)
    write_pairs(dev, args.out / DEV_FILE)
    summary = {
        "command": "python -m apipilot.training.doc_data "
        f"--cache CACHE --out OUT --seed {args.seed} --max-records {args.max_records} "
        f"--queries-per-record {args.queries_per_record}",
        "libraries": {
            "train": len({p.library for p in train}),
            "dev": sorted({p.library for p in dev}),
        },
        "pairs": {"train": len(train), "dev": len(dev)},
        "kinds": dict(Counter(p.kind for p in train)),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
