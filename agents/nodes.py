"""The steps of the graph. Each takes ``(state, runtime)`` and returns only the keys it changes.

Every LM output is parsed and checked; when it is unusable (or there is no LM) the step takes a
deterministic path and records it in ``paths`` (and why in ``notes``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from functools import wraps
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from apipilot.agents import prompts
from apipilot.agents.code_check import check_code
from apipilot.agents.context import AgentContext
from apipilot.agents.evidence import demonstration_votes
from apipilot.agents.examples import Demonstration
from apipilot.agents.merge import merge_rankings
from apipilot.agents.quoting import quote_doc
from apipilot.agents.rerank import LikelihoodReranker
from apipilot.agents.state import AgentState, Candidate, RetrieveTask
from apipilot.agents.text import (
    fallback_skills,
    parse_numbered_list,
    valid_skills,
    valid_subtasks,
)
from apipilot.retrieval.cross_encoder import rerank_order
from apipilot.retrieval.errors import ApipilotError

REQUIREMENT_KEY = "requirement"
# Room for the longest usable answers: the decomposer's doc-derived training completions reach
# 34 tokens (skills) and 60 (subtasks, p90 48); a list cut mid-item fails validation.
SKILLS_MAX_TOKENS = 48
DECOMPOSE_MAX_TOKENS = 96
CALL_QUOTE_CHARS = 400  # room for long signatures (pandas.read_csv has about 1,500 characters)
RERANK_DEPTH = 5  # candidates per subtask the LM scores (scoring costs ~4 ms a token on CPU)
Node = Callable[..., dict[str, Any]]


def timed(step: str) -> Callable[[Node], Node]:
    """Add the node's wall time to ``timings[step]``."""

    def wrap(node: Node) -> Node:
        @wraps(node)
        def run(*args: Any, **kwargs: Any) -> dict[str, Any]:
            start = time.perf_counter()
            update = node(*args, **kwargs)
            key = step if step != "retrieve" else f"retrieve:{args[0]['key']}"
            update["timings"] = {key: time.perf_counter() - start}
            return update

        return run

    return wrap


