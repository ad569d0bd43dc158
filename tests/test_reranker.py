"""The cross-encoder reranker: order rules, specs, the agent with a fake one, clean training
data, and a few real LoRA steps that give a loadable adapter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from apipilot.agents.recommend import recommend
from apipilot.evaluation.methods import method_names
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.cross_encoder import (
    DEFAULT_ON,
    RERANKER_SPEC,
    default_reranker_dir,
    default_reranker_spec,
    is_reranker_dir,
    load_reranker,
    order_from_scores,
    rerank_order,
)
from apipilot.retrieval.errors import ConfigError, ModelError
from apipilot.retrieval.finetuned import ADAPTER_WEIGHTS
from apipilot.training.dataset import ContaminationError, forbidden_texts
from apipilot.training.pairs import synthesise_pairs
from apipilot.training.reranker import RerankConfig, group_loss, train_reranker
from apipilot.training.reranker_data import (
    RerankGroup,
    assert_groups_clean,
    is_answer,
    is_validation,
    mine_groups,
    read_groups,
    write_groups,
)
from apipilot.ui.cli import app
from tests.conftest import make_record

REQUIREMENT = "Read the CSV rows from files, shuffle the elements and group them into batches"


class KeywordReranker:
    """Deterministic: a text scores the number of query words it contains."""

    name = "keyword-fake"

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        self.calls.append((query, len(texts)))
        words = {w.strip(".,").lower() for w in query.split()}
        return [float(sum(w in text.lower() for w in words)) for text in texts]


class BrokenReranker:
    name = "broken"

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        raise ModelError("no weights")


@pytest.fixture
def demo_store(store: IndexStore, demo_records, hashing) -> IndexStore:
    store.build(
        demo_records, library="demo", version="1.0", embedder=hashing, embedder_spec="hashing:64"
    )
    return store


def test_order_rules() -> None:
    scores = [0.1, 0.9, 0.5]
    assert order_from_scores(scores, fuse=False) == [1, 2, 0]
    # fused with the retrieval order, the first hit and the model's first tie: retrieval wins
    assert order_from_scores(scores, fuse=True, weight=1.0)[0] in (0, 1)
    assert order_from_scores(scores, fuse=True, weight=3.0)[0] == 1
    assert rerank_order("q", ["only"], KeywordReranker()) == [0]


def test_agent_uses_the_context_reranker_for_every_candidate(demo_store) -> None:
    fake = KeywordReranker()
    result = recommend(REQUIREMENT, "demo", store=demo_store, llm="none", k=5, reranker=fake)
    assert result["paths"]["rerank"] == "cross-encoder"
    assert result["models"]["reranker"] == "keyword-fake"
    subtasks = result["subtasks"]
    assert len(fake.calls) == len(subtasks) + 1  # each subtask and the whole requirement
    assert all(n == 8 for _, n in fake.calls)  # every candidate of the 8-record index
    assert {"parse_csv", "shuffle", "batch"} <= {a["name"] for a in result["apis"]}
    again = recommend(REQUIREMENT, "demo", store=demo_store, llm="none", k=5, reranker=fake)
    assert again["apis"] == result["apis"]


def test_agent_keeps_retrieval_order_when_the_reranker_fails(demo_store) -> None:
    plain = recommend(REQUIREMENT, "demo", store=demo_store, llm="none", k=5)
    broken = recommend(
        REQUIREMENT, "demo", store=demo_store, llm="none", k=5, reranker=BrokenReranker()
    )
    assert broken["paths"]["rerank"] == "fallback"
    assert any("cross-encoder failed" in note for note in broken["notes"])
    assert plain["paths"]["rerank"] == "fallback" and plain["models"]["reranker"] is None
    skipped = recommend(
        REQUIREMENT, "demo", store=demo_store, llm="none", k=5, rerank=False, reranker="nonsense"
    )
    assert skipped["models"]["reranker"] is None  # rerank off: the spec is not even read


def test_reranker_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_reranker("none") is None
    with pytest.raises(ConfigError, match="unknown reranker"):
        load_reranker("no-such-reranker")
    with pytest.raises(ModelError, match="train reranker"):
        load_reranker(str(tmp_path))
    monkeypatch.setenv("APIPILOT_RERANKER", "none")
    assert default_reranker_spec() == "none" and load_reranker() is None
    monkeypatch.delenv("APIPILOT_RERANKER")
    shipped = DEFAULT_ON and is_reranker_dir(default_reranker_dir())
    assert default_reranker_spec() == (RERANKER_SPEC if shipped else "none")
    monkeypatch.setenv("APIPILOT_RERANKER", RERANKER_SPEC)
    assert default_reranker_spec() == RERANKER_SPEC


def test_the_evaluation_registry_has_the_reranked_method() -> None:
    assert "fused+rerank" in method_names()


def test_mined_negatives_are_other_apis(demo_store) -> None:
    index = demo_store.open("demo")
    pairs = synthesise_pairs(index.records, seed=0, queries_per_record=2)
    groups = mine_groups(pairs, index, seed=0, negatives=3, depth=8)
    assert groups == mine_groups(pairs, index, seed=0, negatives=3, depth=8)
    assert len(groups) == len(pairs)
    by_text = {r.search_text(): r for r in index.records}
    for group, pair in zip(groups, pairs, strict=True):
        assert len(group.negatives) == 3 and len(set(group.negatives)) == 3
        assert not any(is_answer(by_text[t], pair) for t in group.negatives)
        assert group.positive not in group.negatives


def test_pool_duplicates_of_the_answer_are_not_negatives() -> None:
    pair = synthesise_pairs([make_record("mean", "Compute the arithmetic mean of values")], seed=0)
    duplicate = make_record("np.mean", "Compute the arithmetic mean of values")
    assert pair and is_answer(duplicate, pair[0])
    assert not is_answer(make_record("median", "Compute the median"), pair[0])


def test_validation_split_is_seeded_and_small() -> None:
    names = [f"api{i}" for i in range(2000)]
    held = [n for n in names if is_validation("lib", n, 0)]
    assert held == [n for n in names if is_validation("lib", n, 0)]
    assert 100 < len(held) < 300
    assert held != [n for n in names if is_validation("lib", n, 1)]


def test_groups_round_trip(tmp_path: Path) -> None:
    groups = [RerankGroup("lib", "a", "query", "pos", ("n1", "n2"), ("alias",), "summary")]
    write_groups(groups, tmp_path / "groups.jsonl")
    assert read_groups(tmp_path / "groups.jsonl") == groups


def test_a_leaked_text_in_a_group_is_caught() -> None:
    forbidden = forbidden_texts()
    clean = RerankGroup("monkey", "x", "a query", "an api text", ("another api text",))
    assert_groups_clean([clean], forbidden)
    leaked = RerankGroup("monkey", "x", "q", "p", ("n", f"see {forbidden[0]} here"))
    with pytest.raises(ContaminationError):
        assert_groups_clean([leaked], forbidden)


def test_the_shipped_reranker_training_set_is_clean() -> None:
    """Every group `apipilot train reranker` trained the shipped adapter on: no eval text."""
    path = default_reranker_dir() / "groups.jsonl"
    if not path.is_file():
        pytest.skip("no models/reranker-minilm-ce/groups.jsonl")
    groups = read_groups(path)
    assert {g.library for g in groups} == {"torchdata", "monkey", "beatnum", "pandas", "numpy"}
    assert_groups_clean(groups)


def test_group_losses_prefer_the_positive_first() -> None:
    import torch

    good = torch.tensor([5.0, 0.0, 0.0, 3.0, -1.0, -1.0])
    bad = torch.tensor([0.0, 5.0, 0.0, -1.0, 3.0, -1.0])
    for loss in ("listwise", "bce"):
        assert float(group_loss(good, 2, loss)) < float(group_loss(bad, 2, loss))
    with pytest.raises(ValueError):
        group_loss(good, 2, "hinge")


@pytest.mark.model
def test_a_few_reranker_steps_give_a_loadable_adapter(
    tmp_path: Path, demo_records: list[ApiRecord]
) -> None:
    import torch

    from apipilot.retrieval.cross_encoder import CrossEncoderReranker

    torch.set_num_threads(1)
    texts = [r.search_text() for r in demo_records]
    groups = [
        RerankGroup("demo", r.name, r.summary.lower(), texts[i], (texts[i - 1], texts[i - 2]))
        for i, r in enumerate(demo_records)
    ]
    config = RerankConfig(groups_per_batch=2, max_length=32, max_steps=2, learning_rate=1e-3)
    result = train_reranker(groups, tmp_path / "ce", config)
    assert result.steps == 2 and all(np.isfinite(result.losses))
    assert is_reranker_dir(tmp_path / "ce")
    assert (tmp_path / "ce" / ADAPTER_WEIGHTS).stat().st_size < 20 * 2**20
    reranker = CrossEncoderReranker(tmp_path / "ce")
    scores = reranker.scores("shuffle the elements", texts)
    assert len(scores) == len(texts) and all(np.isfinite(scores))
    assert reranker.scores("shuffle the elements", texts) == scores  # eval mode: no dropout
    assert reranker.name.startswith("all-MiniLM-L6-v2-ce-")


def test_cli_refuses_bad_options() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["train", "reranker", "--exclude", "nolib"])
    assert result.exit_code == 2 and "nolib" in result.output
    result = runner.invoke(app, ["train", "reranker", "--loss", "hinge"])
    assert result.exit_code == 2 and "hinge" in result.output
