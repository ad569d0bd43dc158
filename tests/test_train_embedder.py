"""A few LoRA steps with the real shipped MiniLM; the adapter loads through ``load_embedder``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from apipilot.indexes.record import ApiRecord
from apipilot.retrieval.embedder import load_embedder
from apipilot.retrieval.finetuned import ADAPTER_WEIGHTS, is_adapter_dir
from apipilot.training.dataset import write_pairs
from apipilot.training.lora import TrainConfig, train_lora
from apipilot.training.negatives import mine_hard_negatives
from apipilot.training.pairs import TrainingPair, synthesise_pairs
from apipilot.ui.cli import app


@pytest.fixture
def tiny_pairs(demo_records: list[ApiRecord]) -> list[TrainingPair]:
    pairs = synthesise_pairs(demo_records, seed=0, queries_per_record=1)
    return mine_hard_negatives(pairs, demo_records, load_embedder("hashing:64"), seed=0)


@pytest.mark.model
def test_a_few_lora_steps_give_a_loadable_adapter(
    tmp_path: Path, tiny_pairs: list[TrainingPair]
) -> None:
    import torch

    torch.set_num_threads(1)
    config = TrainConfig(batch_size=4, max_seq_length=32, max_steps=2, learning_rate=1e-3)
    result = train_lora(tiny_pairs, tmp_path / "adapter", config)
    assert result.steps == 2 and all(np.isfinite(result.losses))
    assert is_adapter_dir(tmp_path / "adapter")
    assert (tmp_path / "adapter" / ADAPTER_WEIGHTS).stat().st_size < 20 * 2**20
    meta = json.loads((tmp_path / "adapter" / "training.json").read_text())
    assert meta["steps"] == 2 and meta["config"]["seed"] == 0

    base, tuned = load_embedder("minilm"), load_embedder(str(tmp_path / "adapter"))
    assert tuned.name != base.name and tuned.name.startswith("all-MiniLM-L6-v2-lora-")
    texts = ["shuffle the elements", "parse csv rows"]
    before, after = base.encode(texts), tuned.encode(texts)
    assert after.shape == (2, 384)
    assert np.allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(before, after)  # the adapter changed the model ...
    assert float((before * after).sum(axis=1).min()) > 0.9  # ... a little, after two steps


@pytest.mark.model
def test_cli_trains_from_a_pairs_file(tmp_path: Path, tiny_pairs: list[TrainingPair]) -> None:
    write_pairs(
        [TrainingPair(**{**p.__dict__, "library": "torchdata"}) for p in tiny_pairs],
        tmp_path / "pairs.jsonl",
    )
    out = tmp_path / "ft"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "embedder",
            "--pairs",
            str(tmp_path / "pairs.jsonl"),
            "--max-steps",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert is_adapter_dir(out) and (out / "README.md").is_file() and (out / "pairs.jsonl").is_file()


def test_cli_refuses_an_unknown_library() -> None:
    result = CliRunner().invoke(app, ["train", "embedder", "--exclude", "nolib"])
    assert result.exit_code == 2
    assert "nolib" in result.output


def test_minilm_ft_spec_names_the_committed_adapter() -> None:
    from apipilot.retrieval.finetuned import adapter_fingerprint, default_adapter_dir

    if not is_adapter_dir(default_adapter_dir()):
        pytest.skip("no adapter in models/embedder-minilm-ft")
    name = load_embedder("minilm-ft").name
    assert name == f"all-MiniLM-L6-v2-lora-{adapter_fingerprint(default_adapter_dir())}"
    assert name != load_embedder("minilm").name


def test_a_missing_adapter_is_a_model_error(tmp_path: Path) -> None:
    from apipilot.retrieval.errors import ModelError
    from apipilot.retrieval.finetuned import LoraMiniLMEmbedder

    with pytest.raises(ModelError, match="train embedder"):
        LoraMiniLMEmbedder(tmp_path)
