"""Wiring only: skills → examples → decompose → retrieve (one branch per subtask) → rerank →
answer → code (when asked)."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from apipilot.agents import nodes
from apipilot.agents.context import AgentContext
from apipilot.agents.state import AgentInput, AgentState


def _after_answer(state: AgentState, runtime: Runtime[AgentContext]) -> str:
    return "code" if runtime.context.write_code else END


def build_graph() -> Any:
    graph = StateGraph(AgentState, context_schema=AgentContext, input_schema=AgentInput)
    graph.add_node("skills", nodes.skills)
    graph.add_node("examples", nodes.examples)
    graph.add_node("decompose", nodes.decompose)
    graph.add_node("retrieve", nodes.retrieve)
    graph.add_node("rerank", nodes.rerank)
    graph.add_node("answer", nodes.answer)
    graph.add_node("code", nodes.code)
    graph.add_edge(START, "skills")
    graph.add_edge("skills", "examples")
    graph.add_edge("examples", "decompose")
    graph.add_conditional_edges("decompose", nodes.fan_out, ["retrieve"])
    graph.add_edge("retrieve", "rerank")
    graph.add_edge("rerank", "answer")
    graph.add_conditional_edges("answer", _after_answer, ["code", END])
    graph.add_edge("code", END)
    return graph.compile(name="apipilot")


graph = build_graph()  # for `langgraph.json`; building the graph loads no model
