"""Write a run's results: markdown tables, JSON, the R@5 plot and the README results section."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from apipilot.evaluation.codegen import CodegenResult
from apipilot.evaluation.data import PUBLISHED_R5
from apipilot.evaluation.harness import METRICS, CellResult

REFERENCE_OF = {"bm25-plain": 0, "dense": 1, "apiretriever": 2}


@dataclass
class RunReport:
    command: str
    started: str
    seconds: float
    settings: dict[str, Any]
    cells: list[CellResult]
    codegen: list[CodegenResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    last_started: str = ""  # when the newest of the merged runs started; "": one run


def baseline_gaps(cells: Sequence[CellResult]) -> list[tuple[CellResult, float]]:
    """Fine-grained cells of the reference methods with |R@5 - published R@5|."""
    gaps = []
    for cell in cells:
        ref = REFERENCE_OF.get(cell.method)
        whole = cell.tasks == cell.suite_tasks and cell.split == "all"
        if cell.kind == "fine" and ref is not None and whole:
            gaps.append((cell, abs(cell.metrics["R@5"] - PUBLISHED_R5[cell.library][ref])))
    return gaps


def _row(cell: CellResult) -> str:
    tasks = (
        f"{cell.tasks}" if cell.tasks == cell.suite_tasks else f"{cell.tasks}/{cell.suite_tasks}"
    )
    values = " | ".join(f"{cell.metrics[m]:.3f}" for m in METRICS)
    errors = f" ({cell.errors} errors)" if cell.errors else ""
    return f"| {cell.suite} | {cell.method} | {tasks}{errors} | {values} |"


def results_table(cells: Sequence[CellResult]) -> str:
    head = "| suite | method | tasks | " + " | ".join(METRICS) + " |"
    rule = "|---" * (3 + len(METRICS)) + "|"
    return "\n".join([head, rule, *(_row(c) for c in cells)])


def r5_matrix(cells: Sequence[CellResult], kind: str) -> str:
    methods = list(dict.fromkeys(c.method for c in cells if c.kind == kind))
    suites = list(dict.fromkeys(c.suite for c in cells if c.kind == kind))
    if not methods:
        return ""
    found = {(c.suite, c.method): c for c in cells if c.kind == kind}
    lines = ["| suite | " + " | ".join(methods) + " |", "|---" * (1 + len(methods)) + "|"]
    for suite in suites:
        values = []
        for method in methods:
            cell = found.get((suite, method))
            mark = "" if cell is None or cell.tasks == cell.suite_tasks else f" ({cell.tasks})"
            values.append("–" if cell is None else f"{cell.metrics['R@5']:.3f}{mark}")
        lines.append(f"| {suite} | " + " | ".join(values) + " |")
    return "\n".join(lines)


REALISTIC_METRICS = ("R@1", "R@5", "MRR")


def realistic_table(cells: Sequence[CellResult]) -> str:
    """R@1, R@5 and MRR of every method on each realistic suite, then over all their questions
    pooled (a mean over questions, so larger suites weigh more), per split."""
    rows = [c for c in cells if c.kind == "realistic"]
    if not rows:
        return ""
    head = "| suite | method | tasks | " + " | ".join(REALISTIC_METRICS) + " |"
    lines = [head, "|---" * (3 + len(REALISTIC_METRICS)) + "|"]
    for cell in rows:
        values = " | ".join(f"{cell.metrics[m]:.3f}" for m in REALISTIC_METRICS)
        lines.append(f"| {cell.suite} | {cell.method} | {cell.tasks} | {values} |")
    pooled: dict[tuple[str, str], list[dict[str, float]]] = {}
    for cell in rows:
        pooled.setdefault((cell.split, cell.method), []).extend(t["metrics"] for t in cell.per_task)
    for (split, method), tasks in pooled.items():
        if not tasks:
            continue
        label = "all realistic" + ("" if split == "all" else f" [{split}]")
        values = " | ".join(
            f"{sum(t[m] for t in tasks) / len(tasks):.3f}" for m in REALISTIC_METRICS
        )
        lines.append(f"| **{label}** | {method} | {len(tasks)} | {values} |")
    return "\n".join(lines)


def subset_matrix(cells: Sequence[CellResult]) -> str:
    """R@5 of every method on the tasks an LM-limited method scored (the first N of a suite)."""
    cut = {c.suite: c.tasks for c in cells if 0 < c.tasks < c.suite_tasks}
    methods = list(dict.fromkeys(c.method for c in cells if c.suite in cut))
    if not cut:
        return ""
    lines = ["| suite (tasks) | " + " | ".join(methods) + " |", "|---" * (1 + len(methods)) + "|"]
    for suite, n in cut.items():
        found = {c.method: c for c in cells if c.suite == suite and len(c.per_task) >= n}
        values = [
            f"{sum(t['metrics']['R@5'] for t in found[m].per_task[:n]) / n:.3f}"
            if m in found
            else "–"
            for m in methods
        ]
        lines.append(f"| {suite} ({n}) | " + " | ".join(values) + " |")
    return "\n".join(lines)


def latency_table(cells: Sequence[CellResult]) -> str:
    rows = [c for c in cells if c.method.startswith("agent") and c.latency]
    if not rows:
        return ""
    steps = list(dict.fromkeys(s for c in rows for s in c.latency))
    head = "| suite | method | " + " | ".join(f"{s} p50 / p95 s" for s in steps) + " | LM used |"
    lines = [head, "|---" * (3 + len(steps)) + "|"]
    for c in rows:
        values = [
            f"{c.latency[s]['p50']:.2f} / {c.latency[s]['p95']:.2f}" if s in c.latency else "–"
            for s in steps
        ]
        used = ", ".join(
            f"{step} {p.get('lm', 0)}/{sum(p.values())}" for step, p in c.paths.items()
        )
        lines.append(f"| {c.suite} | {c.method} | " + " | ".join(values) + f" | {used} |")
    return "\n".join(lines)


LM_STEPS = ("skills", "decompose")


def parse_rate_table(cells: Sequence[CellResult]) -> str:
    """Per method that ran an LM and suite kind: the share of requirements whose LM output was
    parsed and used (``paths[step] == "lm"``) rather than replaced by the deterministic path."""
    totals: dict[tuple[str, str], dict[str, list[int]]] = {}
    for cell in cells:
        if not cell.uses_lm:
            continue
        row = totals.setdefault((cell.method, cell.kind), {s: [0, 0] for s in LM_STEPS})
        for step in LM_STEPS:
            counts = cell.paths.get(step, {})
            row[step][0] += counts.get("lm", 0)
            row[step][1] += sum(counts.values())
    if not totals:
        return ""
    head = "| method | suites | " + " | ".join(f"{s} parsed" for s in LM_STEPS) + " |"
    lines = [head, "|---" * (2 + len(LM_STEPS)) + "|"]
    for (method, kind), row in totals.items():
        values = [
            f"{used / n:.0%} ({used}/{n})" if n else "–" for used, n in (row[s] for s in LM_STEPS)
        ]
        lines.append(f"| {method} | {kind} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def codegen_table(results: Sequence[CodegenResult]) -> str:
    lines = ["| library | completion | tasks | pass@1 | generate p50 s |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r.library} | {r.source} | {r.tasks} | {r.pass_at_1:.3f} | {r.generate_p50_s:.2f} |"
        )
    return "\n".join(lines)


def baseline_table(cells: Sequence[CellResult]) -> str:
    gaps = baseline_gaps(cells)
    if not gaps:
        return ""
    lines = [
        "| library | method | R@5 here | published R@5 | gap |",
        "|---|---|---|---|---|",
    ]
    for cell, gap in gaps:
        published = PUBLISHED_R5[cell.library][REFERENCE_OF[cell.method]]
        lines.append(
            f"| {cell.library} | {cell.method} | {cell.metrics['R@5']:.3f} | {published:.3f} "
            f"| {gap:.3f} |"
        )
    return "\n".join(lines)


def markdown(report: RunReport, plot_name: str | None = None) -> str:
    parts = [
        "## Evaluation results",
        "",
        f"Produced by `{report.command}` {_when(report)} "
        "(CPU). Metrics over de-duplicated API names, matched on a record's name or alias "
        + (
            "(realistic suites: its qualified name or alias, and any accepted name is a hit; "
            "see `evaluation/README.md`)."
            if any(c.kind == "realistic" for c in report.cells)
            else "(see `evaluation/README.md`)."
        ),
        "",
        *(f"- {note}" for note in report.notes),
        "",
    ]
    kinds = (
        ("fine", "Fine-grained suites"),
        ("coarse", "Coarse-grained suites"),
        ("realistic", "Realistic suites"),
    )
    for kind, title in kinds:
        matrix = r5_matrix(report.cells, kind)
        if matrix:
            parts += [f"### {title}: R@5", "", matrix, ""]
    realistic = realistic_table(report.cells)
    if realistic:
        parts += [
            "### Realistic suites: R@1, R@5, MRR (any accepted name is a hit)",
            "",
            realistic,
            "",
        ]
    if plot_name:
        parts += [f"![R@5 per library and method]({plot_name})", ""]
    sections = (
        (
            "R@5 on the tasks the LM-limited methods scored (same tasks for every method)",
            subset_matrix,
        ),
        ("Published baselines reproduced (fine-grained R@5, tolerance 0.02)", baseline_table),
        ("All metrics", results_table),
        ("LM outputs parsed and used without fallback", parse_rate_table),
        ("Agent latency per step (seconds)", latency_table),
    )
    for title, make in sections:
        text = make(report.cells)
        if text:
            parts += [f"### {title}", "", text, ""]
    if report.codegen:
        parts += [
            "### Code generation (pass@1, greedy, sandboxed)",
            "",
            codegen_table(report.codegen),
            "",
        ]
    return "\n".join(parts)


def to_json(report: RunReport) -> dict[str, Any]:
    data = asdict(report)
    for cell in data["cells"]:
        for task in cell["per_task"]:
            task["metrics"] = {k: round(v, 4) for k, v in task["metrics"].items()}
    for item, result in zip(data["codegen"], report.codegen, strict=True):
        item["pass_at_1"] = result.pass_at_1
    return data


def load_report(path: Path) -> RunReport:
    """A report read back from its ``latest.json`` (to re-render it without re-running)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    cells = [CellResult(**cell) for cell in data.pop("cells")]
    codegen = []
    for item in data.pop("codegen"):
        item.pop("pass_at_1", None)
        codegen.append(CodegenResult(**item))
    return RunReport(cells=cells, codegen=codegen, **data)


