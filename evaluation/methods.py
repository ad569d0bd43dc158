"""Methods under evaluation, a registry by name: each turns a suite's queries into rankings.

Every method goes through the code the product uses (``ApiIndex.search_batch``, ``recommend``)
except the two references: ``bm25-plain`` (the published BM25 baseline, reproduced) and
``apiretriever`` (the released runs of the published fine-tuned retriever). A new method, e.g. a
fine-tuned embedder or LM, is one class with ``rank`` and one ``register_method`` call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from apipilot.evaluation.data import EvalTask, load_trec_run
from apipilot.evaluation.naming import Identity
from apipilot.evaluation.suites import Suite
from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import DEFAULT_EMBEDDER
from apipilot.retrieval.errors import ApipilotError, ConfigError

DEPTH = 50  # candidates a retrieval method returns per query (metrics read at most 10)
AGENT_K = 10


@dataclass
class Ranking:
    """One task's answer: ranked record identities, and for the agent its steps."""

    items: list[Identity]
    timings: dict[str, float] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    error: str = ""


@dataclass
class Env:
    """Where methods find indexes: ``store`` holds the default embedder's indexes; a method
    that needs another embedder gets a store of its own under ``store.home/embedders``.
    ``build_embedder`` embeds the indexes ``store`` builds from a suite's source (tests pass
    a model-free one)."""

    store: IndexStore
    _stores: dict[str, IndexStore] = field(default_factory=dict)
    build_embedder: str = DEFAULT_EMBEDDER

    def store_for(self, embedder: str | None) -> IndexStore:
        if embedder is None:
            return self.store
        if embedder not in self._stores:
            safe = re.sub(r"[^A-Za-z0-9._+-]", "_", embedder)
            self._stores[embedder] = IndexStore(self.store.home / "embedders" / safe)
        return self._stores[embedder]

    def index(self, suite: Suite, embedder: str | None = None) -> ApiIndex:
        """The suite's index. Built once when missing: from the suite's ``source`` (a realistic
        suite's ``pkg:`` package), or with ``embedder`` from the shipped corpus."""
        store = self.store_for(embedder)
        needs_build = suite.source is not None or embedder is not None
        if needs_build and suite.version not in store.versions(suite.library):
            from apipilot.indexes.building import build_from_source

            spec = embedder or self.build_embedder
            if suite.source is not None:  # pinned to the suite's library@version
                build_from_source(
                    store, suite.source, suite.library, suite.version, embedder_spec=spec
                )
            else:
                corpus = f"corpus:{suite.library}@{suite.version}"
                build_from_source(store, corpus, embedder_spec=spec)
        return store.open(suite.library, suite.version)


class Method(Protocol):
    name: str
    description: str
    uses_lm: bool  # runs a generative LM per task (slow: the harness may limit its tasks)

    def supports(self, suite: Suite) -> bool: ...

    def rank(self, suite: Suite, tasks: Sequence[EvalTask], env: Env) -> list[Ranking]: ...


def identity(record: ApiRecord, suite: Suite | None = None) -> Identity:
    """The names a record answers to: its short name and aliases; on a realistic suite, whose
    gold names are qualified (``rich.table.Table``), its qualified name and aliases."""
    if suite is not None and suite.kind == "realistic":
        return (record.qualified_name or record.name, *record.aliases)
    return (record.name, *record.aliases)


class SearchMethod:
    """One query per task through ``ApiIndex.search_batch`` (bm25, dense or fused); with
    ``embedder`` on an index built with that embedder instead of the default one."""

    uses_lm = False

    def __init__(
        self, mode: str, description: str, *, name: str = "", embedder: str | None = None
    ) -> None:
        self.name = name or mode
        self.mode = mode
        self.description = description
        self.embedder = embedder

    def supports(self, suite: Suite) -> bool:
        return True

    def rank(self, suite: Suite, tasks: Sequence[EvalTask], env: Env) -> list[Ranking]:
        index = env.index(suite, self.embedder)
        start = time.perf_counter()
        results = index.search_batch([t.query for t in tasks], DEPTH, self.mode)
        per_query = (time.perf_counter() - start) / max(1, len(tasks))
        return [
            Ranking([identity(h.record, suite) for h in hits], {"search (batch mean)": per_query})
            for hits in results
        ]


