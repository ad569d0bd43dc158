"""Defaults of ``apipilot eval`` that the CLI needs without importing the harness."""

from __future__ import annotations

DEFAULT_LM_LIMIT = 10  # tasks per suite for methods that run the LM (see evaluation/README.md)
