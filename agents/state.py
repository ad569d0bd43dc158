"""The state of one request as it moves through the graph. Reducers sit beside their field."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypedDict

if TYPE_CHECKING:
    from apipilot.indexes.api_index import Evidence


def merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Dict union for fields written by parallel branches (right wins on a shared key)."""
    return {**left, **right}


class Candidate(TypedDict):
    id: str
    score: float  # fused retrieval score
    evidence: NotRequired[Evidence | None]  # the passage or guide that matched (search hits)


class AgentInput(TypedDict):
    requirement: str


class AgentState(TypedDict, total=False):
    requirement: str
    skills: str
    examples: list[dict[str, Any]]
    subtasks: list[str]
    # subtask position ("0", "1", …, or "requirement") -> retrieved candidates
    candidates: Annotated[dict[str, list[Candidate]], merge]
    # subtask position -> chosen record ids, best first
    chosen: dict[str, list[str]]
    ranking: list[Candidate]  # the final recommendation, best first
    code: str
    unknown_apis: list[str]
    unsafe_calls: list[str]  # process, eval or network functions the generated code used
    paths: Annotated[dict[str, str], merge]  # step -> "lm" | "fallback" | "skipped"
    timings: Annotated[dict[str, float], merge]  # step -> seconds
    notes: Annotated[list[str], operator.add]  # why a step fell back


class RetrieveTask(TypedDict):
    """What one parallel ``retrieve`` branch receives from ``Send``."""

    key: str
    query: str
