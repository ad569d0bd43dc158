"""The shipped MiniLM with a LoRA adapter fine-tuned by ``apipilot train embedder``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from apipilot._data import package_data
from apipilot.retrieval.embedder import SentenceTransformerEmbedder, shipped_minilm_path
from apipilot.retrieval.errors import ModelError

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_META = "training.json"
LORA_TARGETS = ("query", "key", "value", "dense")
FINETUNED_SPEC = "minilm-ft"


def default_adapter_dir() -> Path:
    """``models/embedder-minilm-ft`` of this checkout."""
    return package_data("models", "embedder-minilm-ft")


def is_adapter_dir(path: Path) -> bool:
    return (path / ADAPTER_CONFIG).is_file() and (path / ADAPTER_WEIGHTS).is_file()


def adapter_fingerprint(path: Path) -> str:
    """Short hash of the adapter weights: part of the embedder name an index records."""
    return hashlib.sha256((path / ADAPTER_WEIGHTS).read_bytes()).hexdigest()[:10]


class LoraMiniLMEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 with a LoRA adapter merged into its weights on first use."""

    def __init__(self, adapter_dir: Path, *, batch_size: int = 64) -> None:
        if not is_adapter_dir(adapter_dir):
            raise ModelError(
                f"{adapter_dir} holds no LoRA adapter ({ADAPTER_CONFIG}, {ADAPTER_WEIGHTS}); "
                "train one with: apipilot train embedder"
            )
        name = f"all-MiniLM-L6-v2-lora-{adapter_fingerprint(adapter_dir)}"
        super().__init__(shipped_minilm_path(), name, batch_size=batch_size)
        self._adapter_dir = adapter_dir

    def _load(self) -> Any:
        if self._model is None:
            from peft import PeftModel

            model = super()._load()
            module = model[0]
            module.model = PeftModel.from_pretrained(
                module.model, str(self._adapter_dir)
            ).merge_and_unload()
            model.eval()
        return self._model
