"""apipilot's Python API: which APIs of a library to use for what you want to do.

This package is the one front door: the CLI, the web app and the MCP server use only what it
exports. Answers are frozen dataclasses whose ``to_dict()`` gives plain data that
``json.dumps`` accepts. Importing it loads no model and no index::

    import apipilot

    apipilot.list_libraries()
    apipilot.search("torchdata", "shuffle the elements of a datapipe", k=5).to_dict()
    apipilot.get_api("torchdata", "Shuffler")
    options = apipilot.RecommendOptions(k=5, llm="none")
    apipilot.recommend("read CSV files from a folder, shuffle and batch the rows", options=options)
    for event in apipilot.stream_recommend("shuffle and batch", options=options):
        print(event.to_dict())
    apipilot.build_index("my_api.jsonl", library="mylib", version="1.2")

``home`` is the index directory (default ``$APIPILOT_HOME``, else the user cache). Errors are
subclasses of :class:`ApipilotError` (the tree is drawn in :mod:`apipilot.errors`) with a
message that names the bad value and what is valid; inputs longer than their caps
(``LIMITS``) raise :class:`InputTooLong`.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from apipilot._build_many import build_many
    from apipilot._indexes import (
        VECTOR_INDEX_KINDS,
        Corpus,
        PhaseProgress,
        Progress,
        add_source,
        build_index,
        build_missing_defaults,
        check_embedder,
        collect_garbage,
        corpora,
        index_targets,
        list_indexes,
        list_libraries,
        open_store,
        refresh_index,
        remove_index,
        verify_index,
    )
    from apipilot._limits import LIMITS
    from apipilot._lm import (
        LM_ENV_VAR,
        LM_KINDS,
        NO_LM,
        LMKind,
        check_lm_spec,
        load_lm,
    )
    from apipilot._lm import app_choices as lm_choices
    from apipilot._lm import join_spec as join_lm_spec
    from apipilot._lm import runs_in_process as lm_runs_in_process
    from apipilot._lm import spec_help as lm_spec_help
    from apipilot._lm import split_spec as split_lm_spec
    from apipilot._project import (
        DependencyResult,
        ProjectSummary,
        index_project,
        project_libraries,
    )
    from apipilot._recommend import RecommendOptions, recommend, stream_recommend
    from apipilot._results import (
        ApiHit,
        ApiInfo,
        BuildSummary,
        Finished,
        HitEvidence,
        IndexInfo,
        LibraryInfo,
        LibraryVersion,
        Recommendation,
        RecommendEvent,
        SearchResult,
        Started,
        StepDone,
        Subtask,
    )
    from apipilot._search import SEARCH_MODES, get_api, search
    from apipilot._stores import index_home
    from apipilot.errors import (
        AgentError,
        ApiNotFound,
        ApipilotError,
        ConfigError,
        IndexNotFound,
        IndexStoreError,
        InputTooLong,
        LMSpecError,
        ModelError,
        SourceError,
        SourceNotAllowed,
    )
    from apipilot.indexes.corpora import DEFAULT_LIBRARY, DEFAULT_VERSION
    from apipilot.indexes.policy import SourcePolicy
    from apipilot.indexes.store import parse_ref
    from apipilot.retrieval.embedder import DEFAULT_EMBEDDER

    __version__: str

# Each public name and where it lives. The names are imported on first use (PEP 562), so a
# command that only searches does not import the index builder, the agent or the project
# scanner: ~50 ms of a cold ``apipilot search`` (docs/benchmarks.md, startup).
_EXPORTS: dict[str, tuple[str, str]] = {
    "add_source": ("apipilot._indexes", "add_source"),
    "AgentError": ("apipilot.errors", "AgentError"),
    "ApiHit": ("apipilot._results", "ApiHit"),
    "ApiInfo": ("apipilot._results", "ApiInfo"),
    "ApiNotFound": ("apipilot.errors", "ApiNotFound"),
    "ApipilotError": ("apipilot.errors", "ApipilotError"),
    "build_index": ("apipilot._indexes", "build_index"),
    "build_many": ("apipilot._build_many", "build_many"),
    "build_missing_defaults": ("apipilot._indexes", "build_missing_defaults"),
    "BuildSummary": ("apipilot._results", "BuildSummary"),
    "check_embedder": ("apipilot._indexes", "check_embedder"),
    "check_lm_spec": ("apipilot._lm", "check_lm_spec"),
    "collect_garbage": ("apipilot._indexes", "collect_garbage"),
    "ConfigError": ("apipilot.errors", "ConfigError"),
    "corpora": ("apipilot._indexes", "corpora"),
    "Corpus": ("apipilot._indexes", "Corpus"),
    "DEFAULT_EMBEDDER": ("apipilot.retrieval.embedder", "DEFAULT_EMBEDDER"),
    "DEFAULT_LIBRARY": ("apipilot.indexes.corpora", "DEFAULT_LIBRARY"),
    "DEFAULT_VERSION": ("apipilot.indexes.corpora", "DEFAULT_VERSION"),
    "DependencyResult": ("apipilot._project", "DependencyResult"),
    "Finished": ("apipilot._results", "Finished"),
    "get_api": ("apipilot._search", "get_api"),
    "HitEvidence": ("apipilot._results", "HitEvidence"),
    "index_home": ("apipilot._stores", "index_home"),
    "index_project": ("apipilot._project", "index_project"),
    "index_targets": ("apipilot._indexes", "index_targets"),
    "IndexInfo": ("apipilot._results", "IndexInfo"),
    "IndexNotFound": ("apipilot.errors", "IndexNotFound"),
    "IndexStoreError": ("apipilot.errors", "IndexStoreError"),
    "InputTooLong": ("apipilot.errors", "InputTooLong"),
    "join_lm_spec": ("apipilot._lm", "join_spec"),
    "LibraryInfo": ("apipilot._results", "LibraryInfo"),
    "LibraryVersion": ("apipilot._results", "LibraryVersion"),
    "LIMITS": ("apipilot._limits", "LIMITS"),
    "list_indexes": ("apipilot._indexes", "list_indexes"),
    "list_libraries": ("apipilot._indexes", "list_libraries"),
    "lm_choices": ("apipilot._lm", "app_choices"),
    "LM_ENV_VAR": ("apipilot._lm", "LM_ENV_VAR"),
    "LM_KINDS": ("apipilot._lm", "LM_KINDS"),
    "lm_runs_in_process": ("apipilot._lm", "runs_in_process"),
    "lm_spec_help": ("apipilot._lm", "spec_help"),
    "LMKind": ("apipilot._lm", "LMKind"),
    "LMSpecError": ("apipilot.errors", "LMSpecError"),
    "load_lm": ("apipilot._lm", "load_lm"),
    "ModelError": ("apipilot.errors", "ModelError"),
    "NO_LM": ("apipilot._lm", "NO_LM"),
    "open_store": ("apipilot._indexes", "open_store"),
    "parse_ref": ("apipilot.indexes.store", "parse_ref"),
    "PhaseProgress": ("apipilot._indexes", "PhaseProgress"),
    "Progress": ("apipilot._indexes", "Progress"),
    "project_libraries": ("apipilot._project", "project_libraries"),
    "ProjectSummary": ("apipilot._project", "ProjectSummary"),
    "recommend": ("apipilot._recommend", "recommend"),
    "Recommendation": ("apipilot._results", "Recommendation"),
    "RecommendEvent": ("apipilot._results", "RecommendEvent"),
    "RecommendOptions": ("apipilot._recommend", "RecommendOptions"),
    "refresh_index": ("apipilot._indexes", "refresh_index"),
    "remove_index": ("apipilot._indexes", "remove_index"),
    "search": ("apipilot._search", "search"),
    "SEARCH_MODES": ("apipilot._search", "SEARCH_MODES"),
    "SearchResult": ("apipilot._results", "SearchResult"),
    "SourceError": ("apipilot.errors", "SourceError"),
    "SourceNotAllowed": ("apipilot.errors", "SourceNotAllowed"),
    "SourcePolicy": ("apipilot.indexes.policy", "SourcePolicy"),
    "split_lm_spec": ("apipilot._lm", "split_spec"),
    "Started": ("apipilot._results", "Started"),
    "StepDone": ("apipilot._results", "StepDone"),
    "stream_recommend": ("apipilot._recommend", "stream_recommend"),
    "Subtask": ("apipilot._results", "Subtask"),
    "VECTOR_INDEX_KINDS": ("apipilot._indexes", "VECTOR_INDEX_KINDS"),
    "verify_index": ("apipilot._indexes", "verify_index"),
}


def __getattr__(name: str) -> _typing.Any:
    # __version__ is read from the installed metadata on first use: ~30 ms a start
    if name == "__version__":
        from apipilot.indexes.store import apipilot_version

        return apipilot_version()
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'apipilot' has no attribute {name!r}")
    value = getattr(_importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DEFAULT_EMBEDDER",
    "DEFAULT_LIBRARY",
    "DEFAULT_VERSION",
    "LIMITS",
    "LM_ENV_VAR",
    "LM_KINDS",
    "NO_LM",
    "SEARCH_MODES",
    "VECTOR_INDEX_KINDS",
    "AgentError",
    "ApiHit",
    "ApiInfo",
    "ApiNotFound",
    "ApipilotError",
    "BuildSummary",
    "ConfigError",
    "Corpus",
    "DependencyResult",
    "Finished",
    "HitEvidence",
    "IndexInfo",
    "IndexNotFound",
    "IndexStoreError",
    "InputTooLong",
    "LMKind",
    "LMSpecError",
    "LibraryInfo",
    "LibraryVersion",
    "ModelError",
    "PhaseProgress",
    "Progress",
    "ProjectSummary",
    "RecommendEvent",
    "RecommendOptions",
    "Recommendation",
    "SearchResult",
    "SourceError",
    "SourceNotAllowed",
    "SourcePolicy",
    "Started",
    "StepDone",
    "Subtask",
    "__version__",
    "add_source",
    "build_index",
    "build_many",
    "build_missing_defaults",
    "check_embedder",
    "check_lm_spec",
    "collect_garbage",
    "corpora",
    "get_api",
    "index_home",
    "index_project",
    "index_targets",
    "join_lm_spec",
    "list_indexes",
    "list_libraries",
    "lm_choices",
    "lm_runs_in_process",
    "lm_spec_help",
    "load_lm",
    "open_store",
    "parse_ref",
    "project_libraries",
    "recommend",
    "refresh_index",
    "remove_index",
    "search",
    "split_lm_spec",
    "stream_recommend",
    "verify_index",
]
