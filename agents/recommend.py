"""Run the agent for one requirement and shape its answer (``apipilot.Recommendation``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from apipilot._limits import MAX_REQUIREMENT_CHARS, text_input
from apipilot._results import ApiHit, Recommendation, Subtask
from apipilot.agents import defaults
from apipilot.agents.answer_cache import answer_key, answers
from apipilot.agents.context import AgentContext
from apipilot.agents.evidence import CompanionGraph, companion_graph
from apipilot.agents.examples import Demonstration, ExampleBank, find_bank
from apipilot.agents.graph import graph
from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.lm.kinds import NO_LM
from apipilot.agents.lm.shared import in_request_scope
from apipilot.agents.lm.spec import ENV_VAR as LM_ENV_VAR
from apipilot.agents.merge import MergeWeights
from apipilot.agents.state import AgentState
from apipilot.agents.text import split_clauses
from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.cross_encoder import (
    NO_RERANKER,
    RERANK_DEPTH,
    Reranker,
    load_reranker,
)
from apipilot.retrieval.errors import ConfigError

_banks: dict[tuple[str, str], ExampleBank | None] = {}
_companions: dict[tuple[str, str], CompanionGraph] = {}


def check_requirement(requirement: str) -> str:
    """The stripped requirement; ConfigError when it is empty or over its cap."""
    return text_input("requirement", requirement, MAX_REQUIREMENT_CHARS)


def example_bank(index: ApiIndex, store: IndexStore) -> ExampleBank | None:
    """The library's example bank (embedded with the index's embedder), once per process."""
    key = (index.meta.ref, index.meta.embedder)
    if key not in _banks:
        path = find_bank(index.meta.library, index.meta.version)
        cache = store.home / "examples"
        if path is None:  # no shipped bank: the worked examples of the index's guides, if any
            _banks[key] = guide_bank(index, cache)
        else:
            _banks[key] = ExampleBank.load(path, index.embedder, cache)
    return _banks[key]


def guide_bank(index: ApiIndex, cache_dir: Path) -> ExampleBank | None:
    """A bank of the guide sections whose code uses the library's APIs (see
    ``indexes.guide_examples``); None when the index has none."""
    from apipilot.agents.demonstrations import subtask_text
    from apipilot.agents.text import fallback_skills
    from apipilot.indexes.guide_examples import guide_examples

    demonstrations = [
        Demonstration(
            id=example.id,
            requirement=example.requirement,
            skills=fallback_skills(example.requirement),
            subtasks=tuple(subtask_text(api) for api in example.apis),
            apis=tuple(api.name for api in example.apis),
            code=example.code,
            source=example.source,
        )
        for example in guide_examples(index.records)
    ]
    if not demonstrations:
        return None
    meta = index.meta
    name = f"{meta.library}@{meta.version}-guides"
    cache = cache_dir / f"{name}-{meta.embedder}-{meta.corpus_hash[:12]}.npy"
    return ExampleBank(demonstrations, index.embedder, name=name, vector_cache=cache)


def companions(index: ApiIndex) -> CompanionGraph:
    """APIs used together in the documentation of ``index``'s library, once per process."""
    key = (index.meta.ref, str(index.path or ""))
    if key not in _companions:
        _companions[key] = companion_graph(index.records, index.meta.library)
    return _companions[key]


def resolve_lm(llm: str | LanguageModel | None) -> LanguageModel | None:
    """An LM from a spec (``None``: ``$APIPILOT_LLM``, else ``agents.defaults.LLM``, which is
    ``"none"``: no LM).

    A model in this process is the process-wide shared one: concurrent requests queue their
    LM calls to it (``agents.lm.shared``).
    """
    if llm is not None and not isinstance(llm, str):
        return llm
    if llm is None or not llm.strip():
        llm = os.environ.get(LM_ENV_VAR, "").strip() or defaults.LLM
    if llm.strip().lower() == NO_LM:
        return None
    from apipilot.agents.lm.shared import shared_lm

    return shared_lm(llm)


