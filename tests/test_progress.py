"""Progress on stderr: a bar on a terminal, plain lines at least every N seconds otherwise."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import apipilot
from apipilot.evaluation.data import EvalTask
from apipilot.evaluation.harness import run_eval
from apipilot.evaluation.methods import Env, Ranking
from apipilot.evaluation.suites import Suite, coarse_suite, fine_suite
from apipilot.indexes.store import IndexStore
from apipilot.ui.progress import (
    PhaseProgress,
    duration,
    logging_progress,
    progress_interval,
    progress_line,
)
from tests.conftest import make_record

LINE = re.compile(r"^apipilot: ")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_line_and_durations() -> None:
    assert (
        progress_line("embed", 1200, 7000, "records", 41)
        == "apipilot: embed 1200/7000 records (17%), 41 s, ~3 min left"
    )
    assert progress_line("embed", 7000, 7000, "records", 200) == (
        "apipilot: embed 7000/7000 records (100%), 3 min"
    )
    assert progress_line("read pkg:x", 0, 0, "records", 12.4) == "apipilot: read pkg:x, 12 s"
    assert duration(59) == "59 s" and duration(3 * 3600 + 300) == "3 h 5 min"


def test_interval_from_the_environment() -> None:
    assert progress_interval({}) == 10.0
    assert progress_interval({"APIPILOT_PROGRESS_INTERVAL": "0.2"}) == 0.2
    for bad in ("0", "-1", "soon", "inf"):
        with pytest.raises(apipilot.ConfigError, match="APIPILOT_PROGRESS_INTERVAL"):
            progress_interval({"APIPILOT_PROGRESS_INTERVAL": bad})


def test_plain_lines_are_rate_limited_and_every_phase_end_is_printed() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = PhaseProgress("build demo", stream=stream, tty=False, interval=10, clock=clock)
    progress.update("read", 0, 0)  # nothing in the first interval: quick jobs stay quiet
    clock.now += 1
    progress.update("read", 300, 300)
    for done in range(0, 301, 10):  # updates every second: one line per 10 s
        progress.update("embed", done, 300)
        clock.now += 1
    progress.update("write", 1, 1)  # once a job printed, every phase end is printed
    progress.close()
    lines = stream.getvalue().splitlines()
    embed = [line for line in lines if " embed " in line]
    assert embed == [
        "apipilot: build demo embed 90/300 records (30%), 9 s, ~21 s left",  # 10 s in
        "apipilot: build demo embed 190/300 records (63%), 19 s, ~11 s left",
        "apipilot: build demo embed 290/300 records (96%), 29 s, ~1 s left",
        "apipilot: build demo embed 300/300 records (100%), 30 s",  # a phase end
    ]
    assert embed[-1] == "apipilot: build demo embed 300/300 records (100%), 30 s"
    assert lines[4:] == ["apipilot: build demo write 1/1 records (100%), 0 s"]
    quick = io.StringIO()
    with PhaseProgress("build", stream=quick, tty=False, interval=10, clock=clock) as progress:
        progress.update("read", 5, 5)
        progress.update("embed", 5, 5)
    assert quick.getvalue() == ""


def test_a_silent_phase_still_prints_every_interval() -> None:
    stream = io.StringIO()
    with PhaseProgress("build", stream=stream, tty=False, interval=0.1) as progress:
        progress.update("write", 0, 0)
        time.sleep(0.65)  # no update: the ticker repeats the state
    lines = stream.getvalue().splitlines()
    assert 4 <= len(lines) <= 9, lines
    assert all(line.startswith("apipilot: build write") for line in lines)


def test_a_terminal_gets_a_bar_not_lines() -> None:
    stream = io.StringIO()
    with PhaseProgress("build", stream=stream, tty=True, interval=0.01) as progress:
        progress.update("embed", 10, 20)
        time.sleep(0.05)
    assert "apipilot: " not in stream.getvalue()


def test_a_non_tty_cli_build_prints_progress_at_least_every_interval(tmp_path: Path) -> None:
    """The reproduction: a build of many records through a pipe printed nothing for minutes.
    Here each embedding batch takes 1.5 s (2 batches), far longer than the 0.2 s interval."""
    docs = tmp_path / "docs.jsonl"
    records = [make_record(f"api{i}", f"summary number {i}") for i in range(300)]
    docs.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in records))
    interval, slack = 0.2, 0.8
    command = [
        sys.executable, "-m", "tests.slow_progress_build", "index", "build", str(docs),
        "--library", "demo", "--version", "1.0", "--embedder", "slow:64",
        "--home", str(tmp_path / "home"),
    ]  # fmt: skip
    env = os.environ | {"APIPILOT_PROGRESS_INTERVAL": str(interval), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    assert process.stderr is not None
    arrivals: list[tuple[float, str]] = []
    for line in process.stderr:
        arrivals.append((time.monotonic(), line.rstrip("\n")))
    assert process.wait(timeout=120) == 0, "\n".join(line for _, line in arrivals)
    progress = [(t, line) for t, line in arrivals if LINE.match(line)]
    text = "\n".join(line for _, line in progress)
    for phase in ("embed 256/300 records", "embed 300/300 records", "write 1/1"):
        assert phase in text, text
    assert progress[-1][0] - progress[0][0] >= 2.0, text  # the slow batches ran in between
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(progress)]
    assert max(gaps) <= interval + slack, (gaps, text)


def test_training_step_lines_become_train_progress() -> None:
    stream, clock = io.StringIO(), FakeClock()
    logged: list[str] = []
    progress = PhaseProgress(stream=stream, tty=False, interval=10, clock=clock)
    log = logging_progress(progress, logged.append, "train embedder")
    log("synthesised 400 pairs in 3 s")
    for step in (1, 21, 41):
        clock.now += 6
        log(f"step {step}/41 loss 0.5000")
    progress.close()
    assert logged[0] == "synthesised 400 pairs in 3 s" and len(logged) == 4  # all still logged
    assert stream.getvalue().splitlines() == [
        "apipilot: train embedder 21/41 steps (51%), 6 s, ~6 s left",
        "apipilot: train embedder 41/41 steps (100%), 12 s",
    ]


class GoldFirst:
    """An evaluation method that ranks the gold APIs first, instantly."""

    name = "gold-first"
    description = "gold first (test)"
    uses_lm = False

    def supports(self, suite: Suite) -> bool:
        return suite.kind == "fine"

    def rank(self, suite: Suite, tasks: Sequence[EvalTask], env: Env) -> list[Ranking]:
        return [Ranking([(g,) for g in t.gold], {}, {}) for t in tasks]


def test_eval_reports_each_suite_and_method_cell(tmp_path: Path) -> None:
    suites = [fine_suite("torchdata"), coarse_suite("monkey"), fine_suite("beatnum")]
    seen: list[tuple[int, int]] = []
    run_eval(suites, [GoldFirst()], Env(IndexStore(tmp_path)), limit=2, cells_done=_record(seen))
    assert seen == [(0, 2), (1, 2), (2, 2)]  # the coarse suite is not supported: 2 cells


def _record(seen: list[tuple[int, int]]) -> Callable[[int, int], None]:
    return lambda done, total: seen.append((done, total))


def test_training_step_lines_come_every_interval_even_between_the_every_n_steps() -> None:
    from apipilot.training.step_log import StepClock

    now = [0.0]
    clock = StepClock(total=100, every=20, interval=10.0, clock=lambda: now[0])
    logged = []
    for step in range(100):
        now[0] += 3.0  # a slow step: 3 s each
        if clock.due(step):
            logged.append(step)
    assert logged[:3] == [0, 4, 8]  # 20 steps would be 60 s: a line at least every 10 s
    assert all(b - a <= 4 for a, b in itertools.pairwise(logged))
    assert logged[-1] == 99
    fast = StepClock(total=45, every=20, interval=10.0, clock=lambda: 0.0)
    assert [s for s in range(45) if fast.due(s)] == [0, 20, 40, 44]
