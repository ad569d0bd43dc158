"""A deterministic stand-in for ``agents.lm.LanguageModel`` for graph and UI tests."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from apipilot.agents.lm.contract import (
    check_completion_args,
    check_continuations,
    clean_stops,
    cut_at_stop,
)

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class LMCall:
    """One request a ``ScriptedLM`` received."""

    method: str  # "complete" or "score"
    prompt: str
    stop: tuple[str, ...] = ()
    continuations: tuple[str, ...] = ()


@dataclass
class ScriptedLM:
    """Replies from a script and records every request.

    ``complete`` answers with the reply of the first ``by_substring`` key found in the prompt,
    else the next of ``in_order``, else ``default``; with none of those it raises ``LookupError``
    naming the prompt. Replies are cut at the stop sequences like a real backend's.

    ``score`` is the share of a continuation's words that also occur in the prompt, minus one
    (so in ``[-1, 0]``, higher is better, like a mean log-likelihood); ``scores`` overrides it
    for continuations it names exactly.
    """

    by_substring: Mapping[str, str] = field(default_factory=dict)
    in_order: Sequence[str] = ()
    default: str | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    name: str = "scripted"
    calls: list[LMCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: deque[str] = deque(self.in_order)

    @property
    def prompts(self) -> list[str]:
        """Every prompt received, in order (both methods)."""
        return [c.prompt for c in self.calls]

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
        self.calls.append(LMCall("complete", prompt, stop=tuple(stops)))
        for key, reply in self.by_substring.items():
            if key in prompt:
                return cut_at_stop(reply, stops)
        if self._queue:
            return cut_at_stop(self._queue.popleft(), stops)
        if self.default is not None:
            return cut_at_stop(self.default, stops)
        raise LookupError(f"ScriptedLM has no reply for the prompt {prompt!r:.200}")

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        items = check_continuations(continuations)
        self.calls.append(LMCall("score", prompt, continuations=tuple(items)))
        seen = set(_WORD.findall(prompt.lower()))
        out: list[float] = []
        for c in items:
            if c in self.scores:
                out.append(float(self.scores[c]))
                continue
            words = _WORD.findall(c.lower())
            overlap = sum(w in seen for w in words) / len(words) if words else 0.0
            out.append(overlap - 1.0)
        return out

    def info(self) -> dict[str, str]:
        return {"backend": "scripted", "model": self.name, "device": "none"}
