"""Decomposer benchmark: how often the LM's skills and subtasks are usable (no fallback).

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.decomposer \\
        [--llm embedded-base --llm embedded] [--coarse 30] [--fine 10] [--recall 0] [--home DIR]

For each LM and library, the first ``--coarse`` requirements of the coarse-grained suite and
the first ``--fine`` queries of the fine-grained suite go through the agent's own ``skills``,
``examples`` (Skill-KNN over the library's ``pool`` example bank, MiniLM) and ``decompose``
steps (``agents.nodes``: same prompts, parsing and checks). A requirement parses without
fallback when both steps took the ``lm`` path. With ``--recall N`` the whole agent
(``recommend``, k=10, the pool indexes under ``--home``) also runs on the first N coarse
requirements per library and R@5 is reported. Evaluation tasks are only scored here; nothing
is trained or tuned on them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from apipilot.agents import nodes
from apipilot.agents.context import AgentContext
from apipilot.agents.examples import ExampleBank, find_bank
from apipilot.agents.lm.base import LanguageModel
from apipilot.evaluation.data import LIBRARIES, EvalTask
from apipilot.evaluation.suites import POOL_VERSION, Suite, coarse_suite, fine_suite

N_EXAMPLES = AgentContext.__dataclass_fields__["n_examples"].default


@dataclass
class Tally:
    n: int = 0
    skills: int = 0
    decompose: int = 0
    both: int = 0
    skills_s: list[float] = field(default_factory=list)
    decompose_s: list[float] = field(default_factory=list)
    subtasks: list[int] = field(default_factory=list)

    def add(self, paths: dict[str, str], timings: dict[str, float], subtasks: int) -> None:
        self.n += 1
        ok_skills = paths.get("skills") == "lm"
        ok_decompose = paths.get("decompose") == "lm"
        self.skills += ok_skills
        self.decompose += ok_decompose
        self.both += ok_skills and ok_decompose
        self.skills_s.append(timings["skills"])
        self.decompose_s.append(timings["decompose"])
        self.subtasks.append(subtasks)

    def merge(self, other: Tally) -> None:
        self.n += other.n
        self.skills += other.skills
        self.decompose += other.decompose
        self.both += other.both
        self.skills_s += other.skills_s
        self.decompose_s += other.decompose_s
        self.subtasks += other.subtasks


def run_steps(requirement: str, lm: LanguageModel, bank: ExampleBank | None) -> Tally:
    """The agent's skills -> examples -> decompose steps for one requirement."""
    runtime: Any = SimpleNamespace(
        context=SimpleNamespace(lm=lm, examples=bank, n_examples=N_EXAMPLES)
    )
    state: dict[str, Any] = {"requirement": requirement}
    paths: dict[str, str] = {}
    timings: dict[str, float] = {}
    for step in (nodes.skills, nodes.examples, nodes.decompose):
        update = step(state, runtime)
        paths.update(update.pop("paths", {}))
        timings.update(update.pop("timings", {}))
        update.pop("notes", None)
        state.update(update)
    tally = Tally()
    tally.add(paths, timings, len(state["subtasks"]))
    return tally


def score_suite(tasks: Sequence[EvalTask], lm: LanguageModel, bank: ExampleBank | None) -> Tally:
    total = Tally()
    for task in tasks:
        total.merge(run_steps(task.query, lm, bank))
    return total


def recall_at_5(suite: Suite, tasks: Sequence[EvalTask], llm: str, home: Path | None) -> float:
    from apipilot.evaluation.methods import AgentMethod, Env
    from apipilot.evaluation.metrics import recall_at
    from apipilot.evaluation.naming import ranked_names
    from apipilot.indexes.store import IndexStore

    env = Env(IndexStore(home))
    rankings = AgentMethod(llm, llm, "agent").rank(suite, tasks, env)
    scores = [
        recall_at(ranked_names(r.items, t.gold), t.gold, 5)
        for r, t in zip(rankings, tasks, strict=True)
    ]
    return statistics.fmean(scores) if scores else 0.0


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def p50(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", action="append", help="LM spec (repeatable)")
    parser.add_argument("--coarse", type=int, default=30, help="coarse requirements per library")
    parser.add_argument("--fine", type=int, default=10, help="fine-grained queries per library")
    parser.add_argument("--recall", type=int, default=0, help="coarse tasks per library for R@5")
    parser.add_argument("--home", type=Path, default=None, help="APIPILOT_HOME of the indexes")
    parser.add_argument("--libraries", nargs="*", default=list(LIBRARIES))
    args = parser.parse_args()
    import torch

    from apipilot.agents.lm import load_lm
    from apipilot.retrieval.embedder import load_embedder

    torch.set_num_threads(1)
    embedder = load_embedder("minilm")
    specs: list[str] = args.llm or ["embedded-base", "embedded"]
    header = ["LM", "set", "n", "skills lm", "decompose lm", "both lm", "p50 skills s",
              "p50 decompose s", "R@5 / mean subtasks"]  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header), flush=True)
    for spec in specs:
        lm = load_lm(spec)
        lm.complete("Warm up:", max_tokens=2)
        totals = {"coarse": Tally(), "fine": Tally()}
        recalls: list[float] = []
        start = time.perf_counter()
        for library in args.libraries:
            path = find_bank(library, POOL_VERSION)
            bank = ExampleBank.load(path, embedder) if path else None
            coarse = coarse_suite(library)
            parts = {
                "coarse": coarse.tasks[: args.coarse],
                "fine": fine_suite(library).tasks[: args.fine],
            }
            for kind, tasks in parts.items():
                tally = score_suite(tasks, lm, bank)
                totals[kind].merge(tally)
                _print(_row(spec, f"{kind} {library}", tally))
            if args.recall:
                recalls.append(recall_at_5(coarse, coarse.tasks[: args.recall], spec, args.home))
        for kind, tally in totals.items():
            _print(_row(spec, f"**{kind} all**", tally))
        if recalls:
            recall = f"{statistics.fmean(recalls):.3f}"
            _print([spec, f"**coarse R@5 (agent, first {args.recall})**", *([""] * 6), recall])
        print(f"<!-- {spec}: {lm.name}, {time.perf_counter() - start:.0f} s -->", flush=True)


def _print(row: list[str]) -> None:
    print("| " + " | ".join(row) + " |", flush=True)


def _row(spec: str, name: str, tally: Tally) -> list[str]:
    mean_subtasks = f"{statistics.fmean(tally.subtasks):.2f}" if tally.subtasks else "-"
    return [
        spec,
        name,
        str(tally.n),
        pct(tally.skills, tally.n),
        pct(tally.decompose, tally.n),
        pct(tally.both, tally.n),
        p50(tally.skills_s),
        p50(tally.decompose_s),
        mean_subtasks,
    ]


if __name__ == "__main__":
    main()