class RerankedSearchMethod:
    """Fused retrieval, then the top ``RERANK_DEPTH`` hits reordered by a cross-encoder
    (``reranker``: a ``load_reranker`` spec; the rank rule is ``indexes.rerank.rerank_hits``)."""

    uses_lm = False

    def __init__(
        self, name: str, description: str, *, reranker: str, embedder: str | None = None
    ) -> None:
        self.name = name
        self.description = description
        self.reranker = reranker
        self.embedder = embedder

    def supports(self, suite: Suite) -> bool:
        return True

    def rank(self, suite: Suite, tasks: Sequence[EvalTask], env: Env) -> list[Ranking]:
        from apipilot.indexes.rerank import rerank_hits
        from apipilot.retrieval.cross_encoder import load_reranker

        reranker = load_reranker(self.reranker)
        if reranker is None:
            raise ConfigError(f"method {self.name} needs a reranker, not {self.reranker!r}")
        index = env.index(suite, self.embedder)
        start = time.perf_counter()
        results = index.search_batch([t.query for t in tasks], DEPTH, "fused")
        search = (time.perf_counter() - start) / max(1, len(tasks))
        out = []
        for task, hits in zip(tasks, results, strict=True):
            start = time.perf_counter()
            ranked = rerank_hits(task.query, hits, reranker)
            timings = {"search (batch mean)": search, "rerank": time.perf_counter() - start}
            out.append(Ranking([identity(h.record, suite) for h in ranked], timings))
        return out


class PlainBM25:
    """The published BM25 baseline: bm25s over the pool ``text`` with English stop words.

    ``text`` is ``name(signature): summary``, kept verbatim in the pool records' ``doc``.
    Unlike the product's BM25 it does not split identifiers (``read_csv`` stays one token).
    """

    name = "bm25-plain"
    description = "bm25s over the raw pool text, English stop words (the published baseline)"
    uses_lm = False

    def __init__(self) -> None:
        self._models: dict[str, tuple[Any, list[ApiRecord]]] = {}

    def supports(self, suite: Suite) -> bool:
        return True

    def _model(self, index: ApiIndex) -> tuple[Any, list[ApiRecord]]:
        import bm25s

        key = index.meta.ref
        if key not in self._models:
            records = index.records
            texts = [r.doc or r.search_text() for r in records]
            model = bm25s.BM25()
            model.index(
                bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False
            )
            self._models[key] = (model, records)
        return self._models[key]

    def rank(self, suite: Suite, tasks: Sequence[EvalTask], env: Env) -> list[Ranking]:
        import bm25s

        model, records = self._model(env.index(suite))
        start = time.perf_counter()
        tokens = bm25s.tokenize([t.query for t in tasks], stopwords="en", show_progress=False)
        docs, _ = model.retrieve(tokens, k=min(DEPTH, len(records)), show_progress=False)
        per_query = (time.perf_counter() - start) / max(1, len(tasks))
        return [
            Ranking(
                [identity(records[int(d)], suite) for d in row], {"search (batch mean)": per_query}
            )
            for row in docs
        ]


class ApiRetrieverRun:
    """The released TREC runs of APIRetriever (fine-grained suites only): an external baseline."""

    name = "apiretriever"
    description = "APIRetriever's released ranking (fine-tuned dense retriever; external)"
    uses_lm = False

    def supports(self, suite: Suite) -> bool:
        return suite.kind == "fine"

    def rank(self, suite: Suite, tasks: Sequence[EvalTask], env: Env) -> list[Ranking]:
        index = env.index(suite)
        run = load_trec_run(suite.library)
        out = []
        for task in tasks:
            records = [r for doc in run.get(task.query_id, []) if (r := index.get(doc))]
            out.append(Ranking([identity(r, suite) for r in records]))
        return out


