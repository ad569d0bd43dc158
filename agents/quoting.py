"""Documentation text is data: quote it safely before it goes into code or a code prompt."""

from __future__ import annotations

import unicodedata

from apipilot.retrieval.errors import ConfigError

DOC_QUOTE_CHARS = 200
# Cc: control characters (\n, \r, \f, \x1b …); Cf: format characters (bidi overrides that
# reorder what a reader sees, zero-width joiners); Zl/Zp: line and paragraph separators.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def quote_doc(text: str, limit: int = DOC_QUOTE_CHARS) -> str:
    """``text`` as one line that is safe after ``# ``: no line breaks (so nothing can start a live
    line of code), no control or format characters, whitespace collapsed, at most ``limit``
    characters (cut ones end in ``…``)."""
    if limit < 1:
        raise ConfigError(f"limit must be at least 1, not {limit}")
    printable = "".join(" " if unicodedata.category(ch) in _UNPRINTABLE else ch for ch in text)
    line = " ".join(printable.split())
    if len(line) <= limit:
        return line
    return line[: limit - 1].rstrip() + "…"
