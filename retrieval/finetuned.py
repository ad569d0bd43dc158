"""The shipped MiniLM with a LoRA adapter fine-tuned by ``apipilot train embedder``."""

from __future__ import annotations

import hashlib
import json
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


API_SPEC = "minilm-api"
API_MODEL_DIR = "embedder-minilm-api"
API_ONNX_FILE = "model.onnx"
API_DELTA_FILE = "delta.safetensors"


def api_model_dir() -> Path:
    """``models/embedder-minilm-api`` of this checkout: the fully fine-tuned MiniLM as a delta."""
    return package_data("models", API_MODEL_DIR)


def is_delta_dir(path: Path) -> bool:
    return (path / API_DELTA_FILE).is_file()


class DeltaMiniLMEmbedder(SentenceTransformerEmbedder):
    """The shipped MiniLM with the weights a full fine-tune changed put in on first use.

    ``delta.safetensors`` holds, in float16, every transformer weight except the token table
    (frozen in training, so it is the base package's): 22 MB instead of a 90 MB model. It is
    not committed (over the repository's 10 MB file limit): its model card says how to build it.
    """

    def __init__(self, model_dir: Path, *, batch_size: int = 64) -> None:
        if not is_delta_dir(model_dir):
            raise ModelError(
                f"{model_dir} holds no {API_DELTA_FILE}: the minilm-api weights (22 MB) are not "
                f"in the repository; build them with the commands in "
                f"models/{API_MODEL_DIR}/README.md (about 50 min on 2 CPU cores), or use "
                f"--embedder minilm"
            )
        digest = hashlib.sha256((model_dir / API_DELTA_FILE).read_bytes()).hexdigest()[:10]
        super().__init__(
            shipped_minilm_path(), f"all-MiniLM-L6-v2-api-{digest}", batch_size=batch_size
        )
        self._delta = model_dir / API_DELTA_FILE

    def _load(self) -> Any:
        if self._model is None:
            from safetensors.torch import load_file

            model = super()._load()
            meta = self._delta.parent / ADAPTER_META
            if meta.is_file():  # embed at the length it was trained and evaluated at
                config = json.loads(meta.read_text()).get("config", {})
                model.max_seq_length = int(config.get("max_seq_length", model.max_seq_length))
            bert = model[0].auto_model
            weights = {k: v.float() for k, v in load_file(str(self._delta)).items()}
            missing, unexpected = bert.load_state_dict(weights, strict=False)
            if unexpected or [k for k in missing if "word_embeddings" not in k]:
                self._model = None
                raise ModelError(f"{self._delta} does not fit all-MiniLM-L6-v2: {unexpected}")
            model.eval()
        return self._model


def save_delta(model_dir: Path, out_dir: Path) -> Path:
    """Write ``out_dir/delta.safetensors`` from a fine-tuned sentence-transformers MiniLM."""
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    bert: Any = model[0].auto_model
    state = {
        k: v.detach().half().contiguous()
        for k, v in bert.state_dict().items()
        if "word_embeddings" not in k
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / API_DELTA_FILE
    save_file(state, str(target))
    target.chmod(0o644)  # written owner-only
    meta = out_dir / ADAPTER_META
    if not meta.is_file():  # the length the model was trained at is the one to embed at
        config = {"max_seq_length": int(model.max_seq_length or 256)}
        meta.write_text(json.dumps({"config": config}, indent=2) + "\n")
    return target


def is_onnx_model_dir(path: Path) -> bool:
    return (path / API_ONNX_FILE).is_file()


def onnx_minilm_embedder(model_dir: Path) -> Any:
    """The int8 ONNX MiniLM in ``model_dir`` (written by ``training.onnx_export``) with the
    base model's tokenizer; its name carries a hash of the weights, as an index records it."""
    from apipilot.retrieval.onnx_embedder import TOKENIZER_FILE, OnnxEmbedder

    model_file = model_dir / API_ONNX_FILE
    if not model_file.is_file():
        raise ModelError(
            f"{model_dir} holds no {API_ONNX_FILE}; export one with "
            "python -m apipilot.training.onnx_export MODEL_DIR OUT_DIR"
        )
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()[:10]
    return OnnxEmbedder(
        model_file, shipped_minilm_path() / TOKENIZER_FILE, f"all-MiniLM-L6-v2-api-{digest}"
    )
