"""Concurrent small encode calls share one model pass, and each gets its own rows back."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from apipilot.retrieval.query_batcher import QueryBatcher


class RecordingModel:
    """Encodes a text as [len(text), first char code]; records each batch it is given and can
    hold the first batch until released."""

    def __init__(self, hold_first: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        self.started.set()
        self.release.wait(5)
        if any(text == "boom" for text in texts):
            raise RuntimeError("model failed")
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


def test_a_lone_call_is_encoded_at_once_and_alone() -> None:
    model = RecordingModel()
    vectors = QueryBatcher(model).encode(["shuffle", "batch"])
    assert vectors.tolist() == [[7, ord("s")], [5, ord("b")]]
    assert model.batches == [["shuffle", "batch"]]


def run_concurrently(
    batcher: QueryBatcher, model: RecordingModel, texts: list[str]
) -> dict[str, object]:
    """The first text's call starts the model and holds it; the others arrive meanwhile."""
    results: dict[str, object] = {}

    def call(text: str) -> None:
        try:
            results[text] = batcher.encode([text]).tolist()
        except RuntimeError as exc:
            results[text] = exc

    first = threading.Thread(target=call, args=(texts[0],))
    first.start()
    assert model.started.wait(5)
    others = [threading.Thread(target=call, args=(t,)) for t in texts[1:]]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 5
    while len(batcher._waiting) < len(others) and time.monotonic() < deadline:
        time.sleep(0.001)
    model.release.set()
    for thread in [first, *others]:
        thread.join(5)
    return results


def test_calls_that_arrive_during_a_pass_share_the_next_one() -> None:
    model = RecordingModel(hold_first=True)
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    results = run_concurrently(QueryBatcher(model), model, texts)
    assert model.batches[0] == ["a"]
    assert sorted(model.batches[1]) == ["bb", "ccc", "dddd", "eeeee"]
    assert len(model.batches) == 2
    assert results == {t: [[len(t), ord(t[0])]] for t in texts}


def test_batches_respect_max_texts_and_never_split_a_call() -> None:
    model = RecordingModel(hold_first=True)
    texts = ["a", "b", "c", "d", "e"]
    run_concurrently(QueryBatcher(model, max_texts=2), model, texts)
    assert model.batches[0] == ["a"]
    assert [len(b) for b in model.batches[1:]] == [2, 2]


def test_an_error_reaches_every_call_of_its_batch_only() -> None:
    model = RecordingModel(hold_first=True)
    results = run_concurrently(QueryBatcher(model), model, ["ok", "boom", "fine"])
    assert results["ok"] == [[2, ord("o")]]
    assert isinstance(results["boom"], RuntimeError)
    assert isinstance(results["fine"], RuntimeError)  # shared the failing pass
    batcher = QueryBatcher(RecordingModel())
    assert batcher.encode(["after"]).tolist() == [[5, ord("a")]]


def test_max_texts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        QueryBatcher(RecordingModel(), max_texts=0)
    with pytest.raises(ValueError, match="at least 1"):
        QueryBatcher(RecordingModel(), max_passes=0)


def test_up_to_max_passes_batches_run_at_once() -> None:
    both = threading.Barrier(2, timeout=5)

    def model(texts: list[str]) -> np.ndarray:
        both.wait()  # BrokenBarrierError unless two passes run at the same time
        return np.zeros((len(texts), 2), dtype=np.float32)

    batcher = QueryBatcher(model, max_passes=2)
    threads = [threading.Thread(target=batcher.encode, args=([t],)) for t in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert not both.broken
    assert batcher._running == 0


def test_query_passes_share_half_the_cores() -> None:
    from apipilot.retrieval.onnx_embedder import query_passes

    assert query_passes(1, cores=2) == 1
    assert query_passes(1, cores=16) == 8
    assert query_passes(2, cores=16) == 4
    assert query_passes(0, cores=16) == 1  # ORT's own thread count: every core per pass
