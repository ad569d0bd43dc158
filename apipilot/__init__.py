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

import typing as _typing

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

if _typing.TYPE_CHECKING:
    __version__: str


def __getattr__(name: str) -> str:
    # read from the installed metadata on first use: importlib.metadata costs ~30 ms a start
    if name == "__version__":
        from apipilot.indexes.store import apipilot_version

        return apipilot_version()
    raise AttributeError(f"module 'apipilot' has no attribute {name!r}")


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
