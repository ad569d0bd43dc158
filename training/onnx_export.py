"""Export a fine-tuned sentence-transformers MiniLM to int8 ONNX (what the repo ships).

    PYTHONPATH=DIR_WITH_onnx python -m apipilot.training.onnx_export MODEL_DIR OUT_DIR

Writes ``OUT_DIR/model.onnx``: the transformer (token vectors; pooling is done by
:class:`retrieval.onnx_embedder.OnnxEmbedder`), dynamically quantised to int8 weights by
ONNX Runtime. The ``onnx`` package is needed only here (``pip install onnx``), not to run the
model. Prints the cosine between the torch and the int8 vectors of sample texts.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ONNX_FILE = "model.onnx"
OPSET = 17


def export_int8(model_dir: Path, out_dir: Path) -> Path:
    """``out_dir/model.onnx`` with int8 weights; returns its path."""
    import torch
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        QuantType,
        quantize_dynamic,
    )
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    bert: Any = model[0].auto_model
    bert.eval()

    class TokenVectors(torch.nn.Module):
        """Keyword arguments only: ``BertModel.forward``'s positions differ by version."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(
            self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
        ) -> torch.Tensor:
            out = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)
            vectors: torch.Tensor = out.last_hidden_state
            return vectors

    features = model.tokenize(["export a model to ONNX", "a longer sample sentence to trace"])
    inputs = (features["input_ids"], features["attention_mask"], features["token_type_ids"])
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(
            TokenVectors(),
            inputs,
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {0: "batch", 1: "sequence"}
                for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
            },
            opset_version=OPSET,
            dynamo=False,
        )
        target = out_dir / ONNX_FILE
        quantize_dynamic(
            str(fp32), str(target), per_channel=True, weight_type=QuantType.QInt8
        )  # per-tensor int8 gave cosine 0.955 to the torch vectors, per-channel 0.992
    return target


def agreement(model_dir: Path, onnx_file: Path, texts: list[str]) -> float:
    """The lowest cosine between the torch model's and the int8 model's vectors of ``texts``."""
    from sentence_transformers import SentenceTransformer

    from apipilot.retrieval.embedder import shipped_minilm_path
    from apipilot.retrieval.onnx_embedder import TOKENIZER_FILE, OnnxEmbedder

    torch_vectors = SentenceTransformer(str(model_dir), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    onnx_vectors = OnnxEmbedder(onnx_file, shipped_minilm_path() / TOKENIZER_FILE, "check").encode(
        texts
    )
    return float(np.min(np.sum(torch_vectors * onnx_vectors, axis=1)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    target = export_int8(args.model_dir, args.out_dir)
    samples = [
        "read a CSV file into a data frame",
        "shuffle the elements of a datapipe",
        "DataFrame.merge(right, how='inner', on=None): Merge DataFrame objects.",
        "How do I send a POST request with a JSON body?",
    ]
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")
    print(f"lowest cosine torch vs int8: {agreement(args.model_dir, target, samples):.4f}")


if __name__ == "__main__":
    main()
