"""Run the agent for one requirement and shape its answer (``apipilot.Recommendation``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from apipilot._limits import MAX_REQUIREMENT_CHARS, text_input
from apipilot._results import ApiHit, Recommendation, Subtask
from apipilot.agents.context import AgentContext
from apipilot.agents.examples import ExampleBank, find_bank
from apipilot.agents.graph import graph
from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.lm.kinds import NO_LM
from apipilot.agents.lm.shared import in_request_scope
from apipilot.agents.state import AgentState
from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.cross_encoder import RERANK_DEPTH, Reranker, load_reranker
from apipilot.retrieval.errors import ConfigError

_banks: dict[tuple[str, str], ExampleBank | None] = {}


def check_requirement(requirement: str) -> str:
    """The stripped requirement; ConfigError when it is empty or over its cap."""
    return text_input("requirement", requirement, MAX_REQUIREMENT_CHARS)


def example_bank(index: ApiIndex, store: IndexStore) -> ExampleBank | None:
    """The library's example bank (embedded with the index's embedder), once per process."""
    key = (index.meta.ref, index.meta.embedder)
    if key not in _banks:
        path = find_bank(index.meta.library, index.meta.version)
        cache = store.home / "examples"
        _banks[key] = ExampleBank.load(path, index.embedder, cache) if path else None
    return _banks[key]


def resolve_lm(llm: str | LanguageModel | None) -> LanguageModel | None:
    """An LM from a spec (``None``: ``$APIPILOT_LLM`` or the embedded model; ``"none"``: no LM).

    A model in this process is the process-wide shared one: concurrent requests queue their
    LM calls to it (``agents.lm.shared``).
    """
    if llm is not None and not isinstance(llm, str):
        return llm
    if llm == NO_LM:
        return None
    from apipilot.agents.lm.shared import shared_lm

    return shared_lm(llm)


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
    write_code: bool = False,
    rerank: bool = True,
    llm: str | LanguageModel | None = None,
    reranker: str | Reranker | None = None,
    store: IndexStore | None = None,
) -> AgentContext:
    """The index, models and settings one request of ``library@version`` runs with."""
    if not 1 <= k <= 100:
        raise ConfigError(f"k must be between 1 and 100, got {k}")
    store = store or IndexStore()
    index = store.open(library, version)
    cross_encoder = resolve_reranker(reranker, rerank)
    return AgentContext(
        index=index,
        lm=resolve_lm(llm),
        examples=example_bank(index, store),
        k=k,
        # a cross-encoder scores every candidate: give it as many as it reorders in search
        candidates_per_subtask=max(RERANK_DEPTH if cross_encoder else 10, k),
        rerank=rerank,
        write_code=write_code,
        reranker=cross_encoder,
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
    node, then ``("result", answer)``."""
    state: dict[str, Any] = {}
    start = time.perf_counter()
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

    Options: ``k`` (APIs in the answer), ``write_code``, ``rerank``, ``llm`` (an LM spec such
    as ``"embedded"`` or ``"openai:http://127.0.0.1:11434/v1#qwen2.5"``, a loaded
    ``LanguageModel``, or ``"none"``), ``reranker`` (``"minilm-ce"``, an adapter path, a
    ``Reranker``, or ``"none"``; default ``$APIPILOT_RERANKER``, else none: the shipped
    cross-encoder is opt-in), ``store`` (an ``IndexStore``).
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
    apis = tuple(
        ApiHit.from_record(record, score, rank) for rank, (record, score) in enumerate(ranked, 1)
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