def names_a_reranker(reranker: str | Reranker | None) -> bool:
    """Whether ``reranker`` names a cross-encoder (an object, or a spec other than ``none``)."""
    if isinstance(reranker, str):
        return reranker.strip().lower() not in ("", NO_RERANKER)
    return reranker is not None


def resolve_reranker(reranker: str | Reranker | None, rerank: bool) -> Reranker | None:
    """A cross-encoder from a spec (``None``: ``$APIPILOT_RERANKER`` or
    ``retrieval.cross_encoder.default_reranker_spec``; ``"none"``: rerank with the LM)."""
    if not rerank:
        return None
    if reranker is not None and not isinstance(reranker, str):
        return reranker
    return load_reranker(reranker)


def make_context(
    requirement: str,
    library: str,
    version: str | None = None,
    **options: Any,
) -> tuple[str, AgentContext]:
    """The checked requirement and the context to answer it (options: see ``build_context``)."""
    requirement = check_requirement(requirement)
    return requirement, build_context(library, version, **options)


def build_context(
    library: str,
    version: str | None = None,
    *,
    k: int = 10,
    write_code: bool = defaults.WRITE_CODE,
    rerank: bool | None = None,
    llm: str | LanguageModel | None = None,
    reranker: str | Reranker | None = None,
    store: IndexStore | None = None,
    decomposer: str = defaults.DECOMPOSER,
    merge: MergeWeights = defaults.MERGE,
    companion_weight: float = defaults.COMPANION_WEIGHT,
    demonstration_weight: float = defaults.DEMONSTRATION_WEIGHT,
    clauses: Callable[[str], list[str]] = split_clauses,
) -> AgentContext:
    """The index, models and settings one request of ``library@version`` runs with
    (defaults: ``agents.defaults``; ``merge``, the evidence weights and ``clauses`` are for
    ablations)."""
    if not 1 <= k <= 100:
        raise ConfigError(f"k must be between 1 and 100, got {k}")
    checked_decomposer = defaults.check_decomposer(decomposer)
    store = store or IndexStore()
    index = store.open(library, version)
    if rerank is None:  # default: off (defaults.RERANK) unless a cross-encoder is named
        rerank = defaults.RERANK or names_a_reranker(reranker)
    cross_encoder = resolve_reranker(reranker, rerank)
    return AgentContext(
        index=index,
        lm=resolve_lm(llm),
        examples=example_bank(index, store),
        k=k,
        # a cross-encoder scores every candidate: give it as many as it reorders in search
        candidates_per_subtask=max(RERANK_DEPTH if cross_encoder else defaults.SEARCH_DEPTH, k),
        rerank=rerank,
        write_code=write_code,
        reranker=cross_encoder,
        decomposer=checked_decomposer,
        merge=merge,
        companions=companions(index) if companion_weight > 0 else None,
        companion_weight=companion_weight,
        demonstration_weight=demonstration_weight,
        clauses=clauses,
    )


def stream_recommend(
    requirement: str, library: str, version: str | None = None, **options: Any
) -> Iterator[tuple[str, Any]]:
    """Yield ``(step, update)`` as each graph node finishes, then ``("result", answer)`` with
    the answer as a :class:`~apipilot.Recommendation`."""
    requirement, context = make_context(requirement, library, version, **options)
    yield from run_graph(requirement, context)


def run_graph(requirement: str, context: AgentContext) -> Iterator[tuple[str, Any]]:
    """Run the agent on a checked ``requirement`` with ``context``: ``(step, update)`` per
    node, then ``("result", answer)``. An answer already given for the same requirement,
    index and options (``agents.answer_cache``) is replayed, marked ``paths["cache"] = "hit"``."""
    start = time.perf_counter()
    key = answer_key(requirement, context)
    cached = answers.get(key)
    if cached is not None:
        for step, update in cached:
            if step == "result":
                seconds = round(time.perf_counter() - start, 4)
                update = replace(
                    update,
                    paths={**update.paths, "cache": "hit"},
                    timings={**update.timings, "total": seconds},
                )
            yield step, update
        return
    events: list[tuple[str, Any]] = []
    for step, update in _run_graph(requirement, context, start):
        events.append((step, update))
        yield step, update
    answers.put(key, tuple(events))


