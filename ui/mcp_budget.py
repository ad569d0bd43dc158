"""Fit a tool's text answer into a token budget, and say so when something was left out.

Tokens are estimated as ``ceil(characters / 4)``: about right for English prose and code with
common BPE tokenizers, and cheap enough to run on every answer. No tokenizer is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

CHARS_PER_TOKEN = 4
DEFAULT_MAX_TOKENS = 2000
MIN_MAX_TOKENS = 200
MAX_MAX_TOKENS = 50_000
_NOTE_RESERVE = 40  # tokens kept free for the truncation note


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def clamp_budget(max_tokens: int | None) -> int:
    if max_tokens is None:
        return DEFAULT_MAX_TOKENS
    return max(MIN_MAX_TOKENS, min(MAX_MAX_TOKENS, max_tokens))


def cut(text: str, max_chars: int) -> str:
    """``text`` shortened to at most ``max_chars`` characters, ending with an ellipsis if cut."""
    if len(text) <= max_chars:
        return text
    return text[: max(0, max_chars - 1)].rstrip() + "…"


@dataclass(frozen=True)
class Fitted:
    """The text sent to the client and how many of the offered blocks it holds."""

    text: str
    kept: tuple[str, ...]  # the blocks included, the last one possibly cut
    total: int
    truncated: bool

    @property
    def shown(self) -> int:
        return len(self.kept)

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)


def fit(header: str, blocks: list[str], max_tokens: int, *, unit: str = "results") -> Fitted:
    """``header`` then as many whole ``blocks`` as fit in ``max_tokens``.

    When the first block alone is too long it is cut rather than dropped, so an answer never
    comes back empty; a header longer than half the budget is cut too, so the budget holds
    whatever the header repeats of the request. A note at the end names what was left out and
    how to get more.
    """
    budget = max(0, max_tokens - _NOTE_RESERVE) * CHARS_PER_TOKEN
    header = cut(header, budget // 2)
    kept: list[str] = []
    used = len(header)
    cut_block = False
    for block in blocks:
        need = len(block) + 2  # blank line between blocks
        if used + need <= budget:
            kept.append(block)
            used += need
            continue
        if not kept:
            kept.append(cut(block, budget - used - 2))
            cut_block = True
        break
    shown = len(kept)
    truncated = cut_block or shown < len(blocks)
    parts = [header, *kept]
    if truncated:
        parts.append(
            f"[truncated to about {max_tokens} tokens: {shown} of {len(blocks)} {unit} shown"
            + (", the last one cut" if cut_block else "")
            + "; raise max_tokens or ask for fewer]"
        )
    return Fitted("\n\n".join(parts), tuple(kept), len(blocks), truncated)
