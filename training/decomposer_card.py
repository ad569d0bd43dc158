"""The decomposer adapter's model card (``README.md``), written from its ``training.json``.

An evaluation section (``benchmarks.decomposer``, appended by hand) is kept when the card is
rewritten from ``training.json``, and dropped by a new training run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from apipilot.training.decomposer_data import COMPOUND, SINGLE_STEP

EVALUATION_MARK = "## Evaluation"


def write_card(out_dir: Path, *, keep_evaluation: bool = True) -> None:
    """Write the card; a training run passes ``keep_evaluation=False`` (old numbers are stale)."""
    meta: dict[str, Any] = json.loads((out_dir / "training.json").read_text())
    card = out_dir / "README.md"
    kept = ""
    if keep_evaluation and card.is_file() and EVALUATION_MARK in card.read_text():
        kept = card.read_text().split(EVALUATION_MARK, 1)[1]
    config = meta["config"]
    counts = meta["examples_per_library_kind"]
    per_library = ", ".join(
        f"{lib} {sum(kinds.values())} ({', '.join(f'{k} {n}' for k, n in kinds.items())})"
        for lib, kinds in counts.items()
    )
    weights = out_dir / "adapter_model.safetensors"
    size = weights.stat().st_size / 1e6 if weights.is_file() else 0.0
    layers = config["lora_layers"]
    lines = [
        f"# {out_dir.name}: SmolLM2-135M-Instruct + LoRA that writes skills and subtasks",
        "",
        "The embedded LM (`--llm embedded`, the default) loads this adapter when this folder is",
        "`models/decomposer-smollm2`; `--llm embedded-base` is the model without it, and",
        f"`--llm hf:{out_dir}` applies an adapter folder to the embedded model. The adapter",
        "is used when the model writes (skills, subtasks, code); likelihood scoring (reranking)",
        "runs with it switched off.",
        "",
        "## Data",
        "",
        f"- {meta['examples']} (prompt, completion) examples in `examples.jsonl`, "
        f"{meta['tokens']} tokens: {per_library}",
        "- Made from the shipped documentation corpora only (`training.decomposer_data`): groups "
        "of 2–4 APIs used together in one docstring example or from one module "
        "(`agents.demonstrations.api_groups`); each API's summary gives an imperative step; the "
        "requirement joins the steps with varied joiners (also one sentence per step), openers, "
        "paraphrased verbs, made-up details (file names, columns, numbers), sometimes a sentence "
        "of background or one step spelled out with the API's full summary. A decompose "
        f"example is drawn with probability {COMPOUND:.0%} as two groups' requirements joined "
        "into one longer text of several sentences (1–3 steps each, often after a background "
        "sentence) that lists every step, and otherwise as a single step with probability "
        f"{SINGLE_STEP:.0%}.",
        "- Both prompts in exactly the agent's format (`agents.prompts`): `skills_prompt` -> the "
        "steps' general operations without names (checked with `valid_skills`); "
        "`decompose_prompt` with 0–3 shots from the library's shipped example bank -> the "
        "numbered steps (checked with `parse_numbered_list` + `valid_subtasks`).",
        "- No evaluation query, requirement comment or solution occurs in any example "
        "(`training.decomposer_data.assert_clean`, `tests/test_decomposer_data.py`).",
        "",
        "## Training",
        "",
        f"- Command: `{meta['command']}`",
        f"- Base: {meta['base']}",
        f"- LoRA r={config['lora_rank']}, alpha={config['lora_alpha']}, "
        f"dropout={config['lora_dropout']}, layers "
        f"{f'{layers[0]}–{layers[-1]}' if layers else 'all'} of 30, modules "
        f"{'/'.join(config['lora_targets'])}; cross-entropy on the completion tokens only; "
        f"batch {config['batch_size']} (similar lengths), AdamW lr {config['learning_rate']}, "
        f"warm-up {config['warmup_fraction']}, linear decay, {config['epochs']} epoch(s)",
        f"- Seed {config['seed']}; {meta['steps']} steps in {meta['seconds']:.0f} s "
        f"({meta['seconds'] / 60:.1f} min) on {meta['device']} ({meta['cpu_count']} CPU cores "
        f"shared with other jobs, torch {meta['torch_threads']} thread; load average "
        f"{meta['load_average_before'][0]} before, {meta['load_average_after'][0]} after); data "
        f"synthesis {meta['data_seconds']:.0f} s before that. Loss "
        f"{meta['first_loss']} (first 10 steps) -> {meta['final_loss']} (last 10).",
        f"- Adapter: {size:.1f} MB (`adapter_model.safetensors`).",
        *([f"- Note: {meta['note']}."] if meta.get("note") else []),
        "",
    ]
    text = "\n".join(lines)
    if kept:
        text += EVALUATION_MARK + kept
    card.write_text(text)
