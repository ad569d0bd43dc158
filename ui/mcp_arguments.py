"""Tool-argument errors a model can act on, instead of pydantic's validation dump.

The MCP SDK validates a call's arguments against the tool's input schema and reports a
failure as ``Error executing tool NAME: N validation errors for NAMEArguments …`` with
pydantic's URLs. :func:`argument_error` rewrites that into one short message: each bad
argument and what is wrong with it, the arguments the tool takes, and a hint for the usual
mistakes (a Context7 v1 argument name sent to the current tool, or the reverse).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from apipilot.errors import echo

# Argument names of the other Context7 tool generation: (what was sent, tool to call instead).
_OTHER_GENERATION = {
    "context7CompatibleLibraryID": (
        "libraryId",
        "get-library-docs (Context7 v1: context7CompatibleLibraryID, topic, tokens)",
    ),
    "libraryId": ("context7CompatibleLibraryID", "query-docs (libraryId, query)"),
}
LIBRARY_ID_FIELDS = ("libraryId", "context7CompatibleLibraryID")


def argument_error(
    tool: str,
    error: ValidationError,
    arguments: Mapping[str, Any],
    schema: Mapping[str, Any] | None,
    library_id_hint: str = "",
) -> str:
    """The message for ``arguments`` of ``tool`` that failed ``schema`` with ``error``."""
    problems = []
    fields = set()
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        fields.add(field)
        if item["type"] == "missing":
            problems.append(f"{field} is required")
        else:
            got = arguments.get(field)
            shown = f" (got {echo(str(got), 60)})" if field in arguments else ""
            problems.append(f"{field}: {item['msg']}{shown}")
    parts = [f"bad arguments for {tool}: " + "; ".join(problems)]
    if accepted := _accepted(schema):
        parts.append(f"{tool} takes {accepted}")
    for sent, (wanted, other_tool) in _OTHER_GENERATION.items():
        if sent in arguments and wanted in fields:
            parts.append(f"{sent} belongs to {other_tool}: call that tool or pass {wanted}")
    if library_id_hint and fields & set(LIBRARY_ID_FIELDS):
        parts.append(library_id_hint)
    return ". ".join(parts)


def _accepted(schema: Mapping[str, Any] | None) -> str:
    """``name (required), other (integer, optional) …`` from a JSON schema."""
    if not schema:
        return ""
    required = set(schema.get("required", ()))
    described = []
    for name, spec in schema.get("properties", {}).items():
        kind = spec.get("type") or "/".join(
            str(option.get("type")) for option in spec.get("anyOf", []) if option.get("type")
        )
        need = "required" if name in required else "optional"
        described.append(f"{name} ({kind + ', ' if kind else ''}{need})")
    return ", ".join(described)
