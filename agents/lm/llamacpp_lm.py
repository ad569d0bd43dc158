"""A GGUF model run in-process by llama.cpp (``llama-cpp-python``, the optional ``llamacpp`` extra).

``embedded-base`` and ``gguf:FILE`` run here when ``llama_cpp`` can be imported, else on
transformers (``transformers_lm``); ``$APIPILOT_LM_ENGINE`` (``auto``, ``llama.cpp`` or
``transformers``) forces one (:func:`gguf_engine`). ``embedded`` with the decomposer adapter
(``models/decomposer-smollm2``) always runs on transformers: the adapter is a PEFT LoRA adapter,
which llama.cpp loads only once converted to a GGUF LoRA (not done). llama.cpp reads the
quantised weights as they are (no conversion, no cache) and generates about three times as fast
here, while it scores 1.3-1.5x slower; whole requests with the LM take two thirds of the time
(docs/benchmarks.md, "LM engines").

``llama_cpp`` is imported only when a model is loaded. ``LlamaCppLM`` works on any object with
the few ``llama_cpp.Llama`` members it uses (``tokenize``, ``detokenize``, ``eval``, ``scores``,
``n_tokens``, ``input_ids``, ``n_ctx``, ``token_bos``, ``token_eos``), so tests pass a fake one;
on a real one, generation also reads llama.cpp's logits buffer directly (``_last_logits_only``).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from apipilot.agents.lm.contract import (
    check_completion_args,
    check_continuations,
    clean_stops,
    cut_at_stop,
)
from apipilot.agents.lm.errors import LMUnavailable, PromptTooLong
from apipilot.errors import ConfigError, ModelError, echo

ENGINE_ENV = "APIPILOT_LM_ENGINE"
AUTO, LLAMA_CPP, TRANSFORMERS = "auto", "llama.cpp", "transformers"
ENGINES = (AUTO, LLAMA_CPP, TRANSFORMERS)
# The portable build: the default native build of llama-cpp-python 0.3.36 segfaults while
# generating on some CPUs (seen on this project's machines); this one does not.
PORTABLE_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF "
    "-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
)
INSTALL_HINT = f'CMAKE_ARGS="{PORTABLE_CMAKE_ARGS}" pip install "apipilot[llamacpp]"'
# Tokens of context; llama.cpp keeps the logits of every position (``logits_all``) for scoring,
# a row of vocabulary-size floats per token, so the window is not the model's full one.
DEFAULT_CONTEXT_TOKENS = 2048


def llama_cpp_installed() -> bool:
    """Whether ``llama_cpp`` can be imported (found without importing it)."""
    return importlib.util.find_spec("llama_cpp") is not None


def gguf_engine(env: Mapping[str, str] | None = None, *, installed: bool | None = None) -> str:
    """The engine that runs a GGUF model: ``llama.cpp`` or ``transformers``.

    ``$APIPILOT_LM_ENGINE`` decides: ``transformers``, ``llama.cpp`` (``LMUnavailable`` naming
    the install command when it is not installed), or ``auto`` (the default): llama.cpp when it
    is installed, else transformers. ``installed`` overrides the check (tests).
    """
    raw = (os.environ if env is None else env).get(ENGINE_ENV, "")
    value = raw.strip().lower() or AUTO
    if value not in ENGINES:
        raise ConfigError(f"{ENGINE_ENV}={echo(raw)} names no LM engine; use {' | '.join(ENGINES)}")
    if value == TRANSFORMERS:
        return TRANSFORMERS
    has_llama_cpp = llama_cpp_installed() if installed is None else installed
    if value == LLAMA_CPP and not has_llama_cpp:
        raise LMUnavailable(
            f"{ENGINE_ENV}=llama.cpp but llama-cpp-python is not installed; install it with "
            f"`{INSTALL_HINT}`, or unset {ENGINE_ENV} to run the model on transformers"
        )
    return LLAMA_CPP if has_llama_cpp else TRANSFORMERS


def default_threads() -> int:
    """``OMP_NUM_THREADS`` when set (as tests and loaded machines do), else the usable cores."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