@timed("skills")
def skills(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    requirement = state["requirement"]
    lm = runtime.context.lm
    if lm is None:
        return {"skills": fallback_skills(requirement), "paths": {"skills": "fallback"}}
    try:
        text = lm.complete(
            prompts.skills_prompt(requirement), stop=["\n"], max_tokens=SKILLS_MAX_TOKENS
        )
    except ApipilotError as exc:
        return _fallback("skills", fallback_skills(requirement), f"LM failed: {exc}")
    found = valid_skills(text, requirement)
    if found is None:
        return _fallback("skills", fallback_skills(requirement), f"unusable skills {text!r}")
    return {"skills": found, "paths": {"skills": "lm"}}


@timed("examples")
def examples(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    bank = runtime.context.examples
    if bank is None:
        return {"examples": []}
    chosen = bank.nearest(state["skills"], runtime.context.n_examples)
    return {"examples": [demo.to_dict() for demo in chosen]}


@timed("decompose")
def decompose(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Subtasks by ``context.decomposer``: the clause splitter, the LM's list, or both (the
    clauses first, then the LM's steps they do not already hold). Without a usable LM
    output the clauses answer."""
    requirement = state["requirement"]
    ctx = runtime.context
    lm = ctx.lm
    fallback = ctx.clauses(requirement)
    if lm is None:
        return {"subtasks": fallback, "paths": {"decompose": "fallback"}}
    if ctx.decomposer == "clauses":
        return {"subtasks": fallback, "paths": {"decompose": "skipped"}}
    demos = [Demonstration.from_dict(d) for d in state.get("examples", [])]
    prompt = prompts.decompose_prompt(requirement, demos)
    try:
        text = lm.complete(prompt, stop=["\n\n", "Requirement:"], max_tokens=DECOMPOSE_MAX_TOKENS)
    except ApipilotError as exc:
        return {"subtasks": fallback, **_fallback_marks("decompose", f"LM failed: {exc}")}
    echoed = [s for d in demos for s in d.subtasks] + [d.requirement for d in demos]
    subtasks = valid_subtasks(parse_numbered_list(text), requirement, echoed)
    if subtasks is None:
        return {"subtasks": fallback, **_fallback_marks("decompose", f"unusable list {text!r}")}
    if ctx.decomposer == "union":
        subtasks = union_subtasks(fallback, subtasks)
    return {"subtasks": subtasks, "paths": {"decompose": "lm"}}


def union_subtasks(clauses: list[str], written: list[str]) -> list[str]:
    """The clauses, then each LM step that is not already one of them (case-insensitive)."""
    seen = {c.lower() for c in clauses}
    return clauses + [s for s in written if s.lower() not in seen]


def fan_out(state: AgentState) -> list[Send]:
    """One ``retrieve`` branch per subtask, plus one for the whole requirement."""
    tasks = [RetrieveTask(key=str(i), query=s) for i, s in enumerate(state["subtasks"])]
    tasks.append(RetrieveTask(key=REQUIREMENT_KEY, query=state["requirement"]))
    return [Send("retrieve", task) for task in tasks]


@timed("retrieve")
def retrieve(task: RetrieveTask, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = runtime.context
    hits = ctx.index.search(task["query"], max(ctx.candidates_per_subtask, ctx.merge.depth))
    found = [Candidate(id=h.record.id, score=h.score, evidence=h.evidence) for h in hits]
    return {"candidates": {task["key"]: found}}


@timed("rerank")
def rerank(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Per subtask, order its candidates by retrieval rank fused with the cross-encoder's
    scores when the context has one, else with the LM's calibrated likelihood of each
    candidate's description given the subtask (its top ``RERANK_DEPTH`` only)."""
    ctx = runtime.context
    candidates = state.get("candidates", {})
    keys = [str(i) for i in range(len(state["subtasks"]))] + [REQUIREMENT_KEY]
    retrieval = {key: [c["id"] for c in candidates.get(key, [])] for key in keys}
    if ctx.reranker is not None and ctx.rerank:
        return _cross_encoder_rerank(state, ctx, keys, retrieval)
    if ctx.lm is None or not ctx.rerank:
        path = "skipped" if ctx.lm is not None else "fallback"
        return {"chosen": retrieval, "paths": {"rerank": path}}
    scorer = LikelihoodReranker(ctx.lm, ctx.index)
    chosen: dict[str, list[str]] = {}
    notes: list[str] = []
    chosen[REQUIREMENT_KEY] = retrieval[REQUIREMENT_KEY]  # only fills the tail: not scored

    def order(key: str) -> list[str]:
        return scorer.order(state["subtasks"][int(key)], retrieval[key][:RERANK_DEPTH])

    # The subtasks are independent: score them at once (a served LM answers them in
    # parallel; an in-process one queues them), each in this request's context.
    with ThreadPoolExecutor(max_workers=max(1, len(keys) - 1)) as pool:
        futures = {key: pool.submit(copy_context().run, order, key) for key in keys[:-1]}
    for key, future in futures.items():
        head, tail = retrieval[key][:RERANK_DEPTH], retrieval[key][RERANK_DEPTH:]
        try:
            ordered = future.result()
        except ApipilotError as exc:
            notes.append(f"rerank {key}: LM failed ({exc}); kept retrieval order")
            ordered = head
        chosen[key] = ordered + tail
    path = "fallback" if len(notes) == len(keys) - 1 else "lm"
    return {"chosen": chosen, "paths": {"rerank": path}, "notes": notes}


def _cross_encoder_rerank(
    state: AgentState, ctx: AgentContext, keys: list[str], retrieval: dict[str, list[str]]
) -> dict[str, Any]:
    """Every candidate of every subtask (and of the whole requirement) ordered by the
    cross-encoder fused with the retrieval order (``retrieval.cross_encoder.rerank_order``)."""
    assert ctx.reranker is not None
    chosen: dict[str, list[str]] = {}
    notes: list[str] = []
    for key in keys:
        query = state["requirement"] if key == REQUIREMENT_KEY else state["subtasks"][int(key)]
        ids = [i for i in retrieval[key] if ctx.index.get(i) is not None]
        texts = [record.search_text() for i in ids if (record := ctx.index.get(i)) is not None]
        try:
            chosen[key] = [ids[n] for n in rerank_order(query, texts, ctx.reranker)]
        except ApipilotError as exc:
            notes.append(f"rerank {key}: cross-encoder failed ({exc}); kept retrieval order")
            chosen[key] = retrieval[key]
    path = "fallback" if len(notes) == len(keys) else "cross-encoder"
    return {"chosen": chosen, "paths": {"rerank": path}, "notes": notes}


@timed("answer")
def answer(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Merge the subtasks' choices into one ranking (``agents.merge``): reciprocal-rank votes
    of every subtask and of the whole requirement, plus documentation evidence (companions of
    the top APIs, the nearest demonstrations' APIs), each subtask's best kept first, each API
    once."""
    ctx = runtime.context
    chosen = state.get("chosen", {})
    subtask_lists = [chosen.get(str(i), []) for i in range(len(state["subtasks"]))]
    whole = chosen.get(REQUIREMENT_KEY, [])
    known = {i for ids in [*subtask_lists, whole] for i in ids if ctx.index.get(i) is not None}
    subtask_lists = [[i for i in ids if i in known] for ids in subtask_lists]
    whole = [i for i in whole if i in known]

    def name_of(record_id: str) -> str:
        record = ctx.index.get(record_id)
        return (record.qualified_name or record.name) if record is not None else record_id

    extra = _evidence(state, ctx, subtask_lists, whole, name_of)
    found = state.get("candidates", {})
    confidence = [
        {c["id"]: c["score"] for c in found.get(str(i), [])} for i in range(len(subtask_lists))
    ]
    merged = merge_rankings(
        subtask_lists, whole, ctx.merge, evidence=extra, name_of=name_of, confidence=confidence
    )
    ranking = [Candidate(id=record_id, score=score) for record_id, score in merged]
    return {"ranking": ranking[: ctx.k]}


def _evidence(
    state: AgentState,
    ctx: AgentContext,
    subtask_lists: list[list[str]],
    whole: list[str],
    name_of: Callable[[str], str],
) -> dict[str, float]:
    """Extra scores by record id: companions of the top merged APIs and the APIs of the
    nearest demonstrations, on the scale of one reciprocal-rank vote."""
    companions = ctx.companions if ctx.companion_weight > 0 else None
    demos = state.get("examples", []) if ctx.demonstration_weight > 0 else []
    if companions is None and not demos:
        return {}
    by_name: dict[str, float] = {}
    if companions is not None:
        base = merge_rankings(subtask_lists, whole, ctx.merge, name_of=name_of)
        top = [(ctx.index.get(i), score) for i, score in base[: ctx.companion_top]]
        retrieved = [(record.name, score) for record, score in top if record is not None]
        for name, score in companions.lift(retrieved, ctx.companion_top).items():
            by_name[name] = by_name.get(name, 0.0) + ctx.companion_weight * score
    unit = 1.0 / (ctx.merge.rrf_k + 1)  # one first-rank vote
    for name, vote in demonstration_votes([d["apis"] for d in demos]).items():
        by_name[name] = by_name.get(name, 0.0) + ctx.demonstration_weight * vote * unit
    candidates: dict[str, str] = {}  # name -> the first retrieved record of that name
    for ids in [whole, *subtask_lists]:
        for record_id in ids:
            if (record := ctx.index.get(record_id)) is not None:
                candidates.setdefault(record.name, record_id)
    extra: dict[str, float] = {}
    for name, score in by_name.items():
        found = ctx.index.find(name) if name not in candidates else []
        target = candidates.get(name) or (found[0].id if found else None)
        if target is not None:
            extra[target] = extra.get(target, 0.0) + score
    return extra


@timed("code")
def code(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = runtime.context
    records = [r for c in state["ranking"] if (r := ctx.index.get(c["id"])) is not None]
    library = ctx.index.meta.library
    skeleton = {"code": _code_skeleton(library, records[: len(state["subtasks"]) + 1])}
    clean: dict[str, Any] = {"unknown_apis": [], "unsafe_calls": []}
    if ctx.lm is None:
        return {**skeleton, **clean, "paths": {"code": "fallback"}}
    demos = [Demonstration.from_dict(d) for d in state.get("examples", [])[:1]]
    prompt = prompts.code_prompt(state["requirement"], library, records[:5], demos)
    try:
        text = ctx.lm.complete(prompt, stop=["\n\n\n", "# Task:"], max_tokens=160)
    except ApipilotError as exc:
        return {**skeleton, **clean, **_fallback_marks("code", str(exc))}
    result = check_code(text, ctx.index, library)
    if not result.parses or not text.strip():
        note = f"generated code does not parse ({result.error or 'empty'})"
        return {**skeleton, **clean, **_fallback_marks("code", note)}
    if result.unsafe_calls:
        # never presented as an answer: documentation text may have steered the LM
        note = f"generated code uses unsafe functions: {', '.join(result.unsafe_calls)}"
        flagged = {"unknown_apis": [], "unsafe_calls": result.unsafe_calls}
        return {**skeleton, **flagged, **_fallback_marks("code", note)}
    if not result.known and not result.unknown:
        note = f"generated code calls nothing of {library}"
        return {**skeleton, **clean, **_fallback_marks("code", note)}
    checked = {"unknown_apis": result.unknown, "unsafe_calls": []}
    return {"code": text.strip(), **checked, "paths": {"code": "lm"}}


def _code_skeleton(library: str, records: list[Any]) -> str:
    """Deterministic code: the chosen APIs as commented calls in subtask order. Every piece of
    documentation text is quoted (``quote_doc``): a summary cannot start a live line."""
    lines = [f"# {quote_doc(library)}: APIs for this requirement, in order of use"]
    for record in records:
        lines.append(f"# {quote_doc(record.summary)}")
        call = f"{record.qualified_name or record.name}({_params(record.signature)})"
        lines.append(f"# {quote_doc(call, limit=CALL_QUOTE_CHARS)}")
    return "\n".join(lines)


def _params(signature: str) -> str:
    inner = signature.strip()
    if inner.startswith("("):
        inner = inner[1 : inner.rfind(")")] if ")" in inner else inner[1:]
    return inner


def _fallback(step: str, value: Any, note: str) -> dict[str, Any]:
    return {step: value, **_fallback_marks(step, note)}


def _fallback_marks(step: str, note: str) -> dict[str, Any]:
    return {"paths": {step: "fallback"}, "notes": [f"{step}: {note[:200]}"]}
