"""The graph LangGraph's server runs (``langgraph.json``): the agent's own graph, node for node,
so LangGraph Studio shows every step.

The server sends ``context`` as JSON, so this graph's context schema holds only plain settings
(:class:`DeploymentContext`). Each node turns them into the agent's ``AgentContext`` (index,
LM, example bank, cross-encoder; opened once per process and settings) before it runs. A last
``finish`` node writes the answer, shaped as ``apipilot.Recommendation.to_dict()``, into
``answer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any

from langgraph.runtime import Runtime

from apipilot.agents import defaults
from apipilot.agents.context import AgentContext
from apipilot.agents.graph import Node, build_graph
from apipilot.agents.recommend import build_context, shape_answer
from apipilot.agents.state import AgentState
from apipilot.indexes.corpora import DEFAULT_LIBRARY


@dataclass(frozen=True)
class DeploymentContext:
    library: str = DEFAULT_LIBRARY
    version: str | None = None
    k: int = 10
    llm: str | None = None  # LM spec; None: $APIPILOT_LLM or the embedded model
    write_code: bool = defaults.WRITE_CODE
    rerank: bool = defaults.RERANK
    reranker: str | None = None  # cross-encoder spec; None: $APIPILOT_RERANKER or the default
    decomposer: str = defaults.DECOMPOSER


class DeploymentState(AgentState, total=False):
    answer: dict[str, Any]


@lru_cache(maxsize=8)
def agent_context(settings: DeploymentContext) -> AgentContext:
    """The agent's context for ``settings``; models and indexes stay cached per process."""
    return build_context(
        settings.library,
        settings.version,
        k=settings.k,
        write_code=settings.write_code,
        rerank=settings.rerank,
        llm=settings.llm,
        reranker=settings.reranker,
        decomposer=settings.decomposer,
    )


def _settings(context: Any) -> DeploymentContext:
    if isinstance(context, DeploymentContext):
        return context
    if isinstance(context, dict):  # a server that did not coerce the JSON context
        return DeploymentContext(**context)
    return DeploymentContext()


def with_agent_context(node: Node) -> Node:
    """``node`` run with the ``AgentContext`` built from the deployment's plain settings."""

    @wraps(node)
    def run(state: Any, runtime: Runtime[Any]) -> dict[str, Any]:
        context = agent_context(_settings(runtime.context))
        return node(state, runtime.override(context=context))

    return run


def finish(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """The answer as the CLI's ``--json`` prints it."""
    return {"answer": shape_answer(state, runtime.context).to_dict()}


graph = build_graph(
    context_schema=DeploymentContext,
    adapt=with_agent_context,
    state_schema=DeploymentState,
    finish=finish,
)
