"""Where the data that ships with apipilot lies: corpora, fine-tuned adapters, evaluation results.

The wheel installs them as package data (``apipilot/corpora``, ``apipilot/models``,
``apipilot/results``); in the checkout the same names are symlinks to ``corpora/``, ``models/``
and ``docs/results/``, so one path works in both. Deliberately not ``.resolve()``d.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).parent


def package_data(*parts: str) -> Path:
    """``apipilot/<parts...>``: e.g. ``package_data("models", "decomposer-smollm2")``."""
    return PACKAGE_DIR.joinpath(*parts)
