"""The interface every language-model backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class LanguageModel(Protocol):
    """A text-completion model the agent can prompt and use to score candidates.

    ``complete`` returns the raw continuation of ``prompt`` (no chat template is applied), cut
    before the first stop sequence, which is not included. At ``temperature == 0`` decoding is
    greedy and deterministic.

    ``score`` returns, for each continuation, the **mean per-token natural-log likelihood** of
    the continuation's tokens given the prompt (always <= 0; higher is more likely). The mean,
    not the sum, so that candidates of different lengths compare fairly. Backends score all
    continuations of one call together (batched), not one request or forward pass each.

    ``info`` describes the backend for logs and the UI: at least ``backend``, ``model`` and
    ``device``.
    """

    name: str

    def complete(
        self,
        prompt: str,
        *,
        stop: Sequence[str] = (),
        max_tokens: int = 128,
        temperature: float = 0.0,
    ) -> str: ...

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]: ...

    def info(self) -> dict[str, str]: ...


@runtime_checkable
class BatchCompleter(Protocol):
    """A backend that completes several prompts, with the same settings, in one pass.

    ``complete_batch(prompts, ...)[i]`` equals ``complete(prompts[i], ...)`` for greedy decoding.
    """

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        stop: Sequence[str] = (),
        max_tokens: int = 128,
        temperature: float = 0.0,
    ) -> list[str]: ...
