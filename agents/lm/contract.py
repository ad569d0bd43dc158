"""Small rules every backend applies the same way: argument checks and stop sequences."""

from __future__ import annotations

from collections.abc import Sequence

from apipilot.retrieval.errors import ConfigError


def check_completion_args(max_tokens: int, temperature: float) -> None:
    """Raise ``ConfigError`` for a non-positive ``max_tokens`` or a negative ``temperature``."""
    if max_tokens < 1:
        raise ConfigError(f"max_tokens must be at least 1, got {max_tokens}")
    if temperature < 0:
        raise ConfigError(f"temperature must be 0 or more, got {temperature}")


def clean_stops(stop: Sequence[str]) -> list[str]:
    """The non-empty stop sequences, in order, without duplicates."""
    if isinstance(stop, str):
        raise ConfigError(f"stop must be a sequence of strings, not the string {stop!r}")
    return list(dict.fromkeys(s for s in stop if s))


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to (not including) the earliest occurrence of any stop sequence."""
    cut = len(text)
    for s in stop:
        if s:
            at = text.find(s)
            if 0 <= at < cut:
                cut = at
    return text[:cut]


def check_continuations(continuations: Sequence[str]) -> list[str]:
    """The continuations as a list; ``ConfigError`` for an empty one (it has no tokens to score)."""
    if isinstance(continuations, str):
        raise ConfigError("continuations must be a sequence of strings, not one string")
    items = list(continuations)
    for i, c in enumerate(items):
        if not c:
            raise ConfigError(f"continuation {i} is empty: there is nothing to score")
    return items
