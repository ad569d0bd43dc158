"""Cross-encoder rerankers: score (query, API text) pairs jointly, one forward pass a query.

``CrossEncoderReranker`` is the shipped all-MiniLM-L6-v2 as a one-logit sequence classifier
with the LoRA adapter of ``apipilot train reranker`` (LoRA on every layer, pooler and head in
the adapter) merged into it on first use. It runs on CUDA when torch sees a GPU, else CPU.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from apipilot._data import package_data
from apipilot.retrieval.errors import ConfigError, ModelError
from apipilot.retrieval.finetuned import ADAPTER_CONFIG, ADAPTER_WEIGHTS

RERANKER_SPEC = "minilm-ce"
NO_RERANKER = "none"
ENV_VAR = "APIPILOT_RERANKER"
MAX_LENGTH = 128  # tokens of query + API text; 90% of API texts are under 85 tokens
CE_TARGETS = (
    r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)"
    r"|attention\.output\.dense|intermediate\.dense|output\.dense)"
)
CE_SAVED_MODULES = ("classifier", "pooler")  # trained in full, stored in the adapter
CPU_BATCH = 8  # texts a forward pass on CPU: short sorted chunks pad less than one batch
QUANTIZE_ON_CPU = False  # int8 linear layers on CPU (chosen on validation queries)


class Reranker(Protocol):
    """Scores API texts for a query: higher is more relevant."""

    @property
    def name(self) -> str: ...

    def scores(self, query: str, texts: Sequence[str]) -> list[float]: ...


def default_reranker_dir() -> Path:
    """``models/reranker-minilm-ce`` of this checkout."""
    return package_data("models", "reranker-minilm-ce")


def is_reranker_dir(path: Path) -> bool:
    return (path / ADAPTER_CONFIG).is_file() and (path / ADAPTER_WEIGHTS).is_file()


class CrossEncoderReranker:
    """all-MiniLM-L6-v2 + a cross-encoder LoRA adapter, loaded on first ``scores``."""

    def __init__(
        self,
        adapter_dir: Path,
        *,
        max_length: int = MAX_LENGTH,
        batch_size: int | None = None,
        quantize: bool = QUANTIZE_ON_CPU,
    ) -> None:
        if not is_reranker_dir(adapter_dir):
            raise ModelError(
                f"{adapter_dir} holds no reranker adapter ({ADAPTER_CONFIG}, {ADAPTER_WEIGHTS}); "
                "train one with: apipilot train reranker"
            )
        digest = hashlib.sha256((adapter_dir / ADAPTER_WEIGHTS).read_bytes()).hexdigest()[:10]
        self._name = f"all-MiniLM-L6-v2-ce-{digest}"
        self.adapter_dir = adapter_dir
        self.max_length = max_length
        self.batch_size = batch_size  # None: CPU_BATCH on CPU, every text at once on CUDA
        self.quantize = quantize
        self._model: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._model is None:
                tokenizer, model, device = load_cross_encoder(self.adapter_dir)
                if device == "cpu" and self.quantize:
                    model = quantize_int8(model)
                self._tokenizer, self._model, self._device = tokenizer, model, device
        return self._tokenizer, self._model

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        """One logit per text; texts sorted by length share a batch (little padding)."""
        if not texts:
            return []
        import torch

        tokenizer, model = self._load()
        size = self.batch_size or (CPU_BATCH if self._device == "cpu" else len(texts))
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = [0.0] * len(texts)
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            features = tokenizer(
                [query] * len(chunk),
                [texts[i] for i in chunk],
                truncation=True,
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            ).to(self._device)
            with torch.inference_mode():
                logits = model(**features).logits.view(-1).float().cpu().tolist()
            for i, value in zip(chunk, logits, strict=True):
                out[i] = float(value)
        return out


def load_cross_encoder(adapter_dir: Path | None) -> tuple[Any, Any, str]:
    """(tokenizer, model in eval mode, device): MiniLM with ``adapter_dir`` merged, or with a
    fresh head when ``adapter_dir`` is None (the start of training)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging

    from apipilot.retrieval.device import torch_device
    from apipilot.retrieval.embedder import shipped_minilm_path

    base = str(shipped_minilm_path())
    device = torch_device()
    verbosity = logging.get_verbosity()
    logging.set_verbosity(40)  # ERROR: the fresh head is "MISSING" from the checkpoint: expected
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    except OSError as exc:
        raise ModelError(f"cannot load MiniLM from {base}: {exc}") from exc
    finally:
        logging.set_verbosity(verbosity)
    if adapter_dir is not None:
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelError(f"cannot load the reranker adapter in {adapter_dir}: {exc}") from exc
    model.to(device)
    model.eval()
    return tokenizer, model, device


def quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantization of the linear layers (CPU): ~2.5x faster scoring."""
    import warnings

    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the eager-mode API is deprecated in favour of torchao
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)  # type: ignore[no-untyped-call]


_CACHE: dict[str, Reranker] = {}


# The shipped adapter lowers fused R@5 on the evaluation pools (see the model card in
# models/reranker-minilm-ce/README.md), so it is opt-in: ``minilm-ce`` or $APIPILOT_RERANKER.
DEFAULT_ON = False


def default_reranker_spec() -> str:
    """``$APIPILOT_RERANKER`` if set, else ``minilm-ce`` when it is on by default
    (``DEFAULT_ON``) and ``models/reranker-minilm-ce`` holds an adapter, else ``none``."""
    chosen = os.environ.get(ENV_VAR, "").strip()
    if chosen:
        return chosen
    shipped = DEFAULT_ON and is_reranker_dir(default_reranker_dir())
    return RERANKER_SPEC if shipped else NO_RERANKER


def load_reranker(spec: str | None = None) -> Reranker | None:
    """A reranker from a spec, created once per process (``None``: the default spec).

    Specs: ``none`` (no reranker: retrieval order, or the LM's), ``minilm-ce`` (the adapter in
    ``models/reranker-minilm-ce``), or the path of an adapter directory.
    """
    spec = (default_reranker_spec() if spec is None else spec).strip()
    if spec == NO_RERANKER:
        return None
    if spec in _CACHE:
        return _CACHE[spec]
    if spec == RERANKER_SPEC:
        path = default_reranker_dir()
        if not is_reranker_dir(path):
            raise ModelError(
                f"reranker {RERANKER_SPEC!r} needs its adapter in {path}; train it with: "
                "apipilot train reranker"
            )
    elif Path(spec).expanduser().is_dir():
        path = Path(spec).expanduser().resolve()
    else:
        raise ConfigError(
            f"unknown reranker {spec!r}: use 'none', '{RERANKER_SPEC}' or the path of a "
            "reranker adapter directory"
        )
    reranker = CrossEncoderReranker(path)
    _CACHE[spec] = reranker
    return reranker


FUSE_WEIGHT = 1.0  # weight of the cross-encoder's ranking against retrieval's in RRF
FUSE = True  # chosen on doc-derived validation queries (models/reranker-minilm-ce/README.md)
RERANK_DEPTH = 30  # retrieval hits the cross-encoder reorders; the rest follow unchanged


def order_from_scores(
    scores: Sequence[float], *, fuse: bool = FUSE, weight: float = FUSE_WEIGHT
) -> list[int]:
    """Positions (of items given in retrieval order) in their new order.

    ``fuse``: reciprocal-rank fusion of the score order (weight ``weight``) with the retrieval
    order; otherwise the score order alone (ties keep retrieval order).
    """
    by_model = sorted(range(len(scores)), key=lambda i: -scores[i])
    if not fuse:
        return by_model
    from apipilot.retrieval.fusion import reciprocal_rank_fusion

    fused = reciprocal_rank_fusion([by_model, list(range(len(scores)))], weights=[weight, 1.0])
    return [i for i, _ in fused]


def rerank_order(
    query: str,
    texts: Sequence[str],
    reranker: Reranker,
    *,
    fuse: bool = FUSE,
    weight: float = FUSE_WEIGHT,
) -> list[int]:
    """``texts`` (in retrieval order) scored by ``reranker``: their positions in the new order."""
    if len(texts) < 2:
        return list(range(len(texts)))
    scores = reranker.scores(query, texts)
    if len(scores) != len(texts):
        raise ModelError(f"the reranker gave {len(scores)} scores for {len(texts)} texts")
    return order_from_scores(scores, fuse=fuse, weight=weight)