class LlamaCppLM:
    """A GGUF model in a ``llama_cpp.Llama`` created with ``logits_all=True``.

    Decoding is the model's own loop over ``eval``: greedy at temperature 0, else sampled from
    the softmax at that temperature (``seed``). ``score`` tokenizes like ``TransformersLM.score``
    (the prompt's trailing whitespace moves into each continuation), evaluates the prompt once
    and each continuation on top of it: llama.cpp keeps the prompt's KV cache, and each
    continuation is evaluated after cutting the context back to the prompt (one ``eval`` per
    continuation: one evaluation of all of them as parallel sequences would do the same
    compute-bound work on a CPU; 150 tokens took 1.02 s in one ``eval`` and 1.06 s in 10). A
    later call whose prompt starts with the tokens already evaluated only evaluates the rest.

    A ``Llama`` is not thread-safe: one lock serialises every call.
    """

    def __init__(
        self,
        llama: Any,
        *,
        name: str,
        path: Path,
        threads: int,
        seed: int | None = None,
    ) -> None:
        self.name = name
        self._llama = llama
        self._path = path
        self._threads = threads
        self._lock = threading.Lock()
        self._rng = np.random.default_rng(seed)
        self._context_size = int(llama.n_ctx())
        self._start_id = int(llama.token_bos())
        self._end_id = int(llama.token_eos())

    @classmethod
    def from_gguf(
        cls,
        path: Path,
        *,
        name: str | None = None,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        threads: int | None = None,
    ) -> LlamaCppLM:
        """Load a GGUF file with llama.cpp (``LMUnavailable`` when it is not installed)."""
        if not path.is_file():
            raise ModelError(f"GGUF file not found: {path}")
        try:
            llama_cpp = importlib.import_module("llama_cpp")
        except ImportError as exc:
            raise LMUnavailable(
                f"the llama.cpp engine needs llama-cpp-python: `{INSTALL_HINT}` ({exc})"
            ) from exc
        n_threads = threads or default_threads()
        try:
            llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=context_tokens,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                logits_all=True,
                verbose=False,
            )
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp cannot load {path}: {exc}") from exc
        return cls(llama, name=name or path.stem, path=path, threads=n_threads)

    def info(self) -> dict[str, str]:
        return {
            "backend": "llama.cpp",
            "model": self.name,
            "path": str(self._path),
            "device": "cpu",
            "threads": str(self._threads),
            "context_tokens": str(self._context_size),
            "adapters": "none: a PEFT LoRA adapter (embedded's decomposer) runs on transformers",
        }

    # ---- generation ------------------------------------------------------------------------

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
        with self._lock, self._last_logits_only() as last_logits:
            ids = self._encode(prompt, start=True) or [self._start_id]
            if len(ids) >= self._context_size:
                raise PromptTooLong(
                    f"the prompt has {len(ids)} tokens; {self.name} reads at most "
                    f"{self._context_size}"
                )
            budget = min(max_tokens, self._context_size - len(ids))
            self._evaluate(ids)
            logits = last_logits()
            out: list[int] = []
            text = ""
            while True:
                token = self._pick(logits, temperature)
                if token == self._end_id:
                    break
                out.append(token)
                text = self._decode(out)
                if len(out) >= budget or any(s in text for s in stops):
                    break
                self._llama.eval([token])
                logits = last_logits()
        return cut_at_stop(text, stops)

    @contextlib.contextmanager
    def _last_logits_only(self) -> Iterator[Callable[[], Any]]:
        """Generation needs the logits of the last position only: on a ``llama_cpp.Llama``
        (0.3.x), its ``_logits_all`` flag is turned off meanwhile, which makes a long prompt's
        evaluation ~15% faster (no vocabulary-wide projection at every position; measured in
        docs/benchmarks.md, "LM engines"); the logits are then read from llama.cpp's buffer.
        Yields a function that returns the logits after the last evaluated token."""
        llama = self._llama
        if not isinstance(getattr(llama, "_logits_all", None), bool) or not hasattr(llama, "ctx"):
            yield lambda: llama.scores[llama.n_tokens - 1]  # another Llama-like object
            return
        llama_cpp = importlib.import_module("llama_cpp")
        vocab = int(llama.n_vocab())

        def read() -> Any:
            pointer = llama_cpp.llama_get_logits_ith(llama.ctx, -1)
            return np.ctypeslib.as_array(pointer, shape=(vocab,))

        llama._logits_all = False
        try:
            yield read
        finally:
            # ``scores`` rows written meanwhile are stale; ``_evaluate`` always evaluates the
            # last prompt token again, and a continuation's rows are written as it is evaluated
            llama._logits_all = True

    def _pick(self, logits: Any, temperature: float) -> int:
        row = np.asarray(logits, dtype=np.float64)
        if temperature == 0:
            return int(np.argmax(row))
        scaled = (row - row.max()) / temperature
        p = np.exp(scaled)
        return int(self._rng.choice(row.shape[0], p=p / p.sum()))

    def _decode(self, tokens: list[int]) -> str:
        # special=False leaves control tokens out, as transformers' skip_special_tokens does
        data = self._llama.detokenize(tokens, special=False)
        return bytes(data).decode("utf-8", errors="replace")

    # ---- scoring ---------------------------------------------------------------------------

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        items = check_continuations(continuations)
        if not items:
            return []
        # Trailing whitespace of the prompt belongs to the continuation's first token
        # (" foo" is one token), as in TransformersLM.score and lm-evaluation-harness.
        context = prompt.rstrip()
        moved = prompt[len(context) :]
        with self._lock:
            ctx_ids = self._encode(context, start=True) or [self._start_id]
            conts = [self._encode(moved + c, start=False) for c in items]
            longest = max(len(c) for c in conts)
            if len(ctx_ids) + longest > self._context_size:
                raise PromptTooLong(
                    f"prompt ({len(ctx_ids)} tokens) plus the longest continuation ({longest}) "
                    f"exceed the {self._context_size} tokens {self.name} reads"
                )
            self._evaluate(ctx_ids)
            head = np.array(self._llama.scores[len(ctx_ids) - 1], dtype=np.float32)
            at = len(ctx_ids)
            scores = []
            for cont in conts:
                # back to the end of the prompt; eval() drops the KV cache after it first.
                # The last token's own logits predict nothing that is scored.
                self._llama.n_tokens = at
                if len(cont) > 1:
                    self._llama.eval(cont[:-1])
                rows = np.vstack([head[None, :], self._llama.scores[at : at + len(cont) - 1]])
                scores.append(mean_log_likelihood(rows, cont))
        return scores

    # ---- shared ----------------------------------------------------------------------------

    def _encode(self, text: str, *, start: bool) -> list[int]:
        """Token ids of ``text``; ``start`` adds the start token where the model's vocabulary
        asks for one (transformers' ``add_special_tokens``). Special tokens written in the text
        are parsed as such, as transformers' tokenizers do."""
        if not text:
            return []
        ids = self._llama.tokenize(text.encode("utf-8"), add_bos=start, special=True)
        return [int(i) for i in ids]

    def _evaluate(self, ids: list[int]) -> None:
        """Evaluate ``ids`` from the start of the context, reusing the evaluated tokens they
        start with. At least the last token is evaluated again, so that its logits are fresh."""
        llama = self._llama
        done = [int(t) for t in llama.input_ids[: llama.n_tokens]]
        keep = 0
        for a, b in zip(done, ids[:-1], strict=False):
            if a != b:
                break
            keep += 1
        llama.n_tokens = keep
        llama.eval(ids[keep:])


def mean_log_likelihood(logits: Any, tokens: Sequence[int]) -> float:
    """The mean over positions ``j`` of ``log_softmax(logits[j])[tokens[j]]`` (natural log)."""
    rows = np.asarray(logits, dtype=np.float64)
    top = rows.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(rows - top).sum(axis=1))
    picked = rows[np.arange(len(tokens)), np.asarray(tokens)]
    return float((picked - log_norm).mean())


def load_gguf(path: Path, *, name: str | None = None) -> LlamaCppLM:
    """A GGUF file on llama.cpp (the loaders of ``agents.lm.spec`` call this)."""
    return LlamaCppLM.from_gguf(path, name=name)
