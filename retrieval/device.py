"""The one place that decides where models and vector indexes run."""

from __future__ import annotations

import functools


@functools.cache
def torch_device() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.cache
def faiss_gpu_count() -> int:
    """How many GPUs FAISS can use (0 with faiss-cpu, or faiss-gpu on a machine without one)."""
    import faiss

    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get is not None else 0
