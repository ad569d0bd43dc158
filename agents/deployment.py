"""The graph LangGraph's server runs (``langgraph.json``).

The server sends ``context`` as JSON, so this graph's context holds only plain settings; its one
node opens the index and the LM from them (cached per process) and runs the same agent as the
CLI. Node-by-node progress is what ``agents.graph`` streams in-process; here the answer arrives
whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from apipilot.agents.recommend import recommend
from apipilot.indexes.corpora import DEFAULT_LIBRARY


@dataclass(frozen=True)
class DeploymentContext:
    library: str = DEFAULT_LIBRARY
    version: str | None = None
    k: int = 10
    llm: str | None = None  # LM spec; None: $APIPILOT_LLM or the embedded model
    write_code: bool = False
    reranker: str | None = None  # cross-encoder spec; None: $APIPILOT_RERANKER or the default


class DeploymentState(TypedDict, total=False):
    requirement: str
    answer: dict[str, Any]


def run_agent(state: DeploymentState, runtime: Runtime[DeploymentContext]) -> dict[str, Any]:
    ctx = runtime.context or DeploymentContext()
    answer = recommend(
        state["requirement"],
        ctx.library,
        ctx.version,
        k=ctx.k,
        llm=ctx.llm,
        write_code=ctx.write_code,
        reranker=ctx.reranker,
    )
    return {"answer": answer}


def build_deployment_graph() -> Any:
    graph = StateGraph(DeploymentState, context_schema=DeploymentContext)
    graph.add_node("recommend", run_agent)
    graph.add_edge(START, "recommend")
    graph.add_edge("recommend", END)
    return graph.compile(name="apipilot")


graph = build_deployment_graph()
