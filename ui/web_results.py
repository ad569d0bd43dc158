"""The Results tab: the latest evaluation table and plot written by `make eval`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apipilot._data import package_data

TABLE = "latest.md"
PLOT = "r_at_5.png"
NO_RESULTS = "No evaluation results yet — run `make eval` to make them."


def default_results_dir() -> Path:
    return package_data("results")


@dataclass(frozen=True)
class Results:
    markdown: str
    plot: Path | None


def load_results(directory: Path) -> Results:
    """The table (Markdown) and plot in ``directory``; a friendly note for what is missing."""
    table = directory / TABLE
    plot = directory / PLOT
    text = ""
    if table.is_file():
        try:
            text = table.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            text = f"⚠️ cannot read {table}: {exc}"
    if not text.strip():
        text = NO_RESULTS if not plot.is_file() else f"{NO_RESULTS} (only the plot exists)"
    return Results(text, plot if plot.is_file() else None)
