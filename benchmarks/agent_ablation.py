"""Agent ablation: each step of the agent on and off, R@5/P@5 on the dev and test splits.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.agent_ablation --home DIR \\
        [--fine] [--lm embedded --lm-first 4] [--write docs/benchmarks.md]

Rows: plain fused retrieval (one query), the default agent (``agents.defaults``), and the
default with one thing changed: no coverage in the merge, the covered head in subtask order,
the clause splitter of session 6 (at most 6 clauses, "Return the result" kept), BM25 of
words without their stems (fused search and the agent), the fusion without the BM25 lead,
the old one-list-per-subtask round robin, companions from the documentation, the nearest
demonstrations' APIs, the cross-encoder reranking each subtask; with ``--lm``, the LM
decomposing (alone, or united with the clauses) and the LM's likelihood rerank, on the first
``--lm-first`` requirements of each split of each library (an LM request takes 5–60 s on a
loaded 2-core CPU). Cells are the mean over the five coarse suites (``--fine``: the five fine
suites too) of R@5 / P@5, and the median seconds a request. Rows marked ``fine`` are also
scored on the fine suites (with ``--fine``) and on "coarse dev (large)": the 100 requirements
per library that ``evaluation.suites.coarse_dev_suite`` joins from fine dev tasks only (the
30-requirement suites leave 9–13 dev requirements per library, too few to rank candidates).
Defaults are chosen on dev; test is reported. ``--write`` replaces
the section between the ablation markers of that file. Evaluation tasks are only scored here.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from apipilot.agents import defaults
from apipilot.agents.answer_cache import answers
from apipilot.agents.text import split_clauses
from apipilot.evaluation.data import LIBRARIES, EvalTask
from apipilot.evaluation.methods import AgentMethod, Env, Method, Ranking, SearchMethod
from apipilot.evaluation.metrics import precision_at, recall_at
from apipilot.evaluation.naming import ranked_names
from apipilot.evaluation.splits import split_of
from apipilot.evaluation.suites import Suite, coarse_dev_suite, coarse_suite, fine_suite
from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.bm25 import BM25Index

BEGIN = "<!-- agent-ablation:begin -->"
END = "<!-- agent-ablation:end -->"
SPLITS = ("dev", "test")
LARGE_DEV = "dev (large)"
# The clause splitter as it was in session 6: at most 6 clauses, request-only ones kept.
SESSION6_CLAUSES = partial(split_clauses, limit=6, keep_requests=True)


@dataclass
class Row:
    name: str
    method: Method
    first: int | None = None  # requirements per split and library (LM rows)
    fine: bool = False  # scored on the large coarse dev and (with --fine) the fine suites too
    cells: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)


def variants(lm: str | None, lm_first: int, cross_encoder: bool = True) -> list[Row]:
    agent = "agent (default)"
    rows = [
        Row("fused (one query)", SearchMethod("fused", "fused"), fine=True),
        Row(agent, AgentMethod(agent, "none", "the defaults"), fine=True),
        Row("− coverage (cover 0)", _agent(merge=replace(defaults.MERGE, cover=0)), fine=True),
        Row(
            "covered head in subtask order (session 6)",
            _agent(merge=replace(defaults.MERGE, confident_first=False)),
            fine=True,
        ),
        Row("clause splitter of session 6", _agent(clauses=SESSION6_CLAUSES), fine=True),
        Row(
            "session 6 agent (both of the above)",
            _agent(merge=replace(defaults.MERGE, confident_first=False), clauses=SESSION6_CLAUSES),
            fine=True,
        ),
        Row(
            "fused, BM25 of words only (session 6)",
            with_bm25_analyzer(SearchMethod("fused", "fused"), "words"),
            fine=True,
        ),
        Row(
            "agent, BM25 of words only (session 6)",
            with_bm25_analyzer(AgentMethod(agent, "none", "the defaults"), "words"),
            fine=True,
        ),
        Row(
            "fused, − BM25 lead (session 5 fusion)",
            without_bm25_lead(SearchMethod("fused", "fused")),
            fine=True,
        ),
        Row(
            "agent, − BM25 lead (session 5 fusion)",
            without_bm25_lead(AgentMethod(agent, "none", "the defaults")),
            fine=True,
        ),
        Row(
            "round robin of subtask lists (old merge rule)",
            _agent(merge=replace(defaults.MERGE, requirement=1e-4, rrf_k=1000, cover=10)),
        ),
        Row("+ companions (weight 0.25)", _agent(companion_weight=0.25)),
        Row("+ demonstrations' APIs (weight 1)", _agent(demonstration_weight=1.0)),
    ]
    if cross_encoder:
        rows.append(
            Row("+ cross-encoder rerank (minilm-ce)", _agent(rerank=True, reranker="minilm-ce"))
        )
    if lm:
        rows += [
            Row(f"LM decomposes ({lm})", _agent(lm, decomposer="lm"), lm_first),
            Row(f"LM ∪ clauses ({lm})", _agent(lm, decomposer="union"), lm_first),
            Row(f"LM likelihood rerank ({lm})", _agent(lm, rerank=True), lm_first),
        ]
    return rows


class WithSearcher:
    """``method`` run with one attribute of the index's searcher replaced by ``change(index)``
    (made once per index), restored afterwards."""

    def __init__(
        self, method: Method, what: str, attribute: str, change: Callable[[ApiIndex], Any]
    ) -> None:
        self.method = method
        self.name = method.name
        self.uses_lm = method.uses_lm
        self.description = f"{method.description}, {what}"
        self.attribute = attribute
        self.change = change
        self._made: dict[tuple[str, str], Any] = {}

    def supports(self, suite: Suite) -> bool:
        return self.method.supports(suite)

    def rank(self, suite: Suite, tasks: Sequence[EvalTask], env: Env) -> list[Ranking]:
        index = env.index(suite)
        key = (suite.library, suite.version)
        if key not in self._made:
            self._made[key] = self.change(index)
        searcher = index.searcher
        kept = getattr(searcher, self.attribute)
        setattr(searcher, self.attribute, self._made[key])
        # the answer cache keys on the index object, which stays the same: without this, a
        # requirement answered with the default searcher could be replayed here, or vice versa
        answers.clear()
        try:
            return self.method.rank(suite, tasks, env)
        finally:
            setattr(searcher, self.attribute, kept)
            answers.clear()


def without_bm25_lead(method: Method) -> WithSearcher:
    """``method`` with fusion weights minus the BM25 lead (``FusionWeights.bm25_lead``)."""
    return WithSearcher(
        method,
        "without the BM25 lead",
        "weights",
        lambda index: replace(index.searcher.weights, bm25_lead=0.0),
    )


def with_bm25_analyzer(method: Method, analyzer: str) -> WithSearcher:
    """``method`` with the index's BM25 rebuilt in memory from the same texts with another
    analyzer (``retrieval.bm25.ANALYZERS``)."""
    return WithSearcher(
        method,
        f"BM25 analyzer {analyzer}",
        "bm25",
        lambda index: BM25Index.build(
            [r.search_text() for r in index.records] + list(index.passages), analyzer=analyzer
        ),
    )


def _agent(llm: str = "none", **options: Any) -> AgentMethod:
    return AgentMethod("variant", llm, "variant", **options)


def score(row: Row, suite: Suite, env: Env) -> None:
    for split, tasks in _columns(suite):
        tasks = tasks[: row.first]
        if not tasks:
            continue
        start = time.perf_counter()
        rankings = row.method.rank(suite, tasks, env)
        per_task = (time.perf_counter() - start) / len(tasks)
        recalls, precisions = _metrics(rankings, tasks)
        row.cells[(suite.name, split)] = (recalls, precisions)
        totals = [r.timings.get("total", per_task) for r in rankings]
        row.seconds.extend(totals)


def _columns(suite: Suite) -> list[tuple[str, list[EvalTask]]]:
    """``(column, tasks)``: a large dev suite is one column, any other its dev and test."""
    if suite.split == "dev":
        return [(LARGE_DEV, list(suite.tasks))]
    return [(split, [t for t in suite.tasks if split_of(t.task_id) == split]) for split in SPLITS]


def _metrics(rankings: Sequence[Any], tasks: Sequence[EvalTask]) -> tuple[float, float]:
    recalls, precisions = [], []
    for ranking, task in zip(rankings, tasks, strict=True):
        names = ranked_names(ranking.items, task.gold)
        recalls.append(recall_at(names, task.gold, 5))
        precisions.append(precision_at(names, task.gold, 5))
    return statistics.fmean(recalls), statistics.fmean(precisions)


def table(rows: list[Row], suites: list[Suite]) -> str:
    columns = [
        (kind, split)
        for kind in ("coarse", "fine")
        for split in (LARGE_DEV, *SPLITS)
        if any(s.kind == kind and split in dict(_columns(s)) for s in suites)
    ]
    head = ["variant"] + [f"{kind} {split} R@5 / P@5" for kind, split in columns]
    lines = ["| " + " | ".join([*head, "p50 s"]) + " |", "|" + "---|" * (len(head) + 1)]
    for row in rows:
        cells = [row.name]
        for kind, split in columns:
            values = [
                row.cells.get((s.name, split))
                for s in suites
                if s.kind == kind and split in dict(_columns(s))
            ]
            if any(v is None for v in values):
                cells.append("–")
                continue
            recall = statistics.fmean(v[0] for v in values if v is not None)
            precision = statistics.fmean(v[1] for v in values if v is not None)
            cells.append(f"{recall:.3f} / {precision:.3f}")
        cells.append(f"{statistics.median(row.seconds):.3f}" if row.seconds else "–")
        if row.first:
            cells[0] += f" (first {row.first} per split and library)"
        lines.append("| " + " | ".join(cells) + " |")
    per_suite = ["", "Per suite, test R@5:", ""]
    names = [s.name for s in suites if s.split == "all"]
    per_suite += ["| variant | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for row in rows:
        recalls = [
            f"{cell[0]:.3f}" if (cell := row.cells.get((s.name, "test"))) else "–"
            for s in suites
            if s.split == "all"
        ]
        per_suite.append(f"| {row.name} | " + " | ".join(recalls) + " |")
    return "\n".join(lines + per_suite)


def write_section(path: Path, text: str) -> None:
    content = path.read_text(encoding="utf-8")
    if BEGIN in content and END in content:
        before, rest = content.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        content = f"{before}{BEGIN}\n{text}\n{END}{after}"
    else:
        content = f"{content.rstrip()}\n\n{BEGIN}\n{text}\n{END}\n"
    path.write_text(content, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="APIPILOT_HOME of the indexes")
    parser.add_argument("--libraries", nargs="*", default=list(LIBRARIES))
    parser.add_argument("--fine", action="store_true", help="score the fine suites too")
    parser.add_argument("--lm", default=None, help="LM spec of the LM rows (default: none)")
    parser.add_argument("--lm-first", type=int, default=4, help="LM rows: tasks per split")
    parser.add_argument("--write", type=Path, default=None, help="markdown file to update")
    parser.add_argument(
        "--no-cross-encoder", action="store_true", help="skip the cross-encoder row (slow)"
    )
    args = parser.parse_args()
    env = Env(IndexStore(args.home))
    suites = [coarse_suite(lib) for lib in args.libraries]
    suites += [coarse_dev_suite(lib) for lib in args.libraries]
    if args.fine:
        suites += [fine_suite(lib) for lib in args.libraries]
    rows = variants(args.lm, args.lm_first, cross_encoder=not args.no_cross_encoder)
    started = time.perf_counter()
    for row in rows:
        for suite in suites:
            if (suite.kind == "coarse" and suite.split == "all") or row.fine:
                score(row, suite, env)
        print(f"scored {row.name} ({time.perf_counter() - started:.0f} s)", flush=True)
    command = "python -m benchmarks.agent_ablation " + " ".join(
        part
        for part in [
            "--fine" if args.fine else "",
            "--no-cross-encoder" if args.no_cross_encoder else "",
            f"--lm {args.lm} --lm-first {args.lm_first}" if args.lm else "",
            f"--write {args.write}" if args.write else "",
        ]
        if part
    )
    text = (
        f"Produced by `{command.strip()}` (mean over the suites; p50: median seconds a "
        "request, 2 shared CPU cores).\n\n" + table(rows, suites)
    )
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
