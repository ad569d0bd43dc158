"""LM reranking by calibrated likelihood, fused with the retrieval order.

The score of a candidate is ``log p(description | task) - log p(description | neutral task)``
(mean per token): the neutral term removes how likely a description is anyway, which raw
likelihood rewards. It depends only on the record, so it is cached per process.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

from apipilot.agents import prompts
from apipilot.agents.lm.base import LanguageModel
from apipilot.indexes.api_index import ApiIndex
from apipilot.retrieval.errors import ModelError
from apipilot.retrieval.fusion import reciprocal_rank_fusion

NEUTRAL_TASK = "something"

_prior_cache: dict[tuple[str, str, str], float] = {}
_prior_lock = threading.Lock()


class LikelihoodReranker:
    def __init__(self, lm: LanguageModel, index: ApiIndex) -> None:
        self.lm = lm
        self.index = index

    def scores(self, task: str, record_ids: Sequence[str]) -> list[float]:
        records = [self.index.get(i) for i in record_ids]
        texts = [prompts.rerank_continuation(r) for r in records if r is not None]
        if len(texts) != len(record_ids):
            raise ModelError("a candidate is missing from the index")
        given_task = self.lm.score(prompts.rerank_prompt(task), texts)
        priors = self._priors(record_ids, texts)
        scores = [g - p for g, p in zip(given_task, priors, strict=True)]
        if len(scores) != len(record_ids) or not all(math.isfinite(s) for s in scores):
            raise ModelError(f"unusable likelihood scores {scores!r}")
        return scores

    def order(self, task: str, record_ids: Sequence[str]) -> list[str]:
        """``record_ids`` (in retrieval order) re-ordered by RRF of retrieval and LM ranks."""
        if len(record_ids) < 2:
            return list(record_ids)
        scores = self.scores(task, record_ids)
        by_lm = sorted(range(len(record_ids)), key=lambda i: -scores[i])
        fused = reciprocal_rank_fusion([list(range(len(record_ids))), by_lm])
        return [record_ids[i] for i, _ in fused]

    def _priors(self, record_ids: Sequence[str], texts: Sequence[str]) -> list[float]:
        key_of = [(self.lm.name, self.index.meta.ref, i) for i in record_ids]
        with _prior_lock:
            missing = [n for n, key in enumerate(key_of) if key not in _prior_cache]
        if missing:
            values = self.lm.score(prompts.rerank_prompt(NEUTRAL_TASK), [texts[n] for n in missing])
            with _prior_lock:
                for n, value in zip(missing, values, strict=True):
                    _prior_cache[key_of[n]] = value
        return [_prior_cache[key] for key in key_of]
