"""The shared LM queue: concurrent callers batched, answers routed back, errors isolated,
shutdown; and, with the real embedded model, batched greedy text equal to unbatched text."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

from apipilot.agents.lm import spec as spec_mod
from apipilot.agents.lm.base import BatchCompleter, LanguageModel
from apipilot.agents.lm.errors import LMUnavailable
from apipilot.agents.lm.shared import (
    CPU_MAX_BATCH,
    DEFAULT_MAX_BATCH,
    SharedLM,
    close_shared_lms,
    in_request_scope,
    request_scope,
    shared_lm,
)
from apipilot.agents.lm.spec import LMSpec, clear_lm_cache
from apipilot.retrieval.errors import ConfigError
from tests.fakes_lm import ScriptedLM

TIMEOUT = 30.0  # generous: only a broken queue ever waits this long


@dataclass
class BatchingLM(ScriptedLM):
    """A ScriptedLM that also completes in batches, records them, and fails on "bad"."""

    batches: list[list[str]] = field(default_factory=list)

    def complete(
        self,
        prompt: str,
        *,
        stop: Sequence[str] = (),
        max_tokens: int = 128,
        temperature: float = 0.0,
    ) -> str:
        if "bad" in prompt:
            raise ValueError(f"cannot complete {prompt!r}")
        return super().complete(prompt, stop=stop, max_tokens=max_tokens, temperature=temperature)

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        stop: Sequence[str] = (),
        max_tokens: int = 128,
        temperature: float = 0.0,
    ) -> list[str]:
        self.batches.append(list(prompts))
        return [
            self.complete(p, stop=stop, max_tokens=max_tokens, temperature=temperature)
            for p in prompts
        ]

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        if any("bad" in c for c in continuations):
            raise ValueError("cannot score a bad continuation")
        return super().score(prompt, continuations)


def echo_lm() -> BatchingLM:
    return BatchingLM(default="", by_substring={f"p{i}": f"answer {i}" for i in range(20)})


class Callers:
    """Threads that each make one call on a paused ``SharedLM``, queued in the order started."""

    def __init__(self, lm: SharedLM) -> None:
        self.lm = lm
        self.results: dict[int, object] = {}
        self.threads: list[threading.Thread] = []

    def add(self, call: Callable[[], object]) -> None:
        n = len(self.threads)

        def run() -> None:
            try:
                self.results[n] = call()
            except Exception as exc:
                self.results[n] = exc

        thread = threading.Thread(target=run)
        self.threads.append(thread)
        thread.start()
        # the next caller queues only after this one: the queue order is the order added
        assert self.lm.wait_pending(n + 1, TIMEOUT)

    def finish(self) -> dict[int, object]:
        self.lm.start()
        for thread in self.threads:
            thread.join(TIMEOUT)
            assert not thread.is_alive()
        return self.results


def test_concurrent_completions_run_as_one_batch_in_order() -> None:
    backend = echo_lm()
    lm = SharedLM(backend, max_batch=8, gather_s=0, autostart=False)
    callers = Callers(lm)
    for i in (3, 0, 5, 1, 4, 2):
        callers.add(partial(lm.complete, f"p{i}", stop=["\n"], max_tokens=8))
    results = callers.finish()
    assert backend.batches == [["p3", "p0", "p5", "p1", "p4", "p2"]]
    assert lm.batch_sizes == [6]
    assert [results[n] for n in range(6)] == [f"answer {i}" for i in (3, 0, 5, 1, 4, 2)]
    lm.close()


def test_batch_cap_and_settings_split_batches() -> None:
    backend = echo_lm()
    lm = SharedLM(backend, max_batch=4, gather_s=0, autostart=False)
    callers = Callers(lm)
    for i in range(3):
        callers.add(partial(lm.complete, f"p{i}", max_tokens=8))
    callers.add(lambda: lm.complete("p3", max_tokens=9))  # other settings: its own batch
    for i in (4, 5, 6):
        callers.add(partial(lm.complete, f"p{i}", max_tokens=8))  # past the cap of 4
    results = callers.finish()
    # the oldest call's kind first, up to the cap; then the oldest left (p3, alone, through
    # ``complete``), then the rest
    assert backend.batches == [["p0", "p1", "p2", "p4"], ["p5", "p6"]]
    assert lm.batch_sizes == [4, 1, 2]
    assert [results[n] for n in range(7)] == [f"answer {i}" for i in range(7)]
    lm.close()


def test_scorings_of_one_prompt_share_one_call() -> None:
    backend = echo_lm()
    lm = SharedLM(backend, gather_s=0, autostart=False)
    callers = Callers(lm)
    callers.add(lambda: lm.score("read a csv file", ["read csv", "delete"]))
    callers.add(lambda: lm.score("delete a file", ["read csv"]))
    callers.add(lambda: lm.score("read a csv file", ["csv file", "read a", "x"]))
    results = callers.finish()
    alone = ScriptedLM()
    assert results == {
        0: alone.score("read a csv file", ["read csv", "delete"]),
        1: alone.score("delete a file", ["read csv"]),
        2: alone.score("read a csv file", ["csv file", "read a", "x"]),
    }
    calls = [(c.prompt, c.continuations) for c in backend.calls]
    assert calls == [
        ("read a csv file", ("read csv", "delete", "csv file", "read a", "x")),
        ("delete a file", ("read csv",)),
    ]
    lm.close()


def test_older_requests_are_served_first() -> None:
    backend = echo_lm()
    lm = SharedLM(backend, gather_s=0, autostart=False)
    callers = Callers(lm)

    def call_in(started: float, prompt: str, max_tokens: int) -> str:
        # a nested scope keeps the request's start
        with request_scope(started), request_scope(0.0):
            return lm.complete(prompt, max_tokens=max_tokens)

    callers.add(partial(call_in, 30.0, "p0", 8))
    callers.add(partial(call_in, 10.0, "p1", 9))  # queued later, by an older request
    callers.add(partial(call_in, 20.0, "p2", 10))
    callers.add(partial(call_in, 40.0, "p3", 9))  # joins p1's batch: same settings
    results = callers.finish()
    assert backend.batches == [["p1", "p3"]]
    assert [c.prompt for c in backend.calls] == ["p1", "p3", "p2", "p0"]
    assert [results[n] for n in range(4)] == [f"answer {i}" for i in range(4)]
    lm.close()


def test_a_generator_runs_in_its_request_scope() -> None:
    backend = echo_lm()
    lm = SharedLM(backend, gather_s=0, autostart=False)
    callers = Callers(lm)

    def agent() -> Iterator[str]:
        # a step of an old request run in a worker thread that copies the context, as
        # LangGraph runs nodes
        out: list[str] = []
        step = contextvars.copy_context().run
        thread = threading.Thread(
            target=step, args=(lambda: out.append(lm.complete("p1", max_tokens=9)),)
        )
        thread.start()
        thread.join(TIMEOUT)
        yield out[0]

    callers.add(partial(lm.complete, "p0", max_tokens=8))  # a newer request, queued first
    callers.add(lambda: list(in_request_scope(agent(), started=1.0)))
    results = callers.finish()
    assert [c.prompt for c in backend.calls] == ["p1", "p0"]
    assert results == {0: "answer 0", 1: ["answer 1"]}
    lm.close()


def test_a_bad_request_fails_only_its_caller() -> None:
    backend = echo_lm()
    lm = SharedLM(backend, gather_s=0, autostart=False)
    callers = Callers(lm)
    callers.add(lambda: lm.complete("p0"))
    callers.add(lambda: lm.complete("p1 bad"))
    callers.add(lambda: lm.complete("p2"))
    callers.add(lambda: lm.score("task", ["good one"]))
    callers.add(lambda: lm.score("task", ["bad one"]))
    results = callers.finish()
    assert results[0] == "answer 0" and results[2] == "answer 2"
    assert isinstance(results[1], ValueError) and "p1 bad" in str(results[1])
    assert results[3] == ScriptedLM().score("task", ["good one"])
    assert isinstance(results[4], ValueError)
    lm.close()


def test_bad_arguments_fail_in_the_caller_before_queueing() -> None:
    lm = SharedLM(echo_lm(), autostart=False)
    with pytest.raises(ConfigError, match="max_tokens"):
        lm.complete("p0", max_tokens=0)
    with pytest.raises(ConfigError, match="empty"):
        lm.score("task", [""])
    assert lm.score("task", []) == []
    assert lm.pending() == 0
    with pytest.raises(ConfigError, match="max_batch"):
        SharedLM(echo_lm(), max_batch=0)


def test_a_backend_without_batches_answers_one_at_a_time() -> None:
    backend = ScriptedLM(by_substring={"p0": "zero", "p1": "one"})
    lm = SharedLM(backend, gather_s=0, autostart=False)
    callers = Callers(lm)
    callers.add(lambda: lm.complete("p0"))
    callers.add(lambda: lm.complete("p1"))
    assert callers.finish() == {0: "zero", 1: "one"}
    assert lm.batch_sizes == [1, 1]
    assert not isinstance(backend, BatchCompleter)
    lm.close()


def test_gather_window_collects_callers_that_arrive_together() -> None:
    backend = echo_lm()
    # The worker starts with the first call and waits (up to the window) until the cap is met.
    lm = SharedLM(backend, max_batch=4, gather_s=TIMEOUT)
    barrier = threading.Barrier(4)
    results: dict[int, str] = {}

    def call(i: int) -> None:
        barrier.wait()
        results[i] = lm.complete(f"p{i}")

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert results == {i: f"answer {i}" for i in range(4)}
    assert lm.batch_sizes == [4]
    lm.close()


def test_close_fails_waiting_callers_and_later_calls() -> None:
    lm = SharedLM(echo_lm(), autostart=False)
    callers = Callers(lm)
    callers.add(lambda: lm.complete("p0"))
    lm.close()
    for thread in callers.threads:
        thread.join(TIMEOUT)
    assert isinstance(callers.results[0], LMUnavailable)
    with pytest.raises(LMUnavailable, match="shut down"):
        lm.complete("p1")
    with pytest.raises(LMUnavailable):
        lm.start()
    lm.close()  # idempotent


def test_close_stops_the_worker() -> None:
    lm = SharedLM(echo_lm(), gather_s=0)
    assert lm.complete("p1") == "answer 1"
    worker = lm._worker
    assert worker is not None and worker.is_alive()
    lm.close(timeout=TIMEOUT)
    assert not worker.is_alive()


@pytest.fixture
def fake_loaders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[LMSpec]]:
    loaded: list[LMSpec] = []

    def loader(spec: LMSpec) -> LanguageModel:
        loaded.append(spec)
        return ScriptedLM(name=str(spec), default="ok")

    for kind in ("hf", "openai"):
        monkeypatch.setitem(spec_mod._LOADERS, kind, loader)
    clear_lm_cache()
    yield loaded
    close_shared_lms()
    clear_lm_cache()


def test_shared_lm_is_one_per_spec(fake_loaders: list[LMSpec]) -> None:
    a = shared_lm("hf:/models/one")
    assert isinstance(a, SharedLM) and isinstance(a, LanguageModel)
    assert a.max_batch == DEFAULT_MAX_BATCH  # not on a CPU (the fake's device is "none")
    assert shared_lm(" hf:/models/one/ ") is a
    assert shared_lm("hf:/models/two") is not a
    assert fake_loaders == [LMSpec("hf", Path("/models/one")), LMSpec("hf", Path("/models/two"))]
    assert a.complete("anything") == "ok"
    assert a.info()["backend"] == "scripted" and "batches of up to" in a.info()["shared"]


def test_a_model_on_a_cpu_is_not_batched(monkeypatch: pytest.MonkeyPatch) -> None:
    @dataclass
    class CpuLM(ScriptedLM):
        def info(self) -> dict[str, str]:
            return super().info() | {"device": "cpu"}

    monkeypatch.setitem(spec_mod._LOADERS, "gguf", lambda spec: CpuLM(default="ok"))
    clear_lm_cache()
    try:
        lm = shared_lm("gguf:/models/m.gguf")
        assert isinstance(lm, SharedLM) and lm.max_batch == CPU_MAX_BATCH == 1
    finally:
        close_shared_lms()
        clear_lm_cache()


def test_a_server_model_is_not_wrapped(fake_loaders: list[LMSpec]) -> None:
    remote = shared_lm("openai:http://127.0.0.1:9/v1")
    assert isinstance(remote, ScriptedLM)


def test_a_reloaded_model_gets_a_new_queue(fake_loaders: list[LMSpec]) -> None:
    a = shared_lm("hf:/models/one")
    assert isinstance(a, SharedLM)
    clear_lm_cache()
    b = shared_lm("hf:/models/one")
    assert b is not a and a.closed
    assert len(fake_loaders) == 2


# ---- the real embedded model ---------------------------------------------------------------

PROMPTS = [
    "Requirement: read a CSV file and plot one column as a line chart\nSubtasks:\n1.",
    "Requirement: shuffle a dataset and split it into batches\nSubtasks:\n1.",
    "# Python: delete a file from disk\nimport",
    "Requirement: load images from a folder, resize them and save them as PNG files in another "
    "directory\nSubtasks:\n1.",
    "Hi",
]


@pytest.fixture(scope="module")
def embedded() -> Iterator[LanguageModel]:
    import torch

    from apipilot.agents.lm.paths import decomposer_adapter
    from apipilot.agents.lm.transformers_lm import load_embedded

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_embedded(adapter=decomposer_adapter())
    torch.set_num_threads(threads)


@pytest.mark.model
def test_batched_greedy_text_equals_unbatched(embedded: LanguageModel) -> None:
    assert isinstance(embedded, BatchCompleter)
    stop = ["\n\n", "Requirement:"]
    alone = [embedded.complete(p, stop=stop, max_tokens=24) for p in PROMPTS]
    # left padding of rows up to 4x shorter than the longest; "Hi" runs to max_tokens
    assert embedded.complete_batch(PROMPTS, stop=stop, max_tokens=24) == alone
    shared = SharedLM(embedded, max_batch=8, gather_s=0, autostart=False)
    callers = Callers(shared)
    for p in PROMPTS:
        callers.add(partial(shared.complete, p, stop=stop, max_tokens=24))
    results = callers.finish()
    assert [results[n] for n in range(len(PROMPTS))] == alone
    assert shared.batch_sizes == [len(PROMPTS)]
    shared.close()


def test_the_public_loader_and_the_agent_get_the_shared_instance(
    fake_loaders: list[LMSpec],
) -> None:
    import apipilot
    from apipilot.agents.recommend import resolve_lm

    lm = apipilot.load_lm("hf:/models/one")
    assert isinstance(lm, SharedLM)
    assert resolve_lm("hf:/models/one") is lm
    assert len(fake_loaders) == 1
