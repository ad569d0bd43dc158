"""The llama.cpp backend on a deterministic fake ``Llama``, its engine selection, and (when
llama-cpp-python is installed) the embedded GGUF through it."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apipilot.agents.lm import llamacpp_lm
from apipilot.agents.lm import spec as spec_mod
from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.lm.errors import LMUnavailable, PromptTooLong
from apipilot.agents.lm.llamacpp_lm import (
    ENGINE_ENV,
    LLAMA_CPP,
    TRANSFORMERS,
    LlamaCppLM,
    gguf_engine,
)
from apipilot.agents.lm.spec import clear_lm_cache, load_lm
from apipilot.errors import ConfigError

BOS, EOS, OFFSET = 1, 0, 2  # the fake's token ids: byte b is token b + OFFSET
VOCAB = 256 + OFFSET


class FakeLlama:
    """The members of ``llama_cpp.Llama`` that ``LlamaCppLM`` uses, with llama.cpp's semantics:
    ``eval`` writes tokens (and the logits after each) from position ``n_tokens`` on, and the
    logits at a position depend on every token up to it (as a KV cache makes them).

    The logits are pseudo-random per prefix, except that when the text so far starts with a
    prompt of ``replies``, the next byte of its reply (then EOS) gets a large bonus.
    """

    def __init__(self, replies: dict[str, str] | None = None, n_ctx: int = 64) -> None:
        self.replies = replies or {}
        self._n_ctx = n_ctx
        self.n_tokens = 0
        self.input_ids = np.zeros(n_ctx, dtype=np.intc)
        self.scores = np.zeros((n_ctx, VOCAB), dtype=np.float32)
        self.evals: list[list[int]] = []

    def n_ctx(self) -> int:
        return self._n_ctx

    def token_bos(self) -> int:
        return BOS

    def token_eos(self) -> int:
        return EOS

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return ([BOS] if add_bos else []) + [b + OFFSET for b in text]

    def detokenize(self, tokens: list[int], special: bool = False) -> bytes:
        return bytes(t - OFFSET for t in tokens if t >= OFFSET)

    def eval(self, tokens: Sequence[int]) -> None:
        self.evals.append(list(tokens))
        for token in tokens:
            at = self.n_tokens
            self.input_ids[at] = token
            self.scores[at] = fake_logits(list(self.input_ids[: at + 1]), self.replies)
            self.n_tokens += 1
            time.sleep(0.0001)  # let other threads in (a lock must keep them out)


def fake_logits(prefix: list[int], replies: dict[str, str]) -> np.ndarray:
    seed = zlib.crc32(np.asarray(prefix, dtype=np.int64).tobytes())
    logits = np.random.default_rng(seed).normal(size=VOCAB).astype(np.float32)
    text = bytes(t - OFFSET for t in prefix if t >= OFFSET).decode("utf-8", "replace")
    for prompt, reply in replies.items():
        if text.startswith(prompt):
            written = text[len(prompt) :]
            if reply.startswith(written):
                rest = reply[len(written) :]
                logits[ord(rest[0]) + OFFSET if rest else EOS] += 20.0
    return logits


def reference_score(prompt: str, continuation: str) -> float:
    """The mean log-likelihood, written out token by token from the fake's logits."""
    context = prompt.rstrip()
    ctx = [BOS] + [b + OFFSET for b in context.encode()]
    cont = [b + OFFSET for b in (prompt[len(context) :] + continuation).encode()]
    total = 0.0
    for j, token in enumerate(cont):
        logits = [float(x) for x in fake_logits(ctx + cont[:j], {})]
        log_norm = math.log(sum(math.exp(x) for x in logits))
        total += logits[token] - log_norm
    return total / len(cont)


def make_lm(replies: dict[str, str] | None = None, n_ctx: int = 64) -> LlamaCppLM:
    return LlamaCppLM(FakeLlama(replies, n_ctx), name="fake", path=Path("fake.gguf"), threads=1)


# ---- score ------------------------------------------------------------------------------


def test_score_is_mean_log_softmax_of_continuation_tokens() -> None:
    lm = make_lm()
    prompt, conts = "def f(x):", [" return x", " pass", "\n"]
    got = lm.score(prompt, conts)
    assert got == pytest.approx([reference_score(prompt, c) for c in conts], abs=1e-5)
    assert all(s < 0 for s in got)


def test_prompt_trailing_whitespace_moves_into_the_continuation() -> None:
    lm = make_lm()
    assert lm.score("x = ", ["1"]) == pytest.approx([reference_score("x = ", "1")], abs=1e-5)
    assert lm.score("x = ", ["1"]) == pytest.approx(lm.score("x =", [" 1"]), abs=1e-6)
    assert lm.score("x = ", ["1"]) != pytest.approx(lm.score("x = ", ["2"]))


