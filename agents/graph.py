"""Wiring only: skills → examples → decompose → retrieve (one branch per subtask) → rerank →
answer → code (when asked)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from apipilot.agents import nodes
from apipilot.agents.context import AgentContext
from apipilot.agents.state import AgentInput, AgentState


def _after_answer(state: AgentState, runtime: Runtime[AgentContext]) -> str:
    return "code" if runtime.context.write_code else END


Node = Callable[..., dict[str, Any]]


def build_graph(
    context_schema: type[Any] = AgentContext,
    adapt: Callable[[Node], Node] | None = None,
    *,
    state_schema: type[Any] = AgentState,
    finish: Node | None = None,
) -> Any:
    """The agent's graph. ``agents.deployment`` passes plain settings as ``context_schema``,
    ``adapt`` (wraps every node to build its ``AgentContext`` from them) and a ``finish`` node
    that runs last and writes the shaped answer into ``state_schema``."""
    wrap = adapt or (lambda node: node)
    end = "finish" if finish is not None else END
    graph = StateGraph(state_schema, context_schema=context_schema, input_schema=AgentInput)
    graph.add_node("skills", wrap(nodes.skills))
    graph.add_node("examples", wrap(nodes.examples))
    graph.add_node("decompose", wrap(nodes.decompose))
    graph.add_node("retrieve", wrap(nodes.retrieve))
    graph.add_node("rerank", wrap(nodes.rerank))
    graph.add_node("answer", wrap(nodes.answer))
    graph.add_node("code", wrap(nodes.code))
    graph.add_edge(START, "skills")
    graph.add_edge("skills", "examples")
    graph.add_edge("examples", "decompose")
    graph.add_conditional_edges("decompose", nodes.fan_out, ["retrieve"])
    graph.add_edge("retrieve", "rerank")
    graph.add_edge("rerank", "answer")
    graph.add_conditional_edges("answer", _after_answer, {"code": "code", END: end})
    graph.add_edge("code", end)
    if finish is not None:
        graph.add_node("finish", wrap(finish))
        graph.add_edge("finish", END)
    return graph.compile(name="apipilot")


graph = build_graph()  # for `langgraph.json`; building the graph loads no model
