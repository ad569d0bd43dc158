"""``import apipilot``: the exported names, plain-data answers, and no model loaded at import."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import apipilot
from tests.mcp_helpers import build_demo_home

EXPORTED = {
    # errors (the tree is drawn in apipilot.errors)
    "AgentError",
    "ApiNotFound",
    "ApipilotError",
    "ConfigError",
    "IndexNotFound",
    "IndexStoreError",
    "InputTooLong",
    "LMSpecError",
    "ModelError",
    "SourceError",
    "SourceNotAllowed",
    "SourcePolicy",
    # typed answers, each with to_dict()
    "ApiHit",
    "ApiInfo",
    "BuildSummary",
    "DependencyResult",
    "HitEvidence",
    "IndexInfo",
    "LibraryInfo",
    "LibraryVersion",
    "ProjectSummary",
    "Recommendation",
    "SearchResult",
    "Subtask",
    # streamed recommendation events
    "Finished",
    "RecommendEvent",
    "Started",
    "StepDone",
    # options, defaults and limits
    "Corpus",
    "DEFAULT_EMBEDDER",
    "DEFAULT_LIBRARY",
    "DEFAULT_VERSION",
    "LIMITS",
    "LMKind",
    "LM_ENV_VAR",
    "LM_KINDS",
    "NO_LM",
    "PhaseProgress",
    "Progress",
    "RecommendOptions",
    "SEARCH_MODES",
    "VECTOR_INDEX_KINDS",
    "__version__",
    # functions
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
}


def test_exported_members() -> None:
    assert set(apipilot.__all__) == EXPORTED
    assert len(apipilot.__all__) == len(EXPORTED)
    for name in apipilot.__all__:
        assert hasattr(apipilot, name), name
    public = {
        name
        for name, value in vars(apipilot).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }  # subpackages (apipilot.agents, ...) become attributes once imported
    assert public - EXPORTED <= {"annotations"}  # the __future__ import


def test_import_loads_no_model_or_heavy_library() -> None:
    code = (
        "import sys, apipilot; "
        "heavy = {'torch', 'sentence_transformers', 'transformers', 'langgraph', 'faiss', "
        "'gradio'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return build_demo_home(tmp_path / "home")


def test_list_search_get(home: Path) -> None:
    libraries = [lib.to_dict() for lib in apipilot.list_libraries(home)]
    assert [(lib["library"], lib["latest"]) for lib in libraries] == [("demo", "1.0")]
    assert libraries[0]["versions"][0]["records"] == 8

    found = apipilot.search("demo", "shuffle the elements", k=3, home=home).to_dict()
    assert (found["library"], found["version"]) == ("demo", "1.0")
    assert [hit["rank"] for hit in found["results"]] == [1, 2, 3]
    assert found["results"][0]["name"] == "shuffle"
    assert apipilot.search("demo", "batch", mode="bm25", home=home).results[0].name == "batch"

    api = apipilot.get_api("demo", "BATCH", home=home).to_dict()
    assert api["api"]["qualified_name"] == "demo.batch" and api["version"] == "1.0"
    json.dumps([libraries, found, api])


def test_errors_name_what_is_valid(home: Path) -> None:
    with pytest.raises(apipilot.IndexNotFound, match="known libraries: demo"):
        apipilot.search("nosuchlib", "x", home=home)
    with pytest.raises(apipilot.ApiNotFound, match="did you mean shuffle"):
        apipilot.get_api("demo", "shufle", home=home)
    with pytest.raises(apipilot.ConfigError, match="valid: fused, dense, bm25"):
        apipilot.search("demo", "x", mode="magic", home=home)
    with pytest.raises(apipilot.ConfigError, match="empty"):
        apipilot.search("demo", "  ", home=home)
    assert issubclass(apipilot.IndexNotFound, apipilot.ApipilotError)


def test_recommend_without_lm(home: Path) -> None:
    options = apipilot.RecommendOptions(k=3, llm="none")
    answer = apipilot.recommend(
        "list csv files, parse the rows and shuffle them", "demo", options=options, home=home
    ).to_dict()
    assert (answer["library"], answer["version"]) == ("demo", "1.0")
    assert len(answer["apis"]) == 3 and answer["subtasks"]
    json.dumps(answer)


def test_build_index(tmp_path: Path, demo_records) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in demo_records))
    home = tmp_path / "home"
    built = apipilot.build_index(
        str(docs), "mylib", "1.2", embedder="hashing:64", home=home
    ).to_dict()
    assert (built["library"], built["version"], built["records"]) == ("mylib", "1.2", 8)
    assert built["stats"]["added"] == 8
    json.dumps(built)
    again = apipilot.build_index(str(docs), "mylib", "1.2", embedder="hashing:64", home=home)
    assert again.to_dict()["stats"]["unchanged"] == 8
    assert apipilot.search("mylib", "shuffle", home=home).version == "1.2"
