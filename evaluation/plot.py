"""The R@5 bar chart: one group per suite, one bar per method (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from apipilot.evaluation.harness import CellResult


def plot_r5(cells: Sequence[CellResult], path: Path) -> bool:
    """Write the chart to ``path``; False when there is nothing to plot."""
    if not cells:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = list(dict.fromkeys(c.suite for c in cells))
    methods = list(dict.fromkeys(c.method for c in cells))
    values = {(c.suite, c.method): c.metrics["R@5"] for c in cells}
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(8.0, 1.1 * len(suites) + 2), 4.5))
    for i, method in enumerate(methods):
        xs = [s + (i - (len(methods) - 1) / 2) * width for s in range(len(suites))]
        ys = [values.get((suite, method), 0.0) for suite in suites]
        ax.bar(xs, ys, width, label=method)
    ax.set_xticks(range(len(suites)))
    ax.set_xticklabels(suites, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("R@5")
    ax.set_ylim(0, 1)
    ax.set_title("R@5 per suite and method")
    ax.legend(fontsize=7, ncol=min(4, len(methods)))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
