"""The contrastive loss of one batch of (query, positive[, negative]) pairs, shared by the LoRA
and the full fine-tune of the embedder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apipilot.retrieval.embedder import DOCUMENT_PROMPTS, QUERY_PROMPTS
from apipilot.training.pairs import TrainingPair


def batch_loss(model: Any, loss_fn: Any, batch: Sequence[TrainingPair], device: str) -> Any:
    """``loss_fn`` (MultipleNegativesRankingLoss) over the batch's queries and positives, with
    the hard negatives as a third column when every pair has one (else in-batch only)."""
    import torch

    query, document = prompt_prefixes(model)
    columns = [[query + p.query for p in batch], [document + p.positive for p in batch]]
    if all(p.negative for p in batch):
        columns.append([document + p.negative for p in batch])
    features = [_to_device(model.preprocess(texts), device) for texts in columns]
    return loss_fn(features, torch.empty(0))


def prompt_prefixes(model: Any) -> tuple[str, str]:
    """The query and document prompts of a sentence-transformers model ("" for MiniLM; e5:
    ``"query: "`` and ``"passage: "``), chosen as ``SentenceTransformerEmbedder`` chooses
    them at search time, so training sees the texts search will embed."""
    defined = getattr(model, "prompts", None) or {}
    query = next((defined[n] for n in QUERY_PROMPTS if defined.get(n)), "")
    document = next((defined[n] for n in DOCUMENT_PROMPTS if defined.get(n)), "")
    return query, document


def _to_device(features: dict[str, Any], device: str) -> dict[str, Any]:
    return {k: v.to(device) if hasattr(v, "to") else v for k, v in features.items()}
