"""The public API as the one front door: what ui/ may import, the error tree, typed answers,
the stream of recommend events, the one table of LM kinds and the deployed graph."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import apipilot
import apipilot.errors
from tests.mcp_helpers import build_demo_home

UI = Path(__file__).resolve().parent.parent / "ui"
LOWER_LAYERS = ("apipilot.agents", "apipilot.indexes", "apipilot.retrieval")
REQUIREMENT = "list csv files, parse the rows and shuffle them"


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth (inside functions and TYPE_CHECKING too)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            module = node.module or ""
            found.append(module)
            found.extend(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_ui_imports_only_the_public_api() -> None:
    files = sorted(UI.glob("*.py"))
    assert len(files) > 10
    bypass = {
        f"{path.name}: {module}"
        for path in files
        for module in imported_modules(path)
        if module.startswith(LOWER_LAYERS)
        or module.split(".")[0] in ("agents", "indexes", "retrieval")
        or module == "apipilot._api"
    }
    assert bypass == set()


def test_the_ast_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from apipilot.agents.recommend import NO_LM\n")
    assert "apipilot.agents.recommend" in imported_modules(sample)


# errors --------------------------------------------------------------------------------------


def test_one_error_tree_drawn_in_its_docstring() -> None:
    classes = {
        name: value
        for name, value in vars(apipilot.errors).items()
        if inspect.isclass(value) and issubclass(value, Exception)
    }
    assert len(classes) >= 15
    doc = apipilot.errors.__doc__ or ""
    for name, cls in classes.items():
        assert issubclass(cls, apipilot.ApipilotError)
        assert name in doc, f"{name} is missing from the drawn tree"


def test_old_error_modules_re_export_the_same_classes() -> None:
    from apipilot.agents.errors import AgentError
    from apipilot.agents.lm.errors import LMSpecError, PromptTooLong
    from apipilot.indexes.errors import IndexNotFound, SourceError
    from apipilot.retrieval.errors import ApipilotError, ConfigError, ModelError

    assert ApipilotError is apipilot.ApipilotError and ConfigError is apipilot.ConfigError
    assert ModelError is apipilot.ModelError and IndexNotFound is apipilot.IndexNotFound
    assert SourceError is apipilot.SourceError and AgentError is apipilot.AgentError
    assert LMSpecError is apipilot.LMSpecError and PromptTooLong is apipilot.errors.PromptTooLong
    assert issubclass(apipilot.InputTooLong, ValueError)  # `except ValueError` still catches it
    assert issubclass(apipilot.ApiNotFound, LookupError)


def test_echo_cuts_long_values() -> None:
    assert apipilot.errors.echo("short") == "'short'"
    long = apipilot.errors.echo("x" * 200_000)
    assert len(long) < 260 and "200000 characters" in long


# typed answers and the recommend stream ------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_home(tmp_path_factory.mktemp("front") / "home")


def test_answers_are_frozen_dataclasses_with_plain_dicts(home: Path) -> None:
    found = apipilot.search("demo", "shuffle", k=2, with_doc=True, home=home)
    assert isinstance(found, apipilot.SearchResult) and found.results[0].name == "shuffle"
    with pytest.raises(AttributeError):
        found.library = "other"  # type: ignore[misc]
    answers: list[Any] = [
        found,
        apipilot.get_api("demo", "shuffle", home=home),
        *apipilot.list_libraries(home),
        *apipilot.list_indexes(home),
    ]
    for answer in answers:
        data = answer.to_dict()
        assert json.loads(json.dumps(data)) == data  # plain JSON, lists not tuples
    assert found.to_dict()["results"][0]["rank"] == 1


def test_stream_recommend_yields_typed_events(home: Path) -> None:
    options = apipilot.RecommendOptions(k=3, llm="none")
    events = list(apipilot.stream_recommend(REQUIREMENT, "demo", options=options, home=home))
    first, *steps, last = events
    assert isinstance(first, apipilot.Started) and first.ref == "demo@1.0"
    assert steps and all(isinstance(e, apipilot.StepDone) for e in steps)
    assert isinstance(last, apipilot.Finished)
    answer = last.recommendation
    assert len(answer.apis) == 3 and [a.rank for a in answer.apis] == [1, 2, 3]
    updates = [e.update for e in steps if isinstance(e, apipilot.StepDone)]
    candidates = next(u["candidates"] for u in updates if "candidates" in u)
    assert all(c["name"] and c["qualified_name"] for found in candidates.values() for c in found)
    for event in events:
        json.dumps(event.to_dict())
    whole = apipilot.recommend(REQUIREMENT, "demo", options=options, home=home)
    assert [a.id for a in whole.apis] == [a.id for a in answer.apis]


def test_recommend_options_are_checked_before_any_work(home: Path) -> None:
    with pytest.raises(apipilot.LMSpecError, match="accepted forms"):
        next(apipilot.stream_recommend("x", "demo", options=apipilot.RecommendOptions(llm="magic")))
    with pytest.raises(apipilot.ConfigError, match="k must be between 1 and 100"):
        apipilot.recommend("x", "demo", options=apipilot.RecommendOptions(k=0), home=home)


def test_the_agent_dict_is_the_recommendation_dict(home: Path) -> None:
    from apipilot.agents.recommend import recommend as run_agent

    options = apipilot.RecommendOptions(k=3, llm="none")
    typed = apipilot.recommend(REQUIREMENT, "demo", options=options, home=home).to_dict()
    plain = run_agent(REQUIREMENT, "demo", k=3, llm="none", store=apipilot.open_store(home))
    typed.pop("timings"), plain.pop("timings")
    assert typed == plain


# the one table of LM kinds -------------------------------------------------------------------


def test_every_lm_kind_has_a_loader_help_and_a_choice() -> None:
    from apipilot.agents.lm import spec

    kinds = [kind.name for kind in apipilot.LM_KINDS]
    assert set(spec._LOADERS) == {kind.name for kind in apipilot.LM_KINDS if kind.loads}
    help_text = apipilot.lm_spec_help()
    assert all(kind.form in help_text for kind in apipilot.LM_KINDS)
    assert [value for _, value in apipilot.lm_choices()] == kinds
    for kind in apipilot.LM_KINDS:
        spec_text = apipilot.join_lm_spec(kind.name, "/m/x.gguf" if kind.target else "")
        if kind.target == "url":
            spec_text = apipilot.join_lm_spec(kind.name, "http://127.0.0.1:1/v1#m")
        assert apipilot.split_lm_spec(spec_text)[0] == kind.name
        assert apipilot.check_lm_spec(spec_text).split(":")[0] == kind.name


def test_a_new_kind_in_the_table_reaches_help_and_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from apipilot.agents.lm import kinds

    extra = kinds.LMKind("llamafile", "a llamafile", "llamafile:FILE", "llamafile:/x", "path")
    monkeypatch.setattr(kinds, "LM_KINDS", (*kinds.LM_KINDS, extra))
    monkeypatch.setattr(kinds, "_BY_NAME", {k.name: k for k in kinds.LM_KINDS})
    assert "llamafile:FILE" in kinds.spec_help()
    assert ("a llamafile (llamafile:)", "llamafile") in kinds.app_choices()
    assert kinds.split_spec("llamafile:/m") == ("llamafile", "/m")


def test_settings_and_the_mcp_lock_use_the_table() -> None:
    from apipilot.ui.settings import Settings
    from apipilot.ui.web_settings import LM_CHOICES

    assert apipilot.lm_choices() == LM_CHOICES
    assert Settings(llm=" None ").validated().llm == "none"
    assert not apipilot.lm_runs_in_process("openai:http://h/v1")
    assert apipilot.lm_runs_in_process("gguf:/m/x.gguf")
    assert not apipilot.lm_runs_in_process("")  # the agent's default: no LM (agents.defaults)


# the deployed graph --------------------------------------------------------------------------


def test_langgraph_json_serves_the_real_graph() -> None:
    root = Path(__file__).resolve().parent.parent
    config = json.loads((root / "langgraph.json").read_text())
    path, _, name = config["graphs"]["apipilot"].partition(":")
    assert (root / path).is_file() and name == "graph"
    from apipilot.agents.deployment import DeploymentContext, graph

    nodes = set(graph.get_graph().nodes)
    steps = {"skills", "examples", "decompose", "retrieve", "rerank", "answer", "code"}
    assert steps <= nodes, nodes
    assert graph.builder.context_schema is DeploymentContext
