"""Batches for in-batch-negative training: one library a batch, no two pairs of one API."""

from __future__ import annotations

import random
from collections import defaultdict

from apipilot.training.pairs import TrainingPair


def _keys(pair: TrainingPair) -> set[str]:
    return {n.lower() for n in (pair.name, *pair.aliases)}


def balance(pairs: list[TrainingPair], min_pairs: int, seed: int) -> list[TrainingPair]:
    """Repeat the pairs of small libraries (seeded order) until each has ``min_pairs``."""
    rng = random.Random(seed)
    by_library: dict[str, list[TrainingPair]] = defaultdict(list)
    for pair in pairs:
        by_library[pair.library].append(pair)
    out: list[TrainingPair] = []
    for library in sorted(by_library):
        group = by_library[library]
        out += group
        extra = max(0, min_pairs - len(group))
        while extra > 0:
            chunk = rng.sample(group, min(extra, len(group)))
            out += chunk
            extra -= len(chunk)
    return out


def make_batches(pairs: list[TrainingPair], batch_size: int, seed: int) -> list[list[TrainingPair]]:
    """Seeded batches in which no positive is another pair's API or hard negative.

    In-batch negatives are the other pairs' positives: two pairs of one API (or one API listed
    under two names, ``Batcher``/``batch``) in a batch would teach that the right answer is wrong.
    """
    rng = random.Random(seed)
    by_library: dict[str, list[TrainingPair]] = defaultdict(list)
    for pair in pairs:
        by_library[pair.library].append(pair)
    batches: list[list[TrainingPair]] = []
    for library in sorted(by_library):
        pending = list(by_library[library])
        rng.shuffle(pending)
        while pending:
            batch: list[TrainingPair] = []
            names: set[str] = set()
            texts: set[str] = set()
            rest: list[TrainingPair] = []
            for pair in pending:
                clash = _keys(pair) & names or pair.positive in texts or pair.negative in texts
                if len(batch) >= batch_size or clash:
                    rest.append(pair)
                    continue
                batch.append(pair)
                names |= _keys(pair)
                texts |= {pair.positive, pair.negative} - {""}
            if len(batch) < 2:  # a lone pair has no in-batch negatives; drop the remainder
                break
            batches.append(batch)
            pending = rest
    rng.shuffle(batches)
    return batches
