"""Recommend the APIs of a library for a requirement, whole or as a stream of typed events."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from apipilot._limits import (
    MAX_REQUIREMENT_CHARS,
    k_input,
    library_input,
    name_input,
    spec_input,
    text_input,
)
from apipilot._results import Finished, Recommendation, RecommendEvent, Started, StepDone
from apipilot._stores import default_version, open_index, store_for
from apipilot.agents import defaults as agent_defaults
from apipilot.indexes.corpora import DEFAULT_LIBRARY

if TYPE_CHECKING:
    from apipilot.indexes.api_index import ApiIndex

MAX_RECOMMEND_K = 100


@dataclass(frozen=True)
class RecommendOptions:
    """How to answer a requirement; the CLI's ``ask``, the app's chat and the MCP
    ``recommend_apis`` tool all pass one of these.

    ``llm`` is an LM spec (see ``LM_KINDS``: ``"embedded"``, ``"hf:DIR"``, ``"gguf:FILE"``,
    ``"openai:URL[#model]"``), ``"none"`` for the deterministic paths without a language model,
    or ``None`` for ``$APIPILOT_LLM``, else ``DEFAULT_LLM`` (``"none"``: measured best).
    ``reranker`` is a cross-encoder spec (``"minilm-ce"``, an adapter directory, ``"none"``),
    or ``None`` for ``$APIPILOT_RERANKER`` or none (the LM reranks); it applies when
    ``rerank`` is on.
    ``decomposer`` picks the subtasks: ``"clauses"`` (the requirement's own clauses),
    ``"lm"`` (the LM's list) or ``"union"`` (both). Every default is the measured best on the
    dev split (``apipilot.agents.defaults``; docs/benchmarks.md, "Agent ablation").
    """

    DEFAULT_LLM: ClassVar[str] = agent_defaults.LLM

    k: int = 10
    write_code: bool = agent_defaults.WRITE_CODE
    rerank: bool = agent_defaults.RERANK
    reranker: str | None = None
    llm: str | None = None
    decomposer: str = agent_defaults.DECOMPOSER

    def validated(self) -> RecommendOptions:
        """A copy with the LM spec normalised; ConfigError naming the bad field otherwise."""
        from apipilot._lm import check_lm_spec

        k_input(self.k, MAX_RECOMMEND_K)
        agent_defaults.check_decomposer(self.decomposer)
        llm = spec_input("LM spec", self.llm)
        return replace(
            self,
            llm=None if llm is None or not llm.strip() else check_lm_spec(llm),
            reranker=spec_input("reranker spec", self.reranker),
        )

    def agent_options(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "write_code": self.write_code,
            "rerank": self.rerank,
            "reranker": self.reranker,
            "llm": self.llm,
            "decomposer": self.decomposer,
        }


def stream_recommend(
    requirement: str,
    library: str | None = None,
    version: str | None = None,
    *,
    options: RecommendOptions | None = None,
    home: str | Path | None = None,
    libraries: Sequence[str] | None = None,
) -> Iterator[RecommendEvent]:
    """Yield :class:`Started` (the index that answers), a :class:`StepDone` as each agent step
    finishes, then :class:`Finished` with the :class:`Recommendation`.

    Without ``library``, every library in scope answers: ``libraries`` (``name`` or
    ``name@version``), else the libraries of the indexed project around the current folder
    (at the project's versions), else ``DEFAULT_LIBRARY``. With several, each subtask is
    routed to the library that answers it best (see :mod:`apipilot.agents.multi`); the
    answer's library and version list them all, comma-separated, and every API carries its
    own ``library`` and ``version``.

    Arguments are checked before the first event, so a bad one raises at the first ``next``.
    """
    from apipilot.agents.recommend import stream_recommend as run_agent

    checked = (options or RecommendOptions()).validated()
    requirement = text_input("requirement", requirement, MAX_REQUIREMENT_CHARS)
    scope = libraries_in_scope(library, version, libraries, home)
    if len(scope) > 1:
        yield from _stream_many(requirement, scope, checked, home)
        return
    library, version = scope[0]
    index = open_index(library_input(library), name_input("version", version), home)
    library, version = index.meta.library, index.meta.version
    yield Started(requirement, library, version)
    steps = run_agent(
        requirement, library, version, store=store_for(home), **checked.agent_options()
    )
    for step, update in steps:
        if step == "result":
            yield Finished(update)
        else:
            yield StepDone(step, _with_names(update, index))


def recommend(
    requirement: str,
    library: str | None = None,
    version: str | None = None,
    *,
    options: RecommendOptions | None = None,
    home: str | Path | None = None,
    libraries: Sequence[str] | None = None,
) -> Recommendation:
    """Decompose ``requirement`` into subtasks and recommend the APIs of ``library`` for each
    (without ``library``: of every library in scope, see :func:`stream_recommend`)."""
    events = stream_recommend(
        requirement, library, version, options=options, home=home, libraries=libraries
    )
    for event in events:
        if isinstance(event, Finished):
            return event.recommendation
    raise AssertionError("the agent ended without an answer")  # stream_recommend always finishes


def libraries_in_scope(
    library: str | None,
    version: str | None = None,
    libraries: Sequence[str] | None = None,
    home: str | Path | None = None,
) -> list[tuple[str, str | None]]:
    """``(library, version or None)`` of each library a request searches: ``library``;
    else ``libraries`` (``name`` or ``name@version``); else the indexed libraries of the
    project around the current folder; else ``DEFAULT_LIBRARY``."""
    from apipilot._project import project_libraries
    from apipilot.errors import ConfigError
    from apipilot.indexes.store import parse_ref

    if library is not None:
        return [(library, version)]
    if version is not None:
        raise ConfigError("a version needs a library: give both, or name@version in libraries")
    store = store_for(home)
    if libraries:
        refs = [parse_ref(library_input(ref.strip())) for ref in libraries if ref.strip()]
        return [(name, v or default_version(store, name)) for name, v in refs]
    project = project_libraries(home)
    built: list[tuple[str, str | None]] = [
        (name, v) for name, v in project.items() if v in store.versions(name)
    ]
    return built or [(DEFAULT_LIBRARY, None)]


def _stream_many(
    requirement: str,
    scope: list[tuple[str, str | None]],
    options: RecommendOptions,
    home: str | Path | None,
) -> Iterator[RecommendEvent]:
    from apipilot.agents.multi import open_routed, stream_recommend_many

    store = store_for(home)
    index = open_routed(store, scope)
    yield Started(requirement, index.meta.library, index.meta.version)
    for step, update in stream_recommend_many(requirement, index, store, **options.agent_options()):
        if step == "result":
            yield Finished(update)
        else:
            yield StepDone(step, _with_names(update, index))


def _with_names(update: Mapping[str, Any], index: ApiIndex) -> dict[str, Any]:
    """``update`` with each retrieved candidate's (and each ranked API's) name and qualified
    name beside its id, so a stream can show the APIs before the answer is complete."""
    if "candidates" not in update and "ranking" not in update:
        return dict(update)

    def named(found: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for candidate in found:
            record = index.get(candidate["id"])
            names = {"name": record.name, "qualified_name": record.qualified_name} if record else {}
            out.append(dict(candidate) | names)
        return out

    shaped = dict(update)
    if "candidates" in update:
        shaped["candidates"] = {key: named(found) for key, found in update["candidates"].items()}
    if "ranking" in update:
        shaped["ranking"] = named(update["ranking"])
    return shaped
