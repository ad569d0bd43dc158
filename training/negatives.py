"""Hard negatives: the APIs the base embedder ranks highest for a query that are not its answer."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np

from apipilot.evaluation.data import normalise
from apipilot.indexes.record import ApiRecord
from apipilot.retrieval.embedder import Embedder, encode_queries
from apipilot.training.pairs import TrainingPair


def mine_hard_negatives(
    pairs: list[TrainingPair],
    records: list[ApiRecord],
    embedder: Embedder,
    *,
    seed: int,
    depth: int = 3,
) -> list[TrainingPair]:
    """Give each pair one negative: a seeded pick among the ``depth`` top-ranked wrong APIs.

    ``records`` is the whole library the pairs came from (the base index). A candidate is wrong
    when its name differs from the positive's and its summary is not the same text (pools list
    one API several times). Pairs with no wrong candidate in the top 50 keep no negative.
    """
    if not pairs:
        return []
    rng = random.Random(seed)
    texts = [r.search_text() for r in records]
    doc_vectors = embedder.encode(texts)
    query_vectors = encode_queries(embedder, [p.query for p in pairs])
    scores = query_vectors @ doc_vectors.T
    top = np.argsort(-scores, axis=1)[:, :50]
    by_text = {t: r for t, r in zip(texts, records, strict=True)}
    out = []
    for pair, ranked in zip(pairs, top, strict=True):
        positive = by_text.get(pair.positive)
        summary = normalise(positive.summary) if positive else ""
        names = {pair.name, *(positive.aliases if positive else ())}
        wrong = [
            texts[i]
            for i in ranked
            if records[i].name not in names and normalise(records[i].summary) != summary
        ][:depth]
        out.append(replace(pair, negative=rng.choice(wrong)) if wrong else pair)
    return out
