"""Surfaces a person or a tool touches: CLI, Gradio app, MCP server."""

from __future__ import annotations
