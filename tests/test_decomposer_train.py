"""Decomposer training: batching, the completion-only loss, a tiny run, and loading its adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apipilot.training.decomposer import (
    IGNORE,
    DecomposerConfig,
    _tensors,
    make_batches,
    train_decomposer,
)
from apipilot.training.decomposer_data import library_examples
from tests.conftest import make_record


def test_batches_are_seeded_and_hold_every_item() -> None:
    items = [([1] * n, 1) for n in range(2, 40)]
    a = make_batches(items, 4, seed=0)
    assert a == make_batches(items, 4, seed=0)
    assert a != make_batches(items, 4, seed=1)
    assert sorted(len(ids) for batch in a for ids, _ in batch) == list(range(2, 40))


def test_only_completion_tokens_have_labels() -> None:
    input_ids, mask, labels = _tensors([([5, 6, 7, 8], 3), ([9, 10], 1)], pad_id=0, device="cpu")
    assert input_ids.tolist() == [[5, 6, 7, 8], [9, 10, 0, 0]]
    assert mask.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert labels.tolist() == [[IGNORE, IGNORE, IGNORE, 8], [IGNORE, 10, IGNORE, IGNORE]]


@pytest.mark.slow
def test_tiny_run_writes_an_adapter_the_embedded_lm_loads(tmp_path: Path) -> None:
    import torch

    from apipilot.agents.lm.transformers_lm import TransformersLM
    from apipilot.training.decomposer import base_model_dir

    torch.set_num_threads(1)
    records = [
        make_record("shuffle", "Shuffles the elements of a sequence."),
        make_record("batch", "Groups consecutive elements into mini-batches."),
        make_record("sort_rows", "Sorts the rows by the values of a column."),
        make_record("fill_na", "Fills missing values with a given constant."),
    ]
    examples = library_examples("demo", records, 4, seed=0)
    config = DecomposerConfig(batch_size=2, max_steps=1, lora_rank=2, lora_layers=(29,))
    out = tmp_path / "adapter"
    result = train_decomposer(examples, out, config)
    assert result.steps == 1 and result.losses[0] > 0
    adapter_config = json.loads((out / "adapter_config.json").read_text())
    assert str(tmp_path) not in adapter_config["base_model_name_or_path"]
    assert "/" not in adapter_config["base_model_name_or_path"]

    base_dir = base_model_dir()
    base = TransformersLM.from_dir(base_dir, name="base")
    tuned = TransformersLM.from_dir(base_dir, name="base", adapter=out)
    assert tuned.name.startswith("base+adapter-") and base.name == "base"
    assert tuned.info()["adapter"] == str(out) and "adapter" not in base.info()
    # scoring runs on the base weights; writing goes through the adapter
    texts = [" shuffle: Shuffles the elements", " batch: Groups elements"]
    assert tuned.score("Task: shuffle the data", texts) == pytest.approx(
        base.score("Task: shuffle the data", texts), abs=1e-5
    )
    assert isinstance(tuned.complete("Requirement: x\nSkills:", max_tokens=2), str)


def test_cli_rejects_an_unknown_library() -> None:
    from typer.testing import CliRunner

    from apipilot.ui.cli import app

    result = CliRunner().invoke(app, ["train", "decomposer", "-l", "nope"])
    assert result.exit_code == 2
    assert "unknown libraries nope" in result.output
