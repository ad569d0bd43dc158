from __future__ import annotations

from apipilot.ui.mcp_budget import (
    DEFAULT_MAX_TOKENS,
    MIN_MAX_TOKENS,
    clamp_budget,
    cut,
    estimate_tokens,
    fit,
)
from apipilot.ui.mcp_context7 import parse_library_id
from apipilot.ui.mcp_server import runs_local_lm


def test_estimate_and_clamp() -> None:
    assert (
        estimate_tokens("") == 0 and estimate_tokens("abcd") == 1 and estimate_tokens("abcde") == 2
    )
    assert clamp_budget(None) == DEFAULT_MAX_TOKENS
    assert clamp_budget(1) == MIN_MAX_TOKENS


def test_fit_keeps_whole_blocks_and_says_what_it_left_out() -> None:
    blocks = [f"block {i} " + "x" * 300 for i in range(10)]
    fitted = fit("header", blocks, 300)
    assert fitted.truncated and 0 < fitted.shown < 10 and fitted.total == 10
    assert len(fitted.text) <= 300 * 4
    assert f"{fitted.shown} of 10 results shown" in fitted.text
    assert list(fitted.kept) == blocks[: fitted.shown]


def test_fit_everything_when_it_fits() -> None:
    fitted = fit("header", ["a", "b"], 2000)
    assert not fitted.truncated and fitted.text == "header\n\na\n\nb"


def test_fit_cuts_a_first_block_that_is_too_long() -> None:
    fitted = fit("header", ["y" * 10_000, "z"], 200)
    assert fitted.truncated and fitted.shown == 1 and fitted.kept[0].endswith("…")
    assert len(fitted.text) <= 200 * 4 and "the last one cut" in fitted.text
    assert cut("abcdef", 4) == "abc…" and cut("abc", 4) == "abc"


def test_parse_library_id() -> None:
    built = {"torchdata": ["0.7.1"]}
    assert parse_library_id("/torchdata", built) == ("torchdata", None)
    assert parse_library_id("/torchdata/0.7.1", built) == ("torchdata", "0.7.1")
    assert parse_library_id("torchdata@0.7.1", built) == ("torchdata", "0.7.1")
    assert parse_library_id("/pytorch/torchdata/0.7.1", built) == ("torchdata", "0.7.1")


def test_runs_local_lm(monkeypatch) -> None:
    monkeypatch.delenv("APIPILOT_LLM", raising=False)
    assert not runs_local_lm(None)  # the default is no LM (agents.defaults.LLM)
    assert runs_local_lm("embedded") and runs_local_lm("gguf:/m.gguf")
    assert not runs_local_lm("none") and not runs_local_lm("openai:http://127.0.0.1:8000/v1")
    monkeypatch.setenv("APIPILOT_LLM", "embedded")
    assert runs_local_lm(None)