class AgentMethod:
    """The full agent (``recommend``): decompose, retrieve per subtask, merge; ``options``
    override the agent's defaults (``agents.defaults``: ``rerank``, ``decomposer``, …)."""

    def __init__(
        self,
        name: str,
        llm: str | None,
        description: str,
        *,
        embedder: str | None = None,
        **options: Any,
    ) -> None:
        self.name = name
        self.llm = llm
        self.description = description
        self.uses_lm = llm != "none"
        self.embedder = embedder
        self.options = options

    def supports(self, suite: Suite) -> bool:
        return True

    def rank(self, suite: Suite, tasks: Sequence[EvalTask], env: Env) -> list[Ranking]:
        from apipilot.agents.recommend import recommend

        index = env.index(suite, self.embedder)
        out = []
        for task in tasks:
            try:
                answer = recommend(
                    task.query,
                    suite.library,
                    suite.version,
                    k=AGENT_K,
                    llm=self.llm,
                    store=env.store_for(self.embedder),
                    **self.options,
                )
            except ApipilotError as exc:
                out.append(Ranking([], error=str(exc)))
                continue
            records = [r for api in answer["apis"] if (r := index.get(api["id"]))]
            timings = {k: float(v) for k, v in answer["timings"].items()}
            out.append(
                Ranking([identity(r, suite) for r in records], timings, dict(answer["paths"]))
            )
        return out


MethodFactory = Callable[[], Method]
_REGISTRY: dict[str, MethodFactory] = {}


def register_method(name: str, factory: MethodFactory) -> None:
    _REGISTRY[name] = factory


def method_names() -> list[str]:
    return list(_REGISTRY)


def get_method(name: str) -> Method:
    if name not in _REGISTRY:
        raise ConfigError(f"unknown method {name!r}; valid: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]()


register_method("bm25-plain", PlainBM25)
register_method("bm25", lambda: SearchMethod("bm25", "product BM25 (identifiers split)"))
register_method("dense", lambda: SearchMethod("dense", "product dense (all-MiniLM-L6-v2)"))
register_method("fused", lambda: SearchMethod("fused", "product BM25 + dense, rank fusion"))
register_method(
    "dense-ft",
    lambda: SearchMethod(
        "dense",
        "dense with the fine-tuned embedder (minilm-ft)",
        name="dense-ft",
        embedder="minilm-ft",
    ),
)
register_method(
    "fused-ft",
    lambda: SearchMethod(
        "fused",
        "BM25 + fine-tuned dense (minilm-ft), rank fusion",
        name="fused-ft",
        embedder="minilm-ft",
    ),
)
register_method(
    "dense-e5",
    lambda: SearchMethod(
        "dense", "dense with multilingual-e5-small (e5-small)", name="dense-e5", embedder="e5-small"
    ),
)
register_method(
    "fused-e5",
    lambda: SearchMethod(
        "fused", "BM25 + e5-small dense, rank fusion", name="fused-e5", embedder="e5-small"
    ),
)
register_method(
    "fused+rerank",
    lambda: RerankedSearchMethod(
        "fused+rerank",
        "product BM25 + dense, top 30 reordered by the cross-encoder (minilm-ce)",
        reranker="minilm-ce",
    ),
)
register_method(
    "agent-nolm",
    lambda: AgentMethod("agent-nolm", "none", "agent, deterministic path (no LM)"),
)
register_method(
    "agent-nolm-ft",
    lambda: AgentMethod(
        "agent-nolm-ft",
        "none",
        "agent, deterministic path (no LM), fine-tuned embedder",
        embedder="minilm-ft",
    ),
)
register_method(
    "agent-nolm-e5",
    lambda: AgentMethod(
        "agent-nolm-e5", "none", "agent, deterministic path (no LM), e5-small", embedder="e5-small"
    ),
)
register_method(
    "agent",
    lambda: AgentMethod(
        "agent",
        "embedded-base",
        "agent with the base embedded LM (SmolLM2-135M) decomposing and reranking",
        decomposer="lm",
        rerank=True,
    ),
)
register_method(
    "agent-ft",
    lambda: AgentMethod(
        "agent-ft",
        "embedded",
        "agent with the embedded LM + decomposer LoRA (models/decomposer-smollm2) decomposing "
        "and reranking",
        decomposer="lm",
        rerank=True,
    ),
)
register_method("apiretriever", ApiRetrieverRun)
