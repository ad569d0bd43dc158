"""The OpenAI-compatible backend against a tiny fake server on 127.0.0.1 (port 0)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.lm.errors import LMUnavailable, ScoringUnsupported
from apipilot.agents.lm.openai_compat import OpenAICompatLM
from apipilot.retrieval.errors import ConfigError, ModelError

_TOKEN = re.compile(r"\s*\S+|\s+")


def _fake_logprob(token: str) -> float:
    """Deterministic: short tokens are likely, long ones unlikely."""
    return -0.1 * len(token)


@dataclass
class FakeServer:
    """What the fake server does, and what it was asked."""

    mode: str = "full"  # full | no_offsets | ignore_echo | reject_echo | slow | error
    models: list[str] = field(default_factory=lambda: ["fake-model"])
    requests: list[tuple[str, str, dict[str, Any] | None, str | None]] = field(default_factory=list)
    url: str = ""

    def completions(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        if body.get("echo") and self.mode == "reject_echo":
            return 400, {"error": {"message": "echo is not supported"}}
        choices = []
        for i, prompt in enumerate(prompts):
            generated = " one\n2. two\n\n3. three"
            if not body.get("echo") or self.mode == "ignore_echo":
                text, tokens = generated, _TOKEN.findall(generated)[:1]
                values: list[float | None] = [_fake_logprob(t) for t in tokens]
                offsets = [0]
            else:
                tokens = [*_TOKEN.findall(prompt), " X"]
                values = [None] + [_fake_logprob(t) for t in tokens[1:]]
                offsets, at = [], 0
                for t in tokens:
                    offsets.append(at)
                    at += len(t)
                text = prompt + " X"
            logprobs: dict[str, Any] = {"tokens": tokens, "token_logprobs": values}
            if self.mode != "no_offsets":
                logprobs["text_offset"] = offsets
            choices.append(
                {
                    "index": i,
                    "text": text,
                    "logprobs": logprobs if body.get("logprobs") is not None else None,
                }
            )
        return 200, {"object": "text_completion", "choices": list(reversed(choices))}


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def do_GET(self) -> None:
            server.requests.append(("GET", self.path, None, self.headers.get("Authorization")))
            if self.path == "/v1/models":
                self._reply(200, {"data": [{"id": m} for m in server.models]})
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            server.requests.append(("POST", self.path, body, self.headers.get("Authorization")))
            if server.mode == "slow":
                time.sleep(1.0)
            if server.mode == "error":
                self._reply(500, {"error": "model crashed"})
            elif self.path == "/v1/completions":
                self._reply(*server.completions(body))
            else:
                self._reply(404, {"error": "not found"})

    return Handler


@pytest.fixture
def server() -> Iterator[FakeServer]:
    state = FakeServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _mean_of(text: str) -> float:
    tokens = _TOKEN.findall(text)
    values = [_fake_logprob(t) for t in tokens]
    return sum(values) / len(values)


def test_complete_sends_raw_prompt_and_cuts_at_stop(server: FakeServer) -> None:
    with OpenAICompatLM(server.url, "m1", api_key="k") as lm:
        assert isinstance(lm, LanguageModel)
        out = lm.complete("Requirement: r\nSubtasks:\n1.", stop=["\n\n"], max_tokens=40)
    assert out == " one\n2. two"
    method, path, body, auth = server.requests[-1]
    assert (method, path, auth) == ("POST", "/v1/completions", "Bearer k")
    assert body == {
        "model": "m1",
        "prompt": "Requirement: r\nSubtasks:\n1.",
        "max_tokens": 40,
        "temperature": 0.0,
        "stop": ["\n\n"],
    }


def test_model_name_comes_from_server_when_absent(server: FakeServer) -> None:
    with OpenAICompatLM(server.url) as lm:
        lm.complete("p")
        lm.complete("q")
        assert lm.name == "fake-model"
    gets = [r for r in server.requests if r[0] == "GET"]
    assert len(gets) == 1  # asked once
    assert server.requests[-1][2] is not None and server.requests[-1][2]["model"] == "fake-model"


def test_no_model_listed_is_model_error(server: FakeServer) -> None:
    server.models = []
    with OpenAICompatLM(server.url) as lm, pytest.raises(ModelError, match="#model-name"):
        lm.complete("p")


def test_score_is_one_request_in_prompt_order(server: FakeServer) -> None:
    prompt = "Task: read a csv file\nAPI:"
    conts = [" pandas.read_csv", " x", " an_extremely_long_unlikely_name"]
    with OpenAICompatLM(server.url, "m") as lm:
        got = lm.score(prompt, conts)
    posts = [r for r in server.requests if r[0] == "POST"]
    assert len(posts) == 1
    body = posts[0][2]
    assert body is not None and body["echo"] is True and body["logprobs"] == 1
    assert body["prompt"] == [prompt + c for c in conts]
    assert got == pytest.approx([_mean_of(c) for c in conts])
    assert got[1] > got[0] > got[2]


def test_score_without_text_offsets(server: FakeServer) -> None:
    server.mode = "no_offsets"
    with OpenAICompatLM(server.url, "m") as lm:
        assert lm.score("Task:", [" a b", " ccc"]) == pytest.approx(
            [_mean_of(" a b"), _mean_of(" ccc")]
        )


@pytest.mark.parametrize("mode", ["ignore_echo", "reject_echo"])
def test_score_unsupported_is_clear(server: FakeServer, mode: str) -> None:
    server.mode = mode
    with OpenAICompatLM(server.url, "m") as lm, pytest.raises(ScoringUnsupported) as info:
        lm.score("Task:", [" a"])
    assert "echo" in str(info.value)
    assert isinstance(info.value, ModelError)


def test_server_down_is_lm_unavailable() -> None:
    with socket.socket() as s:  # a port that nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with OpenAICompatLM(f"http://127.0.0.1:{port}/v1", "m") as lm:
        with pytest.raises(LMUnavailable, match="is it running") as info:
            lm.complete("p")
        assert f"127.0.0.1:{port}" in str(info.value)
        with pytest.raises(LMUnavailable):
            lm.score("p", [" a"])


def test_timeout_is_lm_unavailable(server: FakeServer) -> None:
    server.mode = "slow"
    lm = OpenAICompatLM(server.url, "m", timeout_s=0.2)
    with lm, pytest.raises(LMUnavailable, match="timed out"):
        lm.complete("p")


def test_http_error_names_status(server: FakeServer) -> None:
    server.mode = "error"
    with OpenAICompatLM(server.url, "m") as lm:
        with pytest.raises(ModelError, match="HTTP 500") as info:
            lm.complete("p")
        assert not isinstance(info.value, LMUnavailable)


def test_bad_arguments_fail_before_any_request(server: FakeServer) -> None:
    with OpenAICompatLM(server.url, "m") as lm:
        with pytest.raises(ConfigError):
            lm.complete("p", max_tokens=0)
        with pytest.raises(ConfigError):
            lm.complete("p", temperature=-1)
        with pytest.raises(ConfigError):
            lm.score("p", ["ok", ""])
        assert lm.score("p", []) == []
    assert server.requests == []
