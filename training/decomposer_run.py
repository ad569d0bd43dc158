"""One ``apipilot train decomposer`` run: data, training, adapter, ``training.json``, card."""

from __future__ import annotations

import json
import os
import platform
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from apipilot.training.dataset import TRAINING_LIBRARIES
from apipilot.training.decomposer import (
    BASE_NAME,
    DecomposerConfig,
    DecomposerResult,
    config_dict,
    train_decomposer,
)
from apipilot.training.decomposer_card import write_card
from apipilot.training.decomposer_data import (
    DecomposerExample,
    build_decomposer_set,
    write_examples,
)

EXAMPLES_FILE = "examples.jsonl"
META_FILE = "training.json"


@dataclass(frozen=True)
class DecomposerData:
    libraries: tuple[str, ...] = TRAINING_LIBRARIES
    exclude: tuple[str, ...] = ()
    per_library: int = 160


def run_decomposer_training(
    out_dir: Path,
    data: DecomposerData,
    config: DecomposerConfig,
    *,
    log: Callable[[str], None] = print,
) -> DecomposerResult:
    """Synthesise the examples, train the adapter, write it with its examples and a card."""
    libraries = [lib for lib in data.libraries if lib not in data.exclude]
    if not libraries:
        raise ValueError("no training libraries: every library was excluded")
    start = time.perf_counter()
    examples = build_decomposer_set(libraries, seed=config.seed, per_library=data.per_library)
    made = time.perf_counter() - start
    log(f"synthesised {len(examples)} examples in {made:.0f} s")
    load_before = os.getloadavg()
    result = train_decomposer(examples, out_dir, config, log=log)
    load_after = os.getloadavg()
    log(f"trained {result.steps} steps in {result.seconds:.0f} s on {result.device}")
    write_examples(examples, out_dir / EXAMPLES_FILE)
    meta = {
        "base": BASE_NAME,
        "config": config_dict(config),
        "data": asdict(data),
        "examples": len(examples),
        "examples_per_library_kind": _counts(examples),
        "tokens": result.tokens,
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "data_seconds": round(made, 1),
        "device": result.device,
        "torch_threads": _torch_threads(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "first_loss": round(sum(result.losses[:10]) / max(1, len(result.losses[:10])), 4),
        "final_loss": round(sum(result.losses[-10:]) / max(1, len(result.losses[-10:])), 4),
        "command": command_line(out_dir, data, config),
    }
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    write_card(out_dir, keep_evaluation=False)
    return result


def command_line(out_dir: Path, data: DecomposerData, config: DecomposerConfig) -> str:
    exclude = "".join(f" --exclude {lib}" for lib in data.exclude)
    steps = f" --max-steps {config.max_steps}" if config.max_steps else ""
    return (
        f"OMP_NUM_THREADS=1 apipilot train decomposer --seed {config.seed} "
        f"--epochs {config.epochs} --examples {data.per_library}{exclude}{steps} --out {out_dir}"
    )


def _counts(examples: list[DecomposerExample]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for (library, kind), n in sorted(Counter((e.library, e.kind) for e in examples).items()):
        counts.setdefault(library, {})[kind] = n
    return counts


def _torch_threads() -> Any:
    import torch

    return torch.get_num_threads()
