"""The evaluation harness, reports and the ``apipilot eval`` command, with fake methods."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apipilot.evaluation import methods
from apipilot.evaluation.data import EvalTask
from apipilot.evaluation.harness import run_eval, task_metrics
from apipilot.evaluation.methods import Env, Ranking, get_method, method_names, register_method
from apipilot.evaluation.report import (
    RunReport,
    baseline_gaps,
    load_report,
    markdown,
    merge_reports,
    parse_rate_table,
    realistic_table,
    write_report,
)
from apipilot.evaluation.splits import split_of
from apipilot.evaluation.suites import Suite, coarse_suite, fine_suite, select_suites, with_split
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.errors import ConfigError
from apipilot.ui.cli import app


class Oracle:
    """Ranks the gold names first: every metric but precision is 1."""

    name = "oracle"
    description = "gold first (test)"
    uses_lm = True

    def supports(self, suite: Suite) -> bool:
        return True

    def rank(self, suite: Suite, tasks: Sequence[EvalTask], env: Env) -> list[Ranking]:
        # every third task "falls back" in decompose, so the parse rate is known
        return [
            Ranking(
                [*((g,) for g in t.gold), ("noise",)],
                {"decompose": 0.5, "total": 1.0},
                {"decompose": "fallback" if i % 3 == 0 else "lm", "skills": "lm"},
            )
            for i, t in enumerate(tasks)
        ]


@pytest.fixture
def oracle() -> Iterator[None]:
    register_method("oracle", Oracle)
    yield
    methods._REGISTRY.pop("oracle")


def test_the_registry_holds_every_method() -> None:
    assert {"bm25", "bm25-plain", "dense", "fused", "agent", "agent-nolm", "apiretriever"} <= set(
        method_names()
    )
    with pytest.raises(ConfigError):
        get_method("nope")
    assert not get_method("apiretriever").supports(coarse_suite("torchdata"))
    assert get_method("agent").uses_lm and not get_method("agent-nolm").uses_lm


def test_run_eval_scores_and_limits(tmp_path: Path) -> None:
    env = Env(IndexStore(tmp_path))
    suites = [fine_suite("torchdata"), coarse_suite("monkey")]
    cells = run_eval(suites, [Oracle()], env, lm_limit=4)
    assert [c.tasks for c in cells] == [4, 4]
    assert [c.suite_tasks for c in cells] == [49, 30]
    for cell in cells:
        assert cell.metrics["R@10"] == 1.0 and cell.metrics["MRR"] == 1.0
        assert cell.latency["decompose"] == {"p50": 0.5, "p95": 0.5}
    assert run_eval(suites, [Oracle()], env, limit=2, lm_limit=None)[0].tasks == 2


def test_parse_rates_are_reported_per_method_and_suite_kind(tmp_path: Path) -> None:
    env = Env(IndexStore(tmp_path))
    cells = run_eval([coarse_suite("monkey"), coarse_suite("numpy")], [Oracle()], env)
    assert all(c.uses_lm and c.paths["decompose"] == {"fallback": 4, "lm": 6} for c in cells)
    table = parse_rate_table(cells)
    assert "| oracle | coarse | 100% (20/20) | 60% (12/20) |" in table
    assert "parsed and used without fallback" in markdown(RunReport("x", "now", 1.0, {}, cells))
    assert parse_rate_table([replace(c, uses_lm=False) for c in cells]) == ""


def test_a_merged_report_says_when_its_runs_started(tmp_path: Path) -> None:
    cells = run_eval([fine_suite("beatnum")], [Oracle()], Env(IndexStore(tmp_path)), lm_limit=3)
    first = RunReport("eval -m a", "2026-11-23 16:11 UTC", 60.0, {}, cells)
    second = RunReport("eval -m b", "2026-11-30 09:07 UTC", 30.0, {}, cells)
    assert "on 2026-11-23 16:11 UTC in 1.0 min" in markdown(first)
    merged = merge_reports(
        merge_reports(first, second), replace(second, started="2026-11-30 10:00 UTC")
    )
    header = markdown(merged)
    assert "from 2026-11-23 16:11 UTC to 2026-11-30 10:00 UTC, 2.0 min of running" in header
    write_report(merged, tmp_path / "out")  # the newest start survives a read back
    assert load_report(tmp_path / "out" / "latest.json").last_started == "2026-11-30 10:00 UTC"


def test_reports_are_written(tmp_path: Path) -> None:
    cells = run_eval([fine_suite("beatnum")], [Oracle()], Env(IndexStore(tmp_path)), lm_limit=3)
    report = RunReport("apipilot eval", "now", 1.0, {}, cells, notes=["a note"])
    written = write_report(report, tmp_path / "out")
    assert {p.name for p in written} == {
        "latest.md",
        "latest.json",
        "r_at_5.png",
        "README-results.md",
    }
    assert (tmp_path / "out" / "r_at_5.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((tmp_path / "out" / "latest.json").read_text())
    assert data["cells"][0]["metrics"]["R@5"] == 1.0
    text = markdown(report)
    assert "| BeatNumEval | 1.000 (3) |" in text and "a note" in text
    readme = (tmp_path / "out" / "README-results.md").read_text()
    assert f"]({(tmp_path / 'out').as_posix()}/r_at_5.png)" in readme
    assert "| BeatNumEval (3) | 1.000 |" in text  # the LM-limited subset table
    assert baseline_gaps(cells) == []
    again = load_report(tmp_path / "out" / "latest.json")
    assert again.cells[0].metrics == report.cells[0].metrics and again.notes == report.notes
    assert markdown(again) == text


def test_eval_command(tmp_path: Path, oracle: None) -> None:
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--suite",
            "fine",
            "--library",
            "torchdata",
            "--method",
            "oracle",
            "--lm-limit",
            "5",
            "--json",
            "--out",
            str(tmp_path / "out"),
            "--home",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cells"][0]["tasks"] == 5 and data["cells"][0]["method"] == "oracle"
    assert (tmp_path / "out" / "latest.md").is_file()

    def run(*args: str) -> dict[str, object]:
        base = ["eval", "--suite", "fine", "--method", "oracle", "--lm-limit", "2", "--json"]
        result = CliRunner().invoke(
            app, [*base, *args, "--out", str(tmp_path / "out"), "--home", str(tmp_path)]
        )
        assert result.exit_code == 0, result.output
        return dict(json.loads((tmp_path / "out" / "latest.json").read_text()))

    # --update: the beatnum cell joins the torchdata one; re-running torchdata replaces it
    merged = run("--library", "beatnum", "--update")
    assert [(c["suite"], c["tasks"]) for c in merged["cells"]] == [  # type: ignore[attr-defined]
        ("TorchDataEval", 5),
        ("BeatNumEval", 2),
    ]
    merged = run("--library", "torchdata", "--update")
    assert [(c["suite"], c["tasks"]) for c in merged["cells"]] == [  # type: ignore[attr-defined]
        ("TorchDataEval", 2),
        ("BeatNumEval", 2),
    ]
    replaced = run("--library", "beatnum")  # without --update the report is replaced
    assert [c["suite"] for c in replaced["cells"]] == ["BeatNumEval"]  # type: ignore[attr-defined]


def test_eval_command_errors_are_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "--method", "nope", "--home", str(tmp_path)])
    assert result.exit_code == 1
    assert "unknown method 'nope'" in result.stderr


def test_a_method_with_its_own_embedder_gets_an_index_built_with_it(tmp_path: Path) -> None:
    env = Env(IndexStore(tmp_path))
    suite = fine_suite("torchdata")
    index = env.index(suite, "hashing:64")
    assert index.meta.embedder == "hashing-64" and index.meta.version == "pool"
    assert env.store_for("hashing:64").home == tmp_path / "embedders" / "hashing_64"
    assert env.index(suite, "hashing:64") is index  # built once, then opened from the cache
    assert env.store.libraries() == []  # the default store is left alone


def test_alternative_gold_names_are_one_answer() -> None:
    ranked = ["noise", "pkg.B", "pkg.A", "other"]
    both = task_metrics(ranked, ["pkg.A", "pkg.B"])
    assert both["R@1"] == 0.0 and both["R@5"] == 1.0 and both["MRR"] == 0.5
    either = task_metrics(ranked, ["pkg.A", "pkg.B"], any_gold=True)
    assert either["R@1"] == 0.0 and either["R@5"] == 1.0 and either["MRR"] == 0.5
    assert either["P@5"] == 1 / 5  # one answer, though two accepted names are listed
    assert either["nDCG@10"] == pytest.approx(1 / math.log2(3))
    assert task_metrics(["pkg.B"], ["pkg.A", "pkg.B"])["R@1"] == 0.5
    assert task_metrics(["pkg.B"], ["pkg.A", "pkg.B"], any_gold=True)["R@1"] == 1.0
    assert task_metrics(["x"], ["pkg.A"], any_gold=True)["MRR"] == 0.0


TINY_PACKAGE = '''"""A tiny package for the realistic-suite test."""


def draw_table(rows):
    """Print a table with coloured columns in the terminal."""


def track_progress(items):
    """Show a progress bar while iterating over items."""


class Loader:
    """Read settings from a configuration file."""

    def load(self, path):
        """Parse the YAML configuration file at path into a dict."""
'''


def tiny_realistic_suite(tmp_path: Path) -> Suite:
    package = tmp_path / "src" / "tinylib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(TINY_PACKAGE)
    tasks = (
        EvalTask("tiny-1", "tiny-1", "print a table with colours", ("tinylib.draw_table",)),
        EvalTask("tiny-2", "tiny-2", "a progress bar for a loop", ("tinylib.track_progress",)),
        EvalTask("tiny-3", "tiny-3", "parse my YAML config", ("tinylib.Loader.load", "x.y")),
    )
    return Suite("Realistic-tinylib", "realistic", "tinylib", "1.0", tasks, source=str(package))


def test_a_realistic_suite_builds_its_index_on_first_use_and_matches_qualified_names(
    tmp_path: Path,
) -> None:
    suite = tiny_realistic_suite(tmp_path)
    env = Env(IndexStore(tmp_path / "home"), build_embedder="hashing:64")
    cells = run_eval([suite], [get_method("bm25"), get_method("fused")], env)
    assert env.store.versions("tinylib") == ["1.0"]  # built from the source, pinned version
    assert env.index(suite).meta.embedder == "hashing-64"
    for cell in cells:
        assert cell.kind == "realistic" and cell.tasks == 3
        assert cell.metrics["R@5"] == 1.0, cell.per_task
        assert cell.per_task[2]["ranked"][0] == "tinylib.Loader.load"  # qualified, not "load"
    table = realistic_table(cells)
    assert (
        "| Realistic-tinylib | bm25 | 3 |" in table and "| **all realistic** | fused | 3 |" in table
    )
    assert "R@1, R@5, MRR" in markdown(RunReport("x", "now", 1.0, {}, cells))


def test_a_split_suite_is_scored_under_its_own_name(tmp_path: Path) -> None:
    suite = with_split(tiny_realistic_suite(tmp_path), "test")
    env = Env(IndexStore(tmp_path / "home"), build_embedder="hashing:64")
    (cell,) = run_eval([suite], [Oracle()], env)
    expected = [t for t in ("tiny-1", "tiny-2", "tiny-3") if split_of(t) == "test"]
    assert cell.suite == "Realistic-tinylib [test]" and cell.split == "test"
    assert [t["task_id"] for t in cell.per_task] == expected
    assert env.store.libraries() == []  # the oracle needs no index, so none was built
    report = RunReport("x", "now", 1.0, {}, [cell])
    assert "**all realistic [test]**" in markdown(report)


def test_eval_command_selects_a_split_of_the_realistic_suite(tmp_path: Path, oracle: None) -> None:
    args = ["eval", "--suite", "realistic", "--split", "test", "--method", "oracle", "--json"]
    result = CliRunner().invoke(app, [*args, "--lm-limit", "0", "--home", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["settings"]["split"] == "test"
    suites = select_suites("realistic", split="test")
    assert [(c["suite"], c["tasks"]) for c in data["cells"]] == [
        (s.name, len(s.tasks)) for s in suites
    ]
    assert all(c["metrics"]["R@1"] == 1.0 and c["split"] == "test" for c in data["cells"])
    bad = CliRunner().invoke(app, ["eval", "--split", "train", "--home", str(tmp_path)])
    assert bad.exit_code == 1 and "unknown split 'train'; valid: all, dev, test" in bad.stderr
