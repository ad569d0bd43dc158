"""One ``apipilot train embedder`` run: data, training, artifacts, model card."""

from __future__ import annotations

import json
import platform
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from apipilot.retrieval.embedder import load_embedder
from apipilot.training.batches import balance
from apipilot.training.dataset import (
    TRAINING_LIBRARIES,
    assert_clean,
    build_training_set,
    read_pairs,
    write_pairs,
)
from apipilot.training.lora import TrainConfig, TrainResult, train_lora
from apipilot.training.pairs import TrainingPair

PAIRS_FILE = "pairs.jsonl"


@dataclass(frozen=True)
class DataConfig:
    libraries: tuple[str, ...] = TRAINING_LIBRARIES
    exclude: tuple[str, ...] = ()
    queries_per_record: int = 3
    max_records: int = 150
    min_pairs: int = 300  # small libraries' pairs are repeated up to this many


def training_pairs(
    data: DataConfig, seed: int, pairs_file: Path | None, log: Callable[[str], None]
) -> list[TrainingPair]:
    """Read ``pairs_file`` (pairs of an earlier run) or synthesise and mine them afresh."""
    libraries = [lib for lib in data.libraries if lib not in data.exclude]
    if pairs_file is not None:
        pairs = [p for p in read_pairs(pairs_file) if p.library in libraries]
        assert_clean(pairs)
        log(f"read {len(pairs)} pairs of {', '.join(libraries)} from {pairs_file}")
        return pairs
    start = time.perf_counter()
    pairs = build_training_set(
        libraries,
        load_embedder("minilm", purpose="build"),  # the vectors indexes are built with
        seed=seed,
        queries_per_record=data.queries_per_record,
        max_records=data.max_records,
    )
    log(f"synthesised {len(pairs)} pairs in {time.perf_counter() - start:.0f} s")
    return pairs


def run_training(
    out_dir: Path,
    data: DataConfig,
    config: TrainConfig,
    *,
    pairs_file: Path | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Build (or read) the pairs, train the adapter, write it with its pairs and a card."""
    pairs = training_pairs(data, config.seed, pairs_file, log)
    if not pairs:
        raise ValueError("no training pairs: every library was excluded")
    write_pairs(pairs, out_dir / PAIRS_FILE)
    trained = balance(pairs, data.min_pairs, config.seed)
    log(f"training on {len(trained)} pairs (small libraries repeated to {data.min_pairs})")
    result = train_lora(trained, out_dir, config, log=log)
    log(f"trained {result.steps} steps in {result.seconds:.0f} s on {result.device}")
    write_card(out_dir, pairs, data, config, result)
    return result


def write_card(
    out_dir: Path,
    pairs: list[TrainingPair],
    data: DataConfig,
    config: TrainConfig,
    result: TrainResult,
) -> None:
    """``README.md`` (model card) and ``training.json`` details; evaluation is appended later."""
    per_library = Counter(p.library for p in pairs)
    kinds = Counter(p.kind for p in pairs)
    exclude = "".join(f" --exclude {lib}" for lib in data.exclude)
    command = (
        f"OMP_NUM_THREADS=1 apipilot train embedder --epochs {config.epochs} "
        f"--seed {config.seed} --max-records {data.max_records}{exclude} --out {out_dir}"
    )
    meta_path = out_dir / "training.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta.update(
        {
            "command": command,
            "data": asdict(data),
            "pairs_per_library": dict(per_library),
            "pairs_per_kind": dict(kinds),
            "cpu": platform.processor() or platform.machine(),
        }
    )
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    lines = [
        f"# {out_dir.name}: all-MiniLM-L6-v2 + LoRA, fine-tuned on documentation only",
        "",
        "Load with `load_embedder('minilm-ft')` (this folder as `models/embedder-minilm-ft`) or",
        f"`load_embedder('{out_dir}')`; indexes built with it record its own embedder name.",
        "",
        "## Data",
        "",
        f"- Libraries: {', '.join(sorted(per_library))}"
        + (f" (excluded: {', '.join(data.exclude)})" if data.exclude else ""),
        f"- {len(pairs)} (query, API text, hard negative) pairs in `{PAIRS_FILE}`: "
        + ", ".join(f"{lib} {n}" for lib, n in sorted(per_library.items())),
        "- Queries synthesised from the shipped corpora (corpora/apis: signatures, docstring "
        "summaries and sentences, Args/Returns entries) with the API's own identifiers removed: "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())),
        "- Hard negative: a seeded pick among the 3 APIs the base MiniLM ranks highest that are "
        "not the answer (other name, other summary).",
        "- No evaluation query, requirement comment or solution occurs in any pair "
        "(`training.dataset.assert_clean`).",
        "",
        "## Training",
        "",
        f"- Command: `{command}`",
        f"- LoRA r={config.lora_rank}, alpha={config.lora_alpha}, dropout={config.lora_dropout}, "
        f"layers {list(config.lora_layers) if config.lora_layers else 'all'}, "
        f"modules query/key/value/dense; MultipleNegativesRankingLoss (scale {config.scale}) "
        f"with in-batch and one hard negative; batch {config.batch_size}, lr "
        f"{config.learning_rate}, {config.epochs} epoch(s), max_seq_length {config.max_seq_length}",
        f"- Seed {config.seed}; {result.steps} steps in {result.seconds:.0f} s on {result.device} "
        "(2 shared CPU cores, torch 1 thread)",
        "",
    ]
    (out_dir / "README.md").write_text("\n".join(lines))
