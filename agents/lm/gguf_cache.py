"""Turn a GGUF file into a cached Hugging Face model directory, once per file.

transformers de-quantises a GGUF on every load (~15 s for SmolLM2-135M on one core) and cannot
``save_pretrained`` the result. The conversion here builds a fresh model from the config (minus
``quantization_config``), copies the weights in, and saves model and tokenizer as safetensors;
loading that directory takes well under a second.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from apipilot.agents.lm.paths import model_cache_dir
from apipilot.retrieval.errors import ModelError

MARKER = "apipilot-gguf-source.json"

log = logging.getLogger(__name__)


def cache_key(gguf: Path) -> str:
    """A directory name that changes when the file, its place, or the transformers version does."""
    stat = gguf.stat()
    version = importlib.metadata.version("transformers")
    ident = f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{version}"
    digest = hashlib.sha256(ident.encode()).hexdigest()[:12]
    return f"{gguf.stem}-{digest}"


def cached_model_dir(gguf: Path, cache_root: Path | None = None) -> Path:
    """The converted model directory for ``gguf``, converting it first if it is not cached.

    Safe when several processes start at once: each converts into its own temporary directory
    and renames it into place; a loser of the race discards its copy and uses the winner's.
    """
    if not gguf.is_file():
        raise ModelError(f"GGUF file not found: {gguf}")
    root = cache_root if cache_root is not None else model_cache_dir()
    target = root / cache_key(gguf)
    if (target / MARKER).is_file():
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model cache directory {root}: {exc}") from exc
    log.info("converting %s into %s (once; later loads use the copy)", gguf, target)
    tmp = root / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        convert_gguf(gguf, tmp)
        (tmp / MARKER).write_text(json.dumps({"source": str(gguf.resolve())}) + "\n")
        if target.exists() and not (target / MARKER).is_file():
            shutil.rmtree(target)  # left by an interrupted older layout; never half-written by us
        try:
            tmp.rename(target)
        except OSError:
            if not (target / MARKER).is_file():
                raise
    except OSError as exc:
        raise ModelError(f"cannot write the converted model to {root}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def convert_gguf(gguf: Path, out_dir: Path) -> None:
    """De-quantise ``gguf`` with transformers and save model + tokenizer into ``out_dir``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, filename = str(gguf.parent), gguf.name
    try:
        tokenizer: Any = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
        loaded: Any = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=filename, dtype=torch.float32
        )
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise ModelError(f"transformers cannot load the GGUF file {gguf}: {exc}") from exc
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    auto: Any = AutoModelForCausalLM  # from_config is untyped
    fresh: Any = auto.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict(), strict=True)
    fresh.generation_config = loaded.generation_config
    fresh.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