def test_score_evaluates_the_prompt_once_and_reuses_it() -> None:
    llama = FakeLlama()
    lm = LlamaCppLM(llama, name="fake", path=Path("f.gguf"), threads=1)
    first = lm.score("abc", ["de", "f", "ghi"])
    # the prompt with its start token, then each continuation but its last token ("f": none)
    assert llama.evals[0] == [BOS] + [b + OFFSET for b in b"abc"]
    assert llama.evals[1:] == [[ord("d") + OFFSET], [ord("g") + OFFSET, ord("h") + OFFSET]]
    llama.evals.clear()
    again = lm.score("abc", ["de", "f", "ghi"])
    assert again == first
    assert llama.evals[0] == [ord("c") + OFFSET]  # only the prompt's last token again
    llama.evals.clear()
    longer = lm.score("abcxy", ["z"])
    assert llama.evals == [[ord("x") + OFFSET, ord("y") + OFFSET]]
    assert longer == pytest.approx([reference_score("abcxy", "z")], abs=1e-5)


def test_scores_do_not_depend_on_what_ran_before() -> None:
    warm = make_lm({"a": "bcd"})
    warm.complete("a", max_tokens=3)
    warm.score("zzz", ["y"])
    cold = make_lm({"a": "bcd"})
    assert warm.score("ab", ["c", "cd", "x"]) == pytest.approx(cold.score("ab", ["c", "cd", "x"]))


def test_score_checks_its_input() -> None:
    lm = make_lm(n_ctx=16)
    assert lm.score("p", []) == []
    with pytest.raises(ConfigError):
        lm.score("p", [""])
    with pytest.raises(ConfigError):
        lm.score("p", "abc")
    with pytest.raises(PromptTooLong):
        lm.score("p" * 10, ["q" * 10])


# ---- complete ---------------------------------------------------------------------------


def test_greedy_completion_stops_at_end_token_and_stop_sequences() -> None:
    lm = make_lm({"Q: hi\nA:": " hello there\n\nQ: next"})
    assert lm.complete("Q: hi\nA:", max_tokens=40) == " hello there\n\nQ: next"
    assert lm.complete("Q: hi\nA:", stop=["\n\n"], max_tokens=40) == " hello there"
    assert lm.complete("Q: hi\nA:", stop=["zz", "there"], max_tokens=40) == " hello "
    assert lm.complete("Q: hi\nA:", max_tokens=3) == " he"


def test_completion_stops_evaluating_at_a_stop() -> None:
    llama = FakeLlama({"q": "ab\ncd"})
    lm = LlamaCppLM(llama, name="fake", path=Path("f.gguf"), threads=1)
    assert lm.complete("q", stop=["\n"]) == "ab"
    # prompt, then "a", "b" fed back; the "\n" that stopped it is never evaluated
    assert llama.evals == [[BOS, ord("q") + OFFSET], [ord("a") + OFFSET], [ord("b") + OFFSET]]


def test_completion_checks_its_input() -> None:
    lm = make_lm(n_ctx=8)
    with pytest.raises(ConfigError):
        lm.complete("p", max_tokens=0)
    with pytest.raises(ConfigError):
        lm.complete("p", temperature=-1)
    with pytest.raises(ConfigError):
        lm.complete("p", stop="\n")
    with pytest.raises(PromptTooLong):
        lm.complete("p" * 8)
    assert len(make_lm(n_ctx=8).complete("ppppp", max_tokens=50)) <= 2  # the context bounds it


def test_sampling_is_seeded() -> None:
    def sample(seed: int) -> str:
        lm = LlamaCppLM(FakeLlama(), name="f", path=Path("f.gguf"), threads=1, seed=seed)
        return lm.complete("x", max_tokens=8, temperature=1.0)

    assert sample(3) == sample(3)
    assert len({sample(s) for s in range(4)}) > 1


def test_concurrent_callers_get_the_sequential_answers() -> None:
    replies = {"A": "one two", "B": "three four"}
    lm = make_lm(replies)
    expected = {p: lm.complete(p, max_tokens=20) for p in replies} | {
        "score": lm.score("AB", ["x", "yz"])
    }
    keys = [*replies, "score"] * 8
    got: list[tuple[str, object]] = []
    start = threading.Barrier(len(keys))

    def run(key: str) -> None:
        start.wait()
        answer = lm.score("AB", ["x", "yz"]) if key == "score" else lm.complete(key)
        got.append((key, answer))  # list.append is atomic

    threads = [threading.Thread(target=run, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got, key=str) == sorted(((k, expected[k]) for k in keys), key=str)


def test_info() -> None:
    lm = make_lm()
    assert isinstance(lm, LanguageModel)
    info = lm.info()
    assert (info["backend"], info["device"], info["threads"]) == ("llama.cpp", "cpu", "1")
    assert info["path"] == "fake.gguf"


# ---- engine selection ---------------------------------------------------------------------


def test_engine_choice() -> None:
    assert gguf_engine({}, installed=True) == LLAMA_CPP
    assert gguf_engine({}, installed=False) == TRANSFORMERS
    assert gguf_engine({ENGINE_ENV: " AUTO "}, installed=True) == LLAMA_CPP
    assert gguf_engine({ENGINE_ENV: "transformers"}, installed=True) == TRANSFORMERS
    assert gguf_engine({ENGINE_ENV: "llama.cpp"}, installed=True) == LLAMA_CPP
    with pytest.raises(LMUnavailable, match="pip install"):
        gguf_engine({ENGINE_ENV: "llama.cpp"}, installed=False)
    with pytest.raises(ConfigError, match="auto"):
        gguf_engine({ENGINE_ENV: "vllm"}, installed=True)


@pytest.fixture
def loaders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Path]]]:
    """Record which engine the loaders pick, without loading anything."""
    from apipilot.agents.lm import paths, transformers_lm

    calls: list[tuple[str, Path]] = []

    def fake_llama(path: Path, *, name: str | None = None) -> Any:
        calls.append((LLAMA_CPP, path))
        return make_lm()

    def fake_transformers(path: Path, **_: object) -> Any:
        calls.append((TRANSFORMERS, path))
        return make_lm()

    monkeypatch.setattr(llamacpp_lm, "load_gguf", fake_llama)
    monkeypatch.setattr(transformers_lm.TransformersLM, "from_gguf", fake_transformers)
    monkeypatch.setattr(paths, "embedded_gguf_path", lambda: Path("/m/embedded.gguf"))
    monkeypatch.setattr(transformers_lm, "embedded_gguf_path", lambda: Path("/m/embedded.gguf"))
    clear_lm_cache()
    yield calls
    clear_lm_cache()