def _when(report: RunReport) -> str:
    minutes = f"{report.seconds / 60:.1f} min"
    if report.last_started and report.last_started != report.started:
        return (
            f"in runs started from {report.started} to {report.last_started}, "
            f"{minutes} of running in all"
        )
    return f"on {report.started} in {minutes}"


def merge_reports(old: RunReport, new: RunReport) -> RunReport:
    """``old`` with ``new``'s cells in place of the cells of the same suite and method (added
    when new), so one method can be re-run, or runs split over processes, into one report."""
    fresh = {(c.suite, c.method): c for c in new.cells}
    cells = [fresh.pop((c.suite, c.method), c) for c in old.cells] + list(fresh.values())
    commands = [c for c in (old.command, new.command) if c]
    return RunReport(
        command=" ; ".join(dict.fromkeys(commands)),
        started=min(old.started, new.started),
        last_started=max(old.last_started or old.started, new.started),
        seconds=old.seconds + new.seconds,
        settings=new.settings,
        cells=cells,
        codegen=new.codegen or old.codegen,
        notes=list(dict.fromkeys([*old.notes, *new.notes])),
    )


def write_report(report: RunReport, out: Path) -> list[Path]:
    """Write ``latest.md``, ``latest.json``, ``r_at_5.png`` and ``README-results.md`` in ``out``."""
    from apipilot.evaluation.plot import plot_r5

    out.mkdir(parents=True, exist_ok=True)
    written = []
    plot = out / "r_at_5.png"
    has_plot = plot_r5(report.cells, plot)
    if has_plot:
        written.append(plot)
    text = markdown(report, plot.name if has_plot else None)
    for name, content in (
        ("latest.md", text),
        ("README-results.md", text.replace("](r_at_5.png)", f"]({out.as_posix()}/r_at_5.png)")),
        ("latest.json", json.dumps(to_json(report), separators=(",", ":"), ensure_ascii=False)),
    ):
        (out / name).write_text(content + "\n", encoding="utf-8")
        written.append(out / name)
    return written
