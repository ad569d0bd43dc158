"""Prompts for raw few-shot completion (small LMs follow a pattern better than a chat template)."""

from __future__ import annotations

from collections.abc import Sequence

from apipilot.agents.examples import Demonstration
from apipilot.agents.quoting import quote_doc
from apipilot.indexes.record import ApiRecord

# Library-independent shots for the skills step (it runs before examples are chosen).
SKILL_SHOTS: tuple[tuple[str, str], ...] = (
    (
        'Read the rows of "sales_2023.csv" and keep those where the price is above 100.',
        "read a delimited text file, filter records by a condition",
    ),
    (
        "Download the images listed in urls.txt, resize them to 64x64 and save them as PNG.",
        "read lines of a file, fetch remote content, resize images, write image files",
    ),
    (
        "Group the user records by country and count how many there are in each group.",
        "group records by a key, count the members of each group",
    ),
)

SKILLS_HEADER = (
    "Rewrite each programming requirement as the general skills it needs, "
    "without names, numbers or file names.\n\n"
)
DECOMPOSE_HEADER = "Split each requirement into the smallest steps that one API call can do.\n\n"


def skills_prompt(requirement: str) -> str:
    shots = "".join(f"Requirement: {r}\nSkills: {s}\n\n" for r, s in SKILL_SHOTS)
    return f"{SKILLS_HEADER}{shots}Requirement: {requirement.strip()}\nSkills:"


def decompose_prompt(requirement: str, examples: Sequence[Demonstration]) -> str:
    shots = ""
    for demo in examples:
        steps = "\n".join(f"{i}. {s}" for i, s in enumerate(demo.subtasks, start=1))
        shots += f"Requirement: {demo.requirement}\nSubtasks:\n{steps}\n\n"
    return f"{DECOMPOSE_HEADER}{shots}Requirement: {requirement.strip()}\nSubtasks:\n1."


def rerank_prompt(subtask: str) -> str:
    return f"Task: {subtask.strip()}\nThe API that does this task:"


REQUIREMENT_QUOTE_CHARS = 1000
RERANK_SUMMARY_WORDS = 14  # scoring cost grows with every token


def rerank_continuation(record: ApiRecord) -> str:
    names = record.name + (f" ({', '.join(record.aliases)})" if record.aliases else "")
    summary = " ".join(record.summary.split()[:RERANK_SUMMARY_WORDS])
    return f" {names}: {summary}"


def api_line(record: ApiRecord) -> str:
    """One comment line; documentation text is data, so it is quoted (``quote_doc``)."""
    alias = f" [also .{record.aliases[0]}()]" if record.aliases else ""
    return f"# - {quote_doc(f'{record.qualified_name or record.name}{alias}: {record.summary}')}"


def code_prompt(
    requirement: str, library: str, apis: Sequence[ApiRecord], examples: Sequence[Demonstration]
) -> str:
    lines = [f"# Library: {quote_doc(library)}", "# APIs to use:"]
    lines += [api_line(r) for r in apis]
    for demo in examples:
        if demo.code:
            lines += [f"# Example task: {quote_doc(demo.requirement)}", demo.code.strip(), ""]
    lines += [f"# Task: {quote_doc(requirement, limit=REQUIREMENT_QUOTE_CHARS)}", "# Code:", ""]
    return "\n".join(lines)