def test_loaders_follow_the_engine(
    loaders: list[tuple[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llamacpp_lm, "llama_cpp_installed", lambda: True)
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    load_lm("gguf:/m/a.gguf")
    load_lm("embedded-base")
    monkeypatch.setenv(ENGINE_ENV, "transformers")
    clear_lm_cache()
    load_lm("gguf:/m/a.gguf")
    load_lm("embedded-base")
    assert loaders == [
        (LLAMA_CPP, Path("/m/a.gguf")),
        (LLAMA_CPP, Path("/m/embedded.gguf")),
        (TRANSFORMERS, Path("/m/a.gguf")),
        (TRANSFORMERS, Path("/m/embedded.gguf")),
    ]


def test_forced_llama_cpp_without_it_names_the_install(
    loaders: list[tuple[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llamacpp_lm, "llama_cpp_installed", lambda: False)
    monkeypatch.setenv(ENGINE_ENV, "llama.cpp")
    with pytest.raises(LMUnavailable, match=r"CMAKE_ARGS=.*pip install"):
        load_lm("gguf:/m/a.gguf")
    monkeypatch.delenv(ENGINE_ENV)
    load_lm("gguf:/m/a.gguf")  # auto falls back to transformers
    assert loaders == [(TRANSFORMERS, Path("/m/a.gguf"))]
    assert spec_mod._LOADERS["gguf"] is spec_mod._load_gguf


def test_from_gguf_without_llama_cpp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now fails
    with pytest.raises(LMUnavailable, match="pip install"):
        LlamaCppLM.from_gguf(gguf)


def test_import_does_not_load_llama_cpp() -> None:
    code = (
        "import sys, apipilot.agents.lm, apipilot.agents.lm.spec, apipilot.agents.lm.llamacpp_lm; "
        "print('llama_cpp' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


# ---- the embedded GGUF on llama.cpp ---------------------------------------------------------

CASES = [
    ("The capital of France is", [" Paris.", " a banana.", " 42 cats."]),
    ("import numpy as np\nx = np.", ["zeros(3)", "qqq zzz", ")))"]),
    ("Q: What is 2 + 2?\nA:", [" 4", " purple elephant", " the moon"]),
]


@pytest.mark.model
def test_embedded_gguf_on_llama_cpp_agrees_with_transformers() -> None:
    pytest.importorskip("llama_cpp")
    import torch

    from apipilot.agents.lm.paths import embedded_gguf_path
    from apipilot.agents.lm.transformers_lm import load_embedded

    lm = LlamaCppLM.from_gguf(embedded_gguf_path(), threads=1)
    assert lm.info()["backend"] == "llama.cpp"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        reference = load_embedded()
        for prompt, conts in CASES:
            ours, theirs = lm.score(prompt, conts), reference.score(prompt, conts)
            assert np.argsort(ours).tolist() == np.argsort(theirs).tolist(), (prompt, ours, theirs)
            assert ours == pytest.approx(theirs, abs=0.35)  # Q4_1 kernels vs dequantised fp32
    finally:
        torch.set_num_threads(threads)
    text = lm.complete("The capital of France is", stop=["\n"], max_tokens=12)
    assert text.strip()
    assert "\n" not in text
    # generation reads only the last position's logits; greedy over the full logits agrees
    llama, prompt = lm._llama, "def add(a, b):\n   "
    fast = lm.complete(prompt, max_tokens=6)
    llama.reset()
    tokens = llama.tokenize(prompt.encode(), add_bos=True, special=True)
    llama.eval(tokens)
    greedy: list[int] = []
    for _ in range(6):
        greedy.append(int(np.argmax(llama.scores[llama.n_tokens - 1])))
        llama.eval(greedy[-1:])
    assert fast == llama.detokenize(greedy, special=False).decode("utf-8", "replace")
