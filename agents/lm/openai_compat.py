"""Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, LM Studio…) by base URL.

``complete`` uses ``POST {base}/completions`` (raw text, no chat template). ``score`` asks the
same endpoint to echo the prompt with per-token log-probabilities (``echo=True, logprobs=1``),
all continuations in one request; servers that do not support that (Ollama, llama.cpp server)
raise ``ScoringUnsupported``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import httpx

from apipilot.agents.lm.contract import (
    check_completion_args,
    check_continuations,
    clean_stops,
    cut_at_stop,
)
from apipilot.agents.lm.errors import LMUnavailable, ScoringUnsupported
from apipilot.retrieval.errors import ModelError

API_KEY_ENV = "APIPILOT_LLM_API_KEY"
DEFAULT_TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 5.0


class OpenAICompatLM:
    """A model behind an OpenAI-compatible ``/completions`` endpoint.

    Without a model name, the first model that ``GET {base}/models`` lists is used (asked once,
    on first use).
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._model = model
        self.name = model or f"openai@{self.base_url}"
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def info(self) -> dict[str, str]:
        return {
            "backend": "openai-compatible",
            "model": self._model or "(first model the server lists)",
            "base_url": self.base_url,
            "device": "remote",
        }

    @property
    def model(self) -> str:
        """The model name sent with each request (asked from the server when not given)."""
        if self._model is None:
            body = self._request("GET", "models")
            data = body.get("data") if isinstance(body, dict) else None
            models = data if isinstance(data, list) else []
            ids = [m.get("id") for m in models if isinstance(m, dict)]
            names = [i for i in ids if isinstance(i, str) and i]
            if not names:
                raise ModelError(
                    f"{self.base_url}/models lists no model; name one in the spec "
                    f"(openai:{self.base_url}#model-name)"
                )
            self._model = names[0]
            self.name = names[0]
        return self._model

    def complete(
        self,
        prompt: str,
        *,
        stop: Sequence[str] = (),
        max_tokens: int = 128,
        temperature: float = 0.0,
    ) -> str:
        check_completion_args(max_tokens, temperature)
        stops = clean_stops(stop)
        payload: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stops:
            payload["stop"] = stops
        body = self._request("POST", "completions", payload)
        text = _choices(body, 1, self.base_url)[0].get("text")
        if not isinstance(text, str):
            raise ModelError(f"{self.base_url}/completions answered without a text: {body!r:.300}")
        return cut_at_stop(text, stops)  # some servers ignore "stop" or keep the stop sequence

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        items = check_continuations(continuations)
        if not items:
            return []
        payload: dict[str, Any] = {
            "model": self.model,
            "prompt": [prompt + c for c in items],
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
        }
        try:
            body = self._request("POST", "completions", payload)
        except ModelError as exc:
            if isinstance(exc, LMUnavailable):
                raise
            raise ScoringUnsupported(
                f"{self.base_url} refused a scoring request (echo=True with logprobs on "
                f"/completions): {exc}"
            ) from exc
        choices = _choices(body, len(items), self.base_url)
        return [
            _mean_logprob(choice, len(prompt), len(prompt) + len(c), self.base_url)
            for choice, c in zip(choices, items, strict=True)
        ]

    def _request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        url = f"{self.base_url}/{path}"
        try:
            response = self._client.request(method, path, json=payload)
        except httpx.TimeoutException as exc:
            raise LMUnavailable(f"the LM server at {url} timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise LMUnavailable(
                f"no LM server answers at {url} ({type(exc).__name__}: {exc}); is it running?"
            ) from exc
        if response.status_code >= 400:
            raise ModelError(
                f"the LM server at {url} answered HTTP {response.status_code}: "
                f"{response.text[:300]}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise ModelError(f"the LM server at {url} answered something that is not JSON") from exc


def _choices(body: Any, expected: int, base_url: str) -> list[dict[str, Any]]:
    """The response's choices in prompt order; ``ModelError`` unless there are ``expected``."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise ModelError(f"{base_url}/completions answered without choices: {body!r:.300}")
    if len(choices) != expected:
        raise ModelError(
            f"{base_url}/completions answered {len(choices)} choices for {expected} prompts"
        )
    return sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)


def _mean_logprob(choice: dict[str, Any], start: int, end: int, base_url: str) -> float:
    """Mean log-probability of the echoed tokens that overlap characters ``[start, end)``."""
    unsupported = ScoringUnsupported(
        f"{base_url} did not echo the prompt's token log-probabilities (needs echo=True with "
        "logprobs on /completions, e.g. vLLM); use the embedded, hf: or gguf: backend to score"
    )
    lp = choice.get("logprobs")
    if not isinstance(lp, dict):
        raise unsupported
    tokens, values = lp.get("tokens"), lp.get("token_logprobs")
    if not isinstance(tokens, list) or not isinstance(values, list) or len(tokens) != len(values):
        raise unsupported
    offsets = lp.get("text_offset")
    if not isinstance(offsets, list) or len(offsets) != len(tokens):
        offsets, at = [], 0
        for t in tokens:
            offsets.append(at)
            at += len(t) if isinstance(t, str) else 0
    if not tokens or not isinstance(offsets[-1], int) or offsets[-1] + len(str(tokens[-1])) < end:
        raise unsupported  # the echo does not cover the scored text
    picked = [
        float(v)
        for t, o, v in zip(tokens, offsets, values, strict=True)
        if isinstance(o, int)
        and isinstance(v, (int, float))
        and o < end
        and o + len(str(t)) > start
    ]
    if not picked:
        raise unsupported
    return sum(picked) / len(picked)
