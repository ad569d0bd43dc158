"""``--llm openai:URL#model`` runs the whole agent graph against a fake OpenAI-compatible
server on 127.0.0.1: skills, decomposition, likelihood rerank and code all go over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from apipilot.agents.lm.spec import clear_lm_cache
from apipilot.agents.recommend import recommend
from apipilot.indexes.store import IndexStore

REQUIREMENT = "Read the CSV rows from files, shuffle the elements and group them into batches"
SKILLS = " parse delimited rows, shuffle elements, group elements into batches"
SUBTASKS = " Parse rows of CSV files\n2. Shuffle the elements\n3. Group elements into batches\n\n"
CODE = "import demo\nrows = demo.parse_csv(files)\nbatches = demo.batch(demo.shuffle(rows), 4)\n"


class FakeOpenAI(BaseHTTPRequestHandler):
    """``/v1/completions`` as llama.cpp, vLLM or Ollama answer it: a reply chosen by what the
    prompt asks for, and echoed prompts with per-token logprobs for scoring."""

    prompts: ClassVar[list[str]] = []  # every prompt asked, reset per test

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        type(self).prompts.extend(prompts)
        choices = [self._choice(i, p, bool(body.get("echo"))) for i, p in enumerate(prompts)]
        data = json.dumps({"object": "text_completion", "choices": choices}).encode()
        self.send_response(200 if self.path == "/v1/completions" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _choice(index: int, prompt: str, echo: bool) -> dict[str, Any]:
        if echo:  # scoring: every word a token, shorter words likelier
            tokens = [w if i == 0 else " " + w for i, w in enumerate(prompt.split(" "))]
            offsets = [sum(len(t) for t in tokens[:i]) for i in range(len(tokens))]
            values = [None] + [-0.1 * len(t) for t in tokens[1:]]
            logprobs = {"tokens": tokens, "token_logprobs": values, "text_offset": offsets}
            return {"index": index, "text": prompt, "logprobs": logprobs}
        if prompt.endswith("Skills:"):
            text = SKILLS + "\n"
        elif prompt.endswith("Subtasks:\n1."):
            text = SUBTASKS
        else:
            text = CODE
        return {"index": index, "text": text, "logprobs": None}


@pytest.fixture
def openai_url() -> Iterator[str]:
    FakeOpenAI.prompts = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)
    clear_lm_cache()


@pytest.fixture
def demo_store(store: IndexStore, demo_records, hashing) -> IndexStore:
    store.build(
        demo_records, library="demo", version="1.0", embedder=hashing, embedder_spec="hashing:64"
    )
    return store


def test_the_whole_graph_runs_on_an_openai_server(demo_store: IndexStore, openai_url: str) -> None:
    answer = recommend(
        REQUIREMENT,
        "demo",
        store=demo_store,
        llm=f"openai:{openai_url}#fake-model",
        decomposer="lm",
        rerank=True,
        write_code=True,
        k=5,
    )
    assert answer["paths"] == {"skills": "lm", "decompose": "lm", "rerank": "lm", "code": "lm"}
    assert answer["skills"] == SKILLS.strip()
    assert [s["text"] for s in answer["subtasks"]] == [
        "Parse rows of CSV files",
        "Shuffle the elements",
        "Group elements into batches",
    ]
    assert {"parse_csv", "shuffle", "batch"} <= {a["name"] for a in answer["apis"]}
    assert answer["code"] == CODE.strip() and answer["unknown_apis"] == []
    assert answer["models"]["lm"]["backend"] == "openai-compatible"
    asked = FakeOpenAI.prompts
    assert any(p.endswith("Skills:") for p in asked)
    assert any(p.startswith("Task: Shuffle the elements") for p in asked)  # rerank scoring


def test_cli_ask_with_an_openai_llm(
    demo_store: IndexStore, openai_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apipilot.ui.cli import app

    monkeypatch.delenv("APIPILOT_LLM", raising=False)
    args = ["ask", REQUIREMENT, "-l", "demo", "--json", "--home", str(demo_store.home)]
    result = CliRunner().invoke(app, [*args, "--llm", f"openai:{openai_url}#m", "--code"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["paths"]["skills"] == "lm" and answer["paths"]["code"] == "lm"
    assert answer["paths"]["decompose"] == "skipped"  # the default decomposer: the clauses
