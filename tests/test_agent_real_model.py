"""The whole graph with the real embedded SmolLM2 and MiniLM on torchdata@0.7.1 (runs in CI)."""

from __future__ import annotations

import pytest

from apipilot.agents.recommend import recommend
from apipilot.indexes.sources import read_source
from apipilot.indexes.store import IndexStore

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def torchdata_store(tmp_path_factory, minilm) -> IndexStore:
    store = IndexStore(tmp_path_factory.mktemp("home"))
    read = read_source("corpus:torchdata@0.7.1")
    store.build(
        read.report.records,
        library="torchdata",
        version="0.7.1",
        embedder=minilm,
        embedder_spec="minilm",
    )
    return store


def test_csv_batch_shuffle_with_the_embedded_lm(torchdata_store: IndexStore) -> None:
    result = recommend(
        "Load text data from a CSV file, then batch and shuffle it",
        "torchdata",
        store=torchdata_store,
        llm="embedded",
        decomposer="lm",  # every LM step on: the defaults (agents.defaults) turn them off
        rerank=True,
        write_code=True,
    )
    names = [api["name"] for api in result["apis"]]
    assert len(result["subtasks"]) >= 2
    # Batcher itself ranks 5th for "batch" (after BatchAsyncMapper, BucketBatcher…): a batching
    # API is what the graph must keep; which one is the retriever's quality, measured by eval.
    assert {"CSVParser", "Shuffler"} <= set(names), names
    assert any("Batch" in name for name in names), names
    assert set(result["paths"]) == {"skills", "decompose", "rerank", "code"}
    assert all(path in ("lm", "fallback") for path in result["paths"].values())
    assert result["models"]["lm"]["backend"] == "transformers"
    index = torchdata_store.open("torchdata")
    assert all(index.get(api["id"]) is not None for api in result["apis"])
    assert result["code"]
