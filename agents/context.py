"""What a run of the graph depends on, passed as LangGraph ``context=`` (fakes in tests)."""

from __future__ import annotations

from dataclasses import dataclass

from apipilot.agents.examples import ExampleBank
from apipilot.agents.lm.base import LanguageModel
from apipilot.indexes.api_index import ApiIndex
from apipilot.retrieval.cross_encoder import Reranker


@dataclass(frozen=True)
class AgentContext:
    """Dependencies and settings of one request.

    ``lm`` is ``None`` to run without a language model: every LM step then takes its
    deterministic path. ``examples`` is ``None`` when the library has no example bank.
    ``reranker`` (a cross-encoder) orders each subtask's candidates instead of the LM.
    """

    index: ApiIndex
    lm: LanguageModel | None = None
    examples: ExampleBank | None = None
    k: int = 10  # APIs in the final recommendation
    candidates_per_subtask: int = 10
    n_examples: int = 3
    rerank: bool = True
    write_code: bool = False
    reranker: Reranker | None = None
