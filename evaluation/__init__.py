"""Evaluation: suites with gold APIs, ranking metrics, and the harness that scores methods."""

from __future__ import annotations