def _run_graph(requirement: str, context: AgentContext, start: float) -> Iterator[tuple[str, Any]]:
    state: dict[str, Any] = {}
    # "values" carries the state as the graph's own reducers merged it; "updates" each step.
    # One request scope: a shared LM serves this request's calls before later requests'.
    for mode, chunk in in_request_scope(
        graph.stream(
            {"requirement": requirement}, context=context, stream_mode=["updates", "values"]
        )
    ):
        if mode == "values":
            state = chunk
            continue
        for step, update in chunk.items():
            if update:
                yield step, update
    state["timings"] = {**state.get("timings", {}), "total": time.perf_counter() - start}
    yield "result", shape_answer(state, context)  # type: ignore[arg-type]


def recommend(
    requirement: str, library: str, version: str | None = None, **options: Any
) -> dict[str, Any]:
    """The APIs of ``library`` for ``requirement``, grouped by subtask, as plain data
    (``Recommendation.to_dict()``; see ``shape_answer``).

    Options: ``k`` (APIs in the answer), ``write_code``, ``rerank`` (default: off, unless
    ``reranker`` names a cross-encoder), ``llm`` (an LM spec such as ``"embedded"`` or
    ``"openai:http://127.0.0.1:11434/v1#qwen2.5"``, a loaded ``LanguageModel``, or
    ``"none"``; default ``$APIPILOT_LLM``, else none), ``reranker`` (``"minilm-ce"``, an
    adapter path, a ``Reranker``, or ``"none"``; default ``$APIPILOT_RERANKER``, else none),
    ``decomposer`` (``"clauses"``, ``"lm"``, ``"union"``), ``store`` (an ``IndexStore``).
    Defaults: ``agents.defaults``, chosen on the dev split.
    """
    result: dict[str, Any] = {}
    for step, update in stream_recommend(requirement, library, version, **options):
        if step == "result":
            result = update.to_dict()
    return result


def shape_answer(state: AgentState, context: AgentContext) -> Recommendation:
    index = context.index
    scores = {c["id"]: c["score"] for c in state.get("ranking", [])}
    chosen = state.get("chosen", {})
    subtasks: list[Subtask] = []
    for i, text in enumerate(state.get("subtasks", [])):
        ids = [r for r in chosen.get(str(i), []) if r in scores][:3] or chosen.get(str(i), [])[:1]
        names = [record.name for r in ids if (record := index.get(r)) is not None]
        subtasks.append(Subtask(text, tuple(dict.fromkeys(names))))
    ranked = [
        (record, c["score"])
        for c in state.get("ranking", [])
        if (record := index.get(c["id"])) is not None
    ]
    evidence = {
        c["id"]: c.get("evidence")
        for cs in reversed(state.get("candidates", {}).values())
        for c in reversed(cs)
    }  # each id's evidence from its best-ranked retrieval (the first seen wins)
    apis = tuple(
        ApiHit.from_record(record, score, rank, evidence=evidence.get(record.id))
        for rank, (record, score) in enumerate(ranked, 1)
    )
    timings = dict(state.get("timings", {}))
    branch = [v for key, v in timings.items() if key.startswith("retrieve:")]
    if branch:
        timings["retrieve"] = max(branch)  # branches run in parallel
    lm = context.lm
    return Recommendation(
        requirement=state["requirement"],
        library=index.meta.library,
        version=index.meta.version,
        skills=state.get("skills", ""),
        subtasks=tuple(subtasks),
        apis=apis,
        examples=tuple(
            {"requirement": d["requirement"], "skills": d["skills"], "apis": d["apis"]}
            for d in state.get("examples", [])
        ),
        code=state.get("code", ""),
        unknown_apis=tuple(state.get("unknown_apis", [])),
        unsafe_calls=tuple(state.get("unsafe_calls", [])),
        paths=dict(state.get("paths", {})),
        notes=tuple(state.get("notes", [])),
        timings={key: round(value, 4) for key, value in timings.items()},
        models={
            "embedder": index.meta.embedder,
            "lm": lm.info() if lm is not None else None,
            "examples": context.examples.name if context.examples else None,
            "reranker": context.reranker.name if context.reranker else None,
        },
    )
