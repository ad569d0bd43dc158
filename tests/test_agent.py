"""The agent graph with scripted fake LMs: every node, each fallback, and the answer's shape."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from apipilot.agents.code_check import check_code
from apipilot.agents.examples import Demonstration, ExampleBank
from apipilot.agents.lm.errors import LMUnavailable
from apipilot.agents.recommend import recommend, stream_recommend
from apipilot.agents.text import parse_numbered_list, split_clauses, strip_surface, valid_subtasks
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import HashingEmbedder
from apipilot.retrieval.errors import ConfigError
from tests.conftest import DEMO
from tests.fakes_lm import ScriptedLM

REQUIREMENT = "Read the CSV rows from files, shuffle the elements and group them into batches"
SKILLS_REPLY = " parse delimited rows, shuffle elements, group elements into batches"
DECOMPOSE_REPLY = (
    " Parse rows of CSV files\n2. Shuffle the elements\n3. Group elements into batches\n"
)


@pytest.fixture
def demo_store(store: IndexStore, demo_records, hashing) -> IndexStore:
    store.build(
        demo_records, library="demo", version="1.0", embedder=hashing, embedder_spec="hashing:64"
    )
    return store


def run(store: IndexStore, lm: object, **options):
    """The agent with every LM step on (the defaults leave decomposition to the clauses and
    reranking off: see ``test_defaults_use_no_lm_step``)."""
    options.setdefault("k", 5)
    options.setdefault("decomposer", "lm")
    options.setdefault("rerank", True)
    return recommend(REQUIREMENT, "demo", store=store, llm=lm, **options)


def test_json_shape_and_no_lm_path(demo_store) -> None:
    result = run(demo_store, "none", write_code=True)
    assert set(result) >= {
        "requirement",
        "library",
        "version",
        "subtasks",
        "apis",
        "examples",
        "code",
        "unknown_apis",
        "paths",
        "timings",
        "models",
    }
    assert result["paths"] == {
        "skills": "fallback",
        "decompose": "fallback",
        "rerank": "fallback",
        "code": "fallback",
    }
    assert set(result["apis"][0]) == {
        "id",
        "name",
        "qualified_name",
        "signature",
        "summary",
        "score",
        "source",
        "library",
        "version",
    }
    assert {(a["library"], a["version"]) for a in result["apis"]} == {
        (result["library"], result["version"])
    }
    names = [a["name"] for a in result["apis"]]
    assert {"parse_csv", "shuffle", "batch"} <= set(names)
    assert [s["text"] for s in result["subtasks"]] == split_clauses(REQUIREMENT)
    assert result["timings"]["total"] > 0 and "retrieve" in result["timings"]


def test_lm_paths_skills_decompose_rerank(demo_store) -> None:
    lm = ScriptedLM(in_order=[SKILLS_REPLY, DECOMPOSE_REPLY])
    result = run(demo_store, lm)
    assert result["paths"] == {"skills": "lm", "decompose": "lm", "rerank": "lm"}
    assert result["skills"] == SKILLS_REPLY.strip()
    assert [s["text"] for s in result["subtasks"]] == [
        "Parse rows of CSV files",
        "Shuffle the elements",
        "Group elements into batches",
    ]
    assert [s["apis"][0] for s in result["subtasks"]] == ["parse_csv", "shuffle", "batch"]
    score_calls = [c for c in lm.calls if c.method == "score"]
    assert score_calls, "the reranker asked the LM"
    for call in score_calls:  # the LM only ever sees records of the index
        for text in call.continuations:
            assert text.split(":")[0].strip() in {name for name, _ in DEMO}


def test_decompose_prompt_carries_skill_knn_examples(demo_store, hashing) -> None:
    bank = ExampleBank(
        [
            Demonstration(
                "a",
                "Open files, then list the files",
                "open files, list files",
                ("Open files", "List the files"),
                ("open_files", "list_files"),
            ),
            Demonstration(
                "b",
                "Shuffle rows, then batch them",
                "shuffle elements, group into batches",
                ("Shuffle rows", "Batch them"),
                ("shuffle", "batch"),
            ),
        ],
        hashing,
    )
    assert bank.nearest("shuffle the elements and group into batches", 1)[0].id == "b"
    lm = ScriptedLM(in_order=[SKILLS_REPLY, DECOMPOSE_REPLY])
    from apipilot.agents.recommend import _banks

    index = demo_store.open("demo")
    _banks[(index.meta.ref, index.meta.embedder)] = bank
    try:
        result = run(demo_store, lm)
    finally:
        _banks.clear()
    assert result["examples"][0]["requirement"] == "Shuffle rows, then batch them"
    decompose_prompt = lm.calls[1].prompt
    shot = "Requirement: Shuffle rows, then batch them\nSubtasks:\n1. Shuffle rows"
    assert shot in decompose_prompt
    assert decompose_prompt.endswith(f"Requirement: {REQUIREMENT}\nSubtasks:\n1.")


@pytest.mark.parametrize("reply", ["", "!!!", " Shuffle rows\n2. Batch them"])
def test_unusable_decomposition_falls_back(demo_store, reply: str) -> None:
    # the third reply echoes a demonstration, which a small LM often does
    bank = ExampleBank(
        [
            Demonstration(
                "b",
                "Shuffle rows, then batch them",
                "shuffle, batch",
                ("Shuffle rows", "Batch them"),
                ("shuffle", "batch"),
            )
        ],
        HashingEmbedder(64),
    )
    from apipilot.agents.recommend import _banks

    index = demo_store.open("demo")
    _banks[(index.meta.ref, index.meta.embedder)] = bank
    try:
        result = run(demo_store, ScriptedLM(in_order=[SKILLS_REPLY, reply]))
    finally:
        _banks.clear()
    assert result["paths"]["decompose"] == "fallback"
    assert [s["text"] for s in result["subtasks"]] == split_clauses(REQUIREMENT)
    assert any(n.startswith("decompose:") for n in result["notes"])


def test_unusable_skills_fall_back(demo_store) -> None:
    result = run(demo_store, ScriptedLM(in_order=["", DECOMPOSE_REPLY]))
    assert result["paths"]["skills"] == "fallback"
    assert result["skills"]


class FailingScorer(ScriptedLM):
    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        raise LMUnavailable("server down")


def test_rerank_falls_back_when_lm_fails(demo_store) -> None:
    result = run(demo_store, FailingScorer(in_order=[SKILLS_REPLY, DECOMPOSE_REPLY]))
    assert result["paths"]["rerank"] == "fallback"
    assert result["apis"]


def test_rerank_reorders_by_lm_preference(demo_store) -> None:
    script = [SKILLS_REPLY, " Shuffle the elements\n"]
    base = run(demo_store, ScriptedLM(in_order=script), rerank=False)
    assert base["paths"]["rerank"] == "skipped"
    index = demo_store.open("demo")
    retrieved = [c for c in base["apis"]]
    first, third = retrieved[0]["name"], retrieved[2]["name"]

    def text(name: str) -> str:
        return f" {name}: {index.find(name)[0].summary}"

    # the LM puts the third candidate first and the first last: fused, the third wins
    picky = ScriptedLM(in_order=script, scores={text(third): 5.0, text(first): -50.0})
    result = run(demo_store, picky)
    assert result["paths"]["rerank"] == "lm"
    assert base["subtasks"][0]["apis"][0] == first
    assert result["subtasks"][0]["apis"][0] == third


def _summary(store, name):
    return store.open("demo").find(name)[0].summary


def test_code_is_checked_against_the_index(demo_store) -> None:
    code = "from demo import shuffle, teleport\nx = shuffle([1, 2])\ny = teleport(x)\n"
    lm = ScriptedLM(in_order=[SKILLS_REPLY, DECOMPOSE_REPLY, code])
    result = run(demo_store, lm, write_code=True)
    assert result["paths"]["code"] == "lm"
    assert result["unknown_apis"] == ["teleport"]
    assert "teleport" not in [a["name"] for a in result["apis"]]


@pytest.mark.parametrize("code", ["def (:\n  ???", "import os\nimport os.path\nx = 1\n"])
def test_unusable_code_falls_back_to_skeleton(demo_store, code: str) -> None:
    lm = ScriptedLM(in_order=[SKILLS_REPLY, DECOMPOSE_REPLY, code])
    result = run(demo_store, lm, write_code=True)
    assert result["paths"]["code"] == "fallback"
    assert "demo.parse_csv(" in result["code"]


def test_every_recommended_api_is_in_the_index(demo_store) -> None:
    # an LM that names APIs of its own: they can only ever be ignored
    lm = ScriptedLM(default=" import magic\n2. use magic.teleport()\n3. call hyperspace()")
    result = run(demo_store, lm, k=8)
    index = demo_store.open("demo")
    assert result["apis"] and all(index.get(a["id"]) for a in result["apis"])
    for subtask in result["subtasks"]:
        assert all(index.find(name) for name in subtask["apis"])


def test_stream_reports_each_step_in_order(demo_store) -> None:
    steps = [
        step
        for step, _ in stream_recommend(
            REQUIREMENT, "demo", store=demo_store, llm="none", write_code=True
        )
    ]
    assert steps[:3] == ["skills", "examples", "decompose"]
    assert steps.count("retrieve") == len(split_clauses(REQUIREMENT)) + 1
    assert steps[-4:] == ["rerank", "answer", "code", "result"]


def test_bad_requests_are_config_errors(demo_store) -> None:
    with pytest.raises(ConfigError, match="empty"):
        recommend("   ", "demo", store=demo_store, llm="none")
    with pytest.raises(ConfigError, match="k must be"):
        recommend("x y", "demo", store=demo_store, llm="none", k=0)


def test_text_helpers() -> None:
    assert parse_numbered_list(" A b\n2. C d\n4. skipped") == ["A b", "C d"]
    assert parse_numbered_list("1. A b\n2) C d", first_number_given=False) == ["A b", "C d"]
    assert valid_subtasks(["shuffle rows"], "shuffle rows please", echoed=[]) == ["shuffle rows"]
    assert valid_subtasks(["fly to mars"], "shuffle rows", echoed=[]) is None
    assert valid_subtasks(["x"] * 7, "x", echoed=[]) is None
    looped = ["Load rows", "Batch rows", "load rows.", "Batch rows"]
    assert valid_subtasks(looped, "load rows, batch rows", echoed=[]) == ["Load rows", "Batch rows"]
    many = [f"sort column {n}" for n in range(9)]
    assert valid_subtasks(many[:8], "sort column", echoed=[]) == many[:8]
    assert valid_subtasks(many, "sort column", echoed=[]) is None
    shot = ["Shuffle rows", "Batch them"]
    needed = "Shuffle rows, then zip them"
    own = ["Shuffle rows", "Zip them"]  # one step of a shot is fair when the requirement needs it
    assert valid_subtasks(own, needed, shot) == own
    assert valid_subtasks(["Shuffle rows", "Batch them", "Zip them"], needed, shot) is None
    assert valid_subtasks(["Shuffle rows"], needed, shot) is None
    restated = ["Zip two pipes and map f", "Map a function over pairs"]
    assert valid_subtasks(restated, "Zip two pipes and map f.", echoed=[]) is None
    assert strip_surface('Read "a.csv" from data/in.csv 32 times') == "Read from file times"


def test_code_check_cases(demo_store) -> None:
    index = demo_store.open("demo")
    ok = check_code("import demo as d\nd.shuffle([1])\nd.warp()\n", index, "demo")
    assert ok.parses and ok.known == ["d.shuffle"] and ok.unknown == ["d.warp"]
    bad = check_code("def (", index, "demo")
    assert not bad.parses and "line 1" in bad.error


def test_deployment_graph_runs_with_a_json_context(demo_store, monkeypatch) -> None:
    from apipilot.agents.deployment import DeploymentContext, graph

    monkeypatch.setenv("APIPILOT_HOME", str(demo_store.home))
    out = graph.invoke(
        {"requirement": REQUIREMENT}, context=DeploymentContext(library="demo", llm="none", k=3)
    )
    assert out["answer"]["library"] == "demo" and len(out["answer"]["apis"]) == 3


def test_defaults_use_no_lm_step(demo_store, monkeypatch: pytest.MonkeyPatch) -> None:
    from apipilot.agents.recommend import resolve_lm

    monkeypatch.delenv("APIPILOT_LLM", raising=False)
    assert resolve_lm(None) is None  # the measured default: no LM
    lm = ScriptedLM(in_order=[SKILLS_REPLY])
    result = recommend(REQUIREMENT, "demo", store=demo_store, llm=lm, k=5)
    assert result["paths"] == {"skills": "lm", "decompose": "skipped", "rerank": "skipped"}
    assert [s["text"] for s in result["subtasks"]] == split_clauses(REQUIREMENT)
    # each clause's best two APIs come first (coverage), every name once
    names = [a["name"] for a in result["apis"]]
    assert len(names) == len(set(names)) and {"parse_csv", "shuffle", "batch"} <= set(names)


def test_answers_are_cached_per_requirement_index_and_options(demo_store) -> None:
    first = recommend(REQUIREMENT, "demo", store=demo_store, llm="none", k=4)
    again = recommend(REQUIREMENT, "demo", store=demo_store, llm="none", k=4)
    other = recommend(REQUIREMENT, "demo", store=demo_store, llm="none", k=3)
    assert "cache" not in first["paths"] and again["paths"]["cache"] == "hit"
    assert again["apis"] == first["apis"] and "cache" not in other["paths"]
    assert len(other["apis"]) == 3
