"""The CAPIR agent: decompose, retrieve, rerank (LangGraph)."""

from __future__ import annotations
