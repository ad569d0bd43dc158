"""The agent's defaults, each chosen by measurement on the dev split of the evaluation suites
and reported on test (``python -m benchmarks.agent_ablation``; docs/benchmarks.md, "Agent
ablation"). The CLI, the app, the MCP server, the Python API and ``apipilot eval`` all read
them from here.
"""

from __future__ import annotations

from typing import Literal

from apipilot.agents.merge import MergeWeights

# The LM a request runs with when neither it nor $APIPILOT_LLM names one: none. Each LM step
# lost to its deterministic path on dev (decomposition, reranking), and without those the LM
# only costs seconds; ``--llm embedded`` (or any spec) turns it on.
LLM = "none"

Decomposer = Literal["clauses", "lm", "union"]
DECOMPOSERS: tuple[Decomposer, ...] = ("clauses", "lm", "union")

# Subtasks: the clause splitter keeps the requirement's own identifiers and phrasing; the LM's
# paraphrases lose them ("lm" and "union" need an LM; without one they fall back to clauses).
DECOMPOSER: Decomposer = "clauses"
# Reranking each subtask's candidates (LM likelihood, or the cross-encoder when one is given)
# lowered R@5 on dev: off unless asked.
RERANK = False
# Code generation: the 135M LM's code passes the API check too rarely to be worth its
# seconds; without an LM the answer carries a deterministic template of the chosen APIs.
WRITE_CODE = False

# Merge of the subtasks' lists (agents.merge) and the weights of the documentation evidence
# (agents.evidence): companions of the top retrieved APIs, the nearest demonstrations' APIs.
# The covered head goes surest subtask first (MergeWeights.confident_first): R@5 0.442 against
# 0.422 in clause order on the large coarse dev set (evaluation.suites.coarse_dev_suite).
MERGE = MergeWeights(requirement=4.0, rrf_k=20, depth=50, cover=2)
# Candidates each branch retrieves: fused rankings of large indexes get better with deeper
# lists (PandasEval fused R@5 0.387 / 0.397 / 0.427 at 10 / 20 / 50 candidates).
SEARCH_DEPTH = 50
COMPANION_WEIGHT = 0.0
COMPANION_TOP = 5
DEMONSTRATION_WEIGHT = 0.0


def check_decomposer(value: str) -> Decomposer:
    """``value`` when it names a decomposer; ConfigError otherwise."""
    from apipilot.retrieval.errors import ConfigError

    for name in DECOMPOSERS:
        if value == name:
            return name
    raise ConfigError(f"unknown decomposer {value!r}; valid: {', '.join(DECOMPOSERS)}")
