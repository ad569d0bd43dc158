"""Length caps on what callers send, checked once in the public API for every surface.

A cap keeps one request from costing unbounded memory and time (a 1 MB query is embedded and
BM25-scored in full) and keeps answers, which repeat the query, within their token budgets.
An over-long value raises :class:`InputTooLong` naming the field, its length and the cap; the
message shows at most ``MAX_ECHO_CHARS`` characters of the value.
"""

from __future__ import annotations

from types import MappingProxyType

from apipilot.errors import ConfigError, InputTooLong, echo

MAX_QUERY_CHARS = 2_000
MAX_REQUIREMENT_CHARS = 2_000
MAX_NAME_CHARS = 200  # library names and versions
MAX_API_NAME_CHARS = 1_000  # an API's name, qualified name, alias or id
MAX_SOURCE_CHARS = 4_096  # a path or URL
MAX_SPEC_CHARS = 4_096  # an LM, reranker or embedder spec (paths inside)
MAX_K = 200

LIMITS = MappingProxyType(
    {
        "query": MAX_QUERY_CHARS,
        "requirement": MAX_REQUIREMENT_CHARS,
        "name": MAX_NAME_CHARS,
        "api_name": MAX_API_NAME_CHARS,
        "source": MAX_SOURCE_CHARS,
        "spec": MAX_SPEC_CHARS,
        "k": MAX_K,
    }
)


def capped(what: str, value: str, limit: int) -> str:
    """``value`` when it has at most ``limit`` characters; InputTooLong otherwise."""
    if len(value) > limit:
        raise InputTooLong(
            f"the {what} is {len(value)} characters; at most {limit} are accepted "
            f"(starts {echo(value, 60)})"
        )
    return value


def text_input(
    what: str, value: str, limit: int, when_empty: str = "say what you want to do"
) -> str:
    """A stripped, non-empty ``value`` within ``limit``; ConfigError naming ``what`` otherwise."""
    text = capped(what, value, limit).strip()
    if not text:
        raise ConfigError(f"the {what} is empty: {when_empty}")
    return text


def name_input(what: str, value: str | None) -> str | None:
    """A library name or version within ``MAX_NAME_CHARS`` (None passes)."""
    return None if value is None else capped(what, value, MAX_NAME_CHARS)


def library_input(value: str) -> str:
    return capped("library name", value, MAX_NAME_CHARS)


def spec_input(what: str, value: str | None) -> str | None:
    return None if value is None else capped(what, value, MAX_SPEC_CHARS)


def k_input(k: int, limit: int = MAX_K) -> int:
    if isinstance(k, bool) or not 1 <= k <= limit:
        raise ConfigError(f"k must be between 1 and {limit}, got {k!r}")
    return k
