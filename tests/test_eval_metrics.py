"""Ranking metrics and name matching on hand-made rankings."""

from __future__ import annotations

import math

import pytest

from apipilot.evaluation.harness import latency_summary, task_metrics
from apipilot.evaluation.methods import Ranking
from apipilot.evaluation.metrics import percentile
from apipilot.evaluation.naming import ranked_names


def test_metrics_on_a_hand_made_ranking() -> None:
    ranked = ["a", "g1", "b", "c", "d", "g2", "e", "f", "h", "i"]
    values = task_metrics(ranked, ["g1", "g2", "g3"])
    assert values["R@1"] == 0.0
    assert values["R@5"] == pytest.approx(1 / 3)
    assert values["R@10"] == pytest.approx(2 / 3)
    assert values["P@1"] == 0.0
    assert values["P@5"] == pytest.approx(1 / 5)
    assert values["P@10"] == pytest.approx(2 / 10)
    assert values["MRR"] == pytest.approx(1 / 2)
    dcg = 1 / math.log2(3) + 1 / math.log2(7)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert values["nDCG@10"] == pytest.approx(dcg / ideal)


def test_a_perfect_and_an_empty_ranking() -> None:
    perfect = task_metrics(["x", "y"], ["x", "y"])
    assert perfect["R@1"] == 0.5 and perfect["R@5"] == 1.0 and perfect["MRR"] == 1.0
    assert perfect["nDCG@10"] == pytest.approx(1.0)
    assert perfect["P@5"] == pytest.approx(2 / 5)  # P@k divides by k, as published
    empty = task_metrics([], ["x"])
    assert all(v == 0.0 for v in empty.values())


def test_names_match_on_name_or_alias_and_repeats_count_once() -> None:
    items = [("Shuffler", "shuffle"), ("Batcher", "batch"), ("Shuffler", "shuffle"), ("zip",)]
    assert ranked_names(items, ["shuffle", "zip"]) == ["shuffle", "Batcher", "zip"]
    assert ranked_names(items, ["Shuffler"]) == ["Shuffler", "Batcher", "zip"]
    # the pool spells one API twice (class and functional name): both are distinct names
    assert ranked_names([("shuffle",), ("Shuffler",)], ["Shuffler"]) == ["shuffle", "Shuffler"]


def test_duplicate_records_do_not_inflate_precision() -> None:
    names = ranked_names([("a",), ("a",), ("b",)], ["a"])
    assert task_metrics(names, ["a"])["P@1"] == 1.0
    assert names == ["a", "b"]


def test_latency_percentiles_per_step() -> None:
    rankings = [
        Ranking([], {"decompose": float(i), "retrieve:0": 9.0, "retrieve": 0.1})
        for i in range(1, 21)
    ]
    summary = latency_summary(rankings)
    assert set(summary) == {"decompose", "retrieve"}  # branch timings fold into "retrieve"
    assert summary["decompose"]["p50"] == percentile([float(i) for i in range(1, 21)], 0.5)
    assert summary["decompose"]["p95"] == 19.0
