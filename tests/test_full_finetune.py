"""Two full fine-tuning steps of the shipped MiniLM: saved model, progress, trained pairs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from apipilot.indexes.record import ApiRecord
from apipilot.retrieval.embedder import load_embedder
from apipilot.retrieval.finetuned import DeltaMiniLMEmbedder, save_delta
from apipilot.training.dataset import read_pairs
from apipilot.training.full_finetune import TRAINED_PAIRS, FullTrainConfig, train_full
from apipilot.training.negatives import mine_hard_negatives
from apipilot.training.pairs import synthesise_pairs
from apipilot.ui.progress import PhaseProgress


@pytest.mark.model
def test_two_full_steps_change_every_layer_and_report_progress(
    tmp_path: Path, demo_records: list[ApiRecord]
) -> None:
    import torch

    torch.set_num_threads(1)
    pairs = synthesise_pairs(demo_records, seed=0, queries_per_record=1)
    pairs = mine_hard_negatives(pairs, demo_records, load_embedder("hashing:64"), seed=0)
    config = FullTrainConfig(batch_size=4, max_seq_length=32, max_steps=2, learning_rate=1e-4)
    stream = io.StringIO()
    lines: list[str] = []
    with PhaseProgress(stream=stream, tty=False, interval=1e-6) as progress:
        result = train_full(pairs, tmp_path / "model", config, log=lines.append, progress=progress)
    assert result.steps == 2 and all(np.isfinite(result.losses))
    assert "train 1/2 steps" in stream.getvalue()  # a plain line for every step here
    assert lines[-1].startswith("step 2/2 loss")
    meta = json.loads((tmp_path / "model" / "training.json").read_text())
    assert meta["steps"] == 2 and meta["config"]["freeze_word_embeddings"] is True
    trained = read_pairs(tmp_path / "model" / TRAINED_PAIRS)
    assert 4 <= len(trained) <= 8 and set(trained) <= set(pairs)  # two batches of at most 4

    base = load_embedder("minilm", purpose="build")
    tuned = load_embedder(str(tmp_path / "model"))
    texts = ["shuffle the elements", "parse csv rows"]
    before, after = base.encode(texts), tuned.encode(texts)
    assert after.shape == (2, 384) and not np.allclose(before, after)
    assert float((before * after).sum(axis=1).min()) > 0.9

    # what ships: the changed weights as a float16 delta on the base package's token table
    save_delta(tmp_path / "model", tmp_path / "delta")
    meta = json.loads((tmp_path / "delta" / "training.json").read_text())
    assert meta == {"config": {"max_seq_length": 32}}  # no model config, tokenizer or table
    delta = DeltaMiniLMEmbedder(tmp_path / "delta")
    assert delta.name.startswith("all-MiniLM-L6-v2-api-")
    assert float((delta.encode(texts) * after).sum(axis=1).min()) > 0.9999
