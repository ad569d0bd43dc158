"""The agent's merge of subtask lists and its documentation evidence (no models)."""

from __future__ import annotations

from dataclasses import replace

from apipilot.agents.evidence import (
    CompanionGraph,
    demonstration_votes,
    see_also_names,
    usage_groups,
)
from apipilot.agents.merge import MergeWeights, coverage_head, merge_rankings
from apipilot.agents.text import names_work, split_clauses
from apipilot.indexes.record import ApiRecord


def record(name: str, qualified: str = "", kind: str = "function", **extra: object) -> ApiRecord:
    return ApiRecord(
        id=name,
        library="lib",
        version="1",
        name=name,
        qualified_name=qualified or name,
        kind=kind,
        **extra,  # type: ignore[arg-type]
    )


def test_each_subtask_keeps_its_best_candidate() -> None:
    weights = MergeWeights(requirement=3.0, rrf_k=60, depth=20, cover=1)
    whole = ["a", "b", "c", "d"]
    merged = merge_rankings([["x", "a"], ["y", "b"]], whole, weights)
    assert [i for i, _ in merged][:2] == ["x", "y"]  # coverage before the strong whole list
    assert [i for i, _ in merged][2] == "a"


def test_the_covered_head_goes_depth_by_depth_surest_subtask_first() -> None:
    weights = MergeWeights(requirement=1.0, rrf_k=60, depth=20, cover=2)
    lists = [["x1", "x2"], ["y1", "y2"], ["z1"]]
    confidence = [{"x1": 0.01, "x2": 0.5}, {"y1": 0.04, "y2": 0.02}, {"z1": 0.03}]
    merged = [i for i, _ in merge_rankings(lists, [], weights, confidence=confidence)]
    assert merged == ["y1", "z1", "x1", "x2", "y2"]  # every first before any second
    in_order = replace(weights, confident_first=False)
    merged = [i for i, _ in merge_rankings(lists, [], in_order, confidence=confidence)]
    assert merged == ["x1", "y1", "z1", "x2", "y2"]
    assert coverage_head(lists, 1) == ["x1", "y1", "z1"]  # no confidence: subtask order


def test_without_cover_votes_decide() -> None:
    weights = MergeWeights(requirement=1.0, rrf_k=1, depth=20, cover=0)
    merged = [i for i, _ in merge_rankings([["a", "b"], ["b", "c"]], ["b"], weights)]
    assert merged[0] == "b"  # named by both subtasks and the whole requirement


def test_one_clause_keeps_the_requirement_order() -> None:
    weights = MergeWeights(cover=1)
    merged = [i for i, _ in merge_rankings([["a", "z"]], ["a", "z"], weights)]
    assert merged == ["a", "z"]  # a requirement that was not split: its one clause is itself


def test_names_are_listed_once_and_evidence_adds() -> None:
    names = {"a1": "a", "a2": "a", "b": "b"}
    weights = MergeWeights(cover=0)
    merged = merge_rankings(
        [["a1", "a2"], ["a2", "b"]], ["a1"], weights, evidence={"b": 1.0}, name_of=names.__getitem__
    )
    assert [i for i, _ in merged] == ["b", "a1"]


def test_companions_from_examples_links_and_see_also() -> None:
    records = [
        record("FileOpener", examples=("dp = FileLister('.'); dp = FileOpener(dp)",)),
        record("FileLister"),
        record("CSVParser", doc="Parse.\n\nSee Also\n--------\nlib.FileOpener : open files\n"),
        record("Guide", kind="guide", links=("CSVParser", "Batcher")),
        record("Batcher"),
    ]
    groups = usage_groups(records)
    assert ["FileLister", "FileOpener"] in [sorted(g) for g in groups]
    assert ["CSVParser", "FileOpener"] in [sorted(g) for g in groups]
    assert ["Batcher", "CSVParser"] in [sorted(g) for g in groups]
    graph = CompanionGraph.from_groups(groups)
    lifted = graph.lift([("FileLister", 1.0)], top=1)
    assert lifted == {"FileOpener": 1.0}


def test_class_and_its_methods_are_companions() -> None:
    records = [
        record("Frame", "lib.Frame", kind="class"),
        record("sort", "lib.Frame.sort", "method"),
    ]
    graph = CompanionGraph.from_groups(usage_groups(records))
    assert graph.lift([("sort", 0.5)], top=1) == {"Frame": 0.5}


def test_see_also_and_demonstration_votes() -> None:
    doc = "Text.\n\nSee Also\n--------\nnumpy.sort : Sort.\nargsort, lexsort\n\nNotes\n-----\n"
    assert see_also_names(doc)[:2] == ["sort", "argsort"]
    assert demonstration_votes([["a", "b"], ["b", "c"]]) == {"a": 1.0, "b": 1.0, "c": 0.5}


def test_clause_splitter_keeps_the_requirements_words() -> None:
    steps = "read CSV files from a folder, parse the rows, keep rows above 10, and batch them"
    assert split_clauses(steps) == [
        "read CSV files from a folder",
        "parse the rows",
        "keep rows above 10",
        "batch them",
    ]
    # a comma before a non-operation stays inside its step; markers are not steps
    text = "According to merge_fn, we zip two pipes. Finally, we sort the result, then cycle it"
    assert split_clauses(text) == [
        "According to merge_fn, we zip two pipes",
        "we sort the result",
        "cycle it",
    ]
    assert split_clauses("Given the weight, how to sample from two pipes?") == [
        "Given the weight, how to sample from two pipes"
    ]


def test_a_clause_that_names_nothing_to_do_is_not_a_subtask() -> None:
    text = "How to check if any value is NaN in a DataFrame? Return the result. How would I?"
    assert split_clauses(text) == ["How to check if any value is NaN in a DataFrame"]
    assert not names_work("Return the final result") and names_work("return the column means")
    # when no clause names anything, the requirement stays the one subtask
    assert split_clauses("Return the result.") == ["Return the result."]
    assert split_clauses(text, keep_requests=True, limit=2) == [
        "How to check if any value is NaN in a DataFrame",
        "Return the result",
    ]
