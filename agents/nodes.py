"""The steps of the graph. Each takes ``(state, runtime)`` and returns only the keys it changes.

Every LM output is parsed and checked; when it is unusable (or there is no LM) the step takes a
deterministic path and records it in ``paths`` (and why in ``notes``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from apipilot.agents import prompts
from apipilot.agents.code_check import check_code
from apipilot.agents.context import AgentContext
from apipilot.agents.examples import Demonstration
from apipilot.agents.quoting import quote_doc
from apipilot.agents.rerank import LikelihoodReranker
from apipilot.agents.state import AgentState, Candidate, RetrieveTask
from apipilot.agents.text import (
    fallback_skills,
    parse_numbered_list,
    split_clauses,
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
    requirement = state["requirement"]
    lm = runtime.context.lm
    fallback = split_clauses(requirement)
    if lm is None:
        return {"subtasks": fallback, "paths": {"decompose": "fallback"}}
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
    return {"subtasks": subtasks, "paths": {"decompose": "lm"}}


def fan_out(state: AgentState) -> list[Send]:
    """One ``retrieve`` branch per subtask, plus one for the whole requirement."""
    tasks = [RetrieveTask(key=str(i), query=s) for i, s in enumerate(state["subtasks"])]
    tasks.append(RetrieveTask(key=REQUIREMENT_KEY, query=state["requirement"]))
    return [Send("retrieve", task) for task in tasks]


@timed("retrieve")
def retrieve(task: RetrieveTask, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = runtime.context
    hits = ctx.index.search(task["query"], ctx.candidates_per_subtask)
    found = [Candidate(id=h.record.id, score=h.score) for h in hits]
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
    for key in keys[:-1]:
        query = state["subtasks"][int(key)]
        head, tail = retrieval[key][:RERANK_DEPTH], retrieval[key][RERANK_DEPTH:]
        try:
            order = scorer.order(query, head)
        except ApipilotError as exc:
            notes.append(f"rerank {key}: LM failed ({exc}); kept retrieval order")
            order = head
        chosen[key] = order + tail
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
    """Merge the subtasks' choices into one ranking: each subtask's best first (coverage),
    then the next best of each, then the whole-requirement candidates; duplicates once."""
    ctx = runtime.context
    chosen = state.get("chosen", {})
    scores = {c["id"]: c["score"] for cs in state.get("candidates", {}).values() for c in cs}
    subtask_lists = [chosen.get(str(i), []) for i in range(len(state["subtasks"]))]
    ranking: list[Candidate] = []
    seen: set[str] = set()
    depth = max((len(c) for c in subtask_lists), default=0)
    ordered = [ids[r] for r in range(depth) for ids in subtask_lists if r < len(ids)]
    for record_id in ordered + chosen.get(REQUIREMENT_KEY, []):
        if record_id not in seen and ctx.index.get(record_id) is not None:
            seen.add(record_id)
            ranking.append(Candidate(id=record_id, score=scores.get(record_id, 0.0)))
    return {"ranking": ranking[: ctx.k]}


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
