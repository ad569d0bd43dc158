"""The cold query path (no FAISS, bm25s, scipy or MCP SDK for a small index) and the warm-up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import bm25s
import bm25s.stopwords
import numpy as np
import pytest

from apipilot.retrieval.bm25 import ANALYZERS, STOPWORDS_EN, BM25Index
from apipilot.retrieval.exact_index import ExactIndex
from apipilot.retrieval.vector_index import VectorIndex
from apipilot.ui.mcp_server import ServerOptions, after_warmup, create_server
from apipilot.ui.warmup import Warmup, serving_steps
from tests.mcp_helpers import ENV, SERVER, build_demo_home

HEAVY = ("faiss", "bm25s", "scipy", "torch", "mcp", "transformers", "sentence_transformers")


def imported_after(code: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has imported after running ``code``."""
    probe = (
        f"{code}\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=ENV
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_cli_import_loads_no_heavy_module() -> None:
    assert imported_after("import apipilot.ui.cli") == []


def test_search_of_a_small_index_imports_neither_faiss_nor_bm25s(tmp_path: Path) -> None:
    home = build_demo_home(tmp_path / "home")
    code = f"import apipilot\nprint(apipilot.search('demo', 'shuffle', home={str(home)!r}))"
    assert imported_after(code) == []


def test_stopwords_copy_matches_bm25s() -> None:
    assert frozenset(bm25s.stopwords.STOPWORDS_EN) == STOPWORDS_EN


def test_loaded_bm25_scores_equal_bm25s_retrieval(tmp_path: Path) -> None:
    # a corpus with repeated words, so that ties and near-ties occur
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)] + ["readCsv", "IterableWrapper", "shuffle_rows", "rows"]
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 12))) for _ in range(300)]
    queries = [" ".join(rng.choice(words, size=rng.integers(1, 5))) for _ in range(100)]
    BM25Index.build(texts).save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    reference = bm25s.BM25.load(str(tmp_path), show_progress=False, verbosity=0)
    for k in (1, 10, 50, 500):
        ours = loaded.search(queries, k)
        docs, scores = reference.retrieve(
            [ANALYZERS[loaded.analyzer](q) for q in queries],
            k=min(k, 300),
            show_progress=False,
            n_threads=1,
        )
        for (ids, got), want_ids, want in zip(ours, docs, scores, strict=True):
            keep = want > 0
            assert ids.tolist() == want_ids[keep].tolist()
            assert got.tolist() == want[keep].tolist()  # to the bit: the same numpy steps


def test_exact_index_equals_faiss_flat() -> None:
    rng = np.random.default_rng(1)
    base = rng.standard_normal((500, 32)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = rng.standard_normal((30, 32)).astype(np.float32)
    for k in (1, 10, 499, 500, 600):
        scores, ids = ExactIndex(base).search(queries, k)
        want_scores, want_ids = VectorIndex.build(base).search(queries, k)
        assert (ids == want_ids).all()
        found = ids >= 0
        np.testing.assert_allclose(scores[found], want_scores[found], rtol=1e-5, atol=1e-6)
        assert (scores[~found] == -np.inf).all()


def test_exact_index_searches_a_memory_map_in_place(tmp_path: Path) -> None:
    vectors = np.eye(4, dtype=np.float32)
    np.save(tmp_path / "v.npy", vectors)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    scores, ids = ExactIndex(mapped).search(np.array([[0, 0, 1, 0]], dtype=np.float32), 2)
    assert ids[0].tolist()[0] == 2 and scores[0][0] == 1.0


def test_warmup_runs_steps_once_and_reports_failures() -> None:
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("no such index")

    steps = [("demo@1.0", lambda: calls.append("demo")), ("bad@1", broken)]
    warmup = Warmup(steps).start()
    warmup.start()  # a second start does nothing
    assert warmup.wait(30)
    assert calls == ["demo"]
    assert warmup.report is not None and warmup.report.loaded == ("demo@1.0",)
    summary = warmup.report.summary("server")
    assert re.fullmatch(
        r"server ready \(1 index, embedder\) in [0-9.]+ s; not loaded: bad@1: \w+", summary
    )


def test_a_tool_called_during_warmup_waits_for_it() -> None:
    release = threading.Event()
    warmup = Warmup([("demo@1.0", release.wait)]).start()
    answers: list[str] = []
    tool = after_warmup(warmup, answers.append)
    caller = threading.Thread(target=tool, args=("shuffle",))
    caller.start()
    time.sleep(0.2)
    assert answers == [] and caller.is_alive()  # blocked behind the warm-up
    release.set()
    caller.join(10)
    assert answers == ["shuffle"]


def test_waiting_tools_keep_their_schemas(tmp_path: Path) -> None:
    plain = create_server(ServerOptions(home=tmp_path, llm="none"))
    gated = create_server(ServerOptions(home=tmp_path, llm="none", warmup=Warmup.finished()))

    async def schemas(server: object) -> dict[str, object]:
        tools = await server.list_tools()  # type: ignore[attr-defined]
        return {t.name: (t.input_schema, t.output_schema, t.description) for t in tools}

    assert anyio.run(schemas, gated) == anyio.run(schemas, plain)


def test_serving_steps_warm_every_library_and_the_lm_only_when_in_process(tmp_path: Path) -> None:
    home = build_demo_home(tmp_path / "home")
    assert [name for name, _ in serving_steps(home, "none", with_lm=False)] == ["demo@1.0"]
    with_lm = [name for name, _ in serving_steps(home, "embedded", with_lm=True)]
    assert with_lm == ["demo@1.0", "LM", "agent"]


@pytest.mark.parametrize("http", [False, True])
def test_server_reports_ready_on_stderr(tmp_path: Path, http: bool) -> None:
    home = build_demo_home(tmp_path / "home")
    command = [*SERVER, "--home", str(home), "--llm", "none"]
    if http:
        command += ["--http", "--port", "0"]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=ENV,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "ready" in line:
                break
        ready = [line for line in lines if "ready" in line]
        assert ready and re.match(
            r"apipilot MCP server ready \(1 index, embedder\) in [0-9.]+ s$", ready[0].strip()
        ), lines
        if http:  # the listening banner comes first: ready means requests are served
            assert any("apipilot MCP server on http://" in line for line in lines[:-1])
    finally:
        process.terminate()
        process.wait(10)


class FakeGradio:
    """Records what ``warmup_status`` lays out (the real Gradio is tested in test_web.py)."""

    def __init__(self) -> None:
        self.ticks: list[object] = []

    def Markdown(self, value: str, **_: object) -> dict[str, str]:
        return {"value": value}

    def Timer(self, value: float = 1.0, active: bool = True) -> FakeGradio.FakeTimer:
        return FakeGradio.FakeTimer(self, active)

    class FakeTimer:
        def __init__(self, gr: FakeGradio, active: bool) -> None:
            self.gr, self.active = gr, active

        def tick(self, fn: object, inputs: object, outputs: object) -> None:
            self.gr.ticks.append(fn)


def test_app_status_line_says_loading_until_ready() -> None:
    from apipilot.ui.web import warmup_status

    release = threading.Event()
    loading = Warmup([("demo@1.0", release.wait)]).start()
    gr = FakeGradio()
    status = warmup_status(gr, loading)
    assert "Loading" in status["value"]
    (tick,) = gr.ticks
    text, timer = tick()  # type: ignore[operator]
    assert "Loading" in text and timer.active
    release.set()
    assert loading.wait(10)
    text, timer = tick()  # type: ignore[operator]
    assert "ready (1 index, embedder)" in text and not timer.active
