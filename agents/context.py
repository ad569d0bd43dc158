"""What a run of the graph depends on, passed as LangGraph ``context=`` (fakes in tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apipilot.agents import defaults
from apipilot.agents.evidence import CompanionGraph
from apipilot.agents.examples import ExampleBank
from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.merge import MergeWeights
from apipilot.agents.text import split_clauses
from apipilot.indexes.api_index import ApiIndex
from apipilot.retrieval.cross_encoder import Reranker


@dataclass(frozen=True)
class AgentContext:
    """Dependencies and settings of one request.

    ``lm`` is ``None`` to run without a language model: every LM step then takes its
    deterministic path. ``examples`` is ``None`` when the library has no example bank.
    ``reranker`` (a cross-encoder) orders each subtask's candidates instead of the LM.
    ``decomposer`` picks the subtasks (``agents.defaults.DECOMPOSERS``); ``merge``,
    ``companions`` and the evidence weights shape the final ranking (``agents.merge``,
    ``agents.evidence``). Defaults: ``agents.defaults``, chosen on the dev split.
    """

    index: ApiIndex
    lm: LanguageModel | None = None
    examples: ExampleBank | None = None
    k: int = 10  # APIs in the final recommendation
    candidates_per_subtask: int = defaults.SEARCH_DEPTH
    n_examples: int = 3
    rerank: bool = defaults.RERANK
    write_code: bool = defaults.WRITE_CODE
    reranker: Reranker | None = None
    decomposer: defaults.Decomposer = defaults.DECOMPOSER
    merge: MergeWeights = defaults.MERGE
    companions: CompanionGraph | None = None
    companion_weight: float = defaults.COMPANION_WEIGHT
    companion_top: int = defaults.COMPANION_TOP
    demonstration_weight: float = defaults.DEMONSTRATION_WEIGHT
    clauses: Callable[[str], list[str]] = split_clauses  # the deterministic decomposition
