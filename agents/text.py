"""Parsing and checking what the LM writes, and the deterministic methods used instead of it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from apipilot.retrieval.bm25 import tokenize

_NUMBERED = re.compile(r"^\s*(\d{1,2})[.)]\s*(.+?)\s*$")
_QUOTED = re.compile(r"""(["'`]).*?\1""")
_FILE_OR_PATH = re.compile(
    r"\S+\.(?:csv|txt|json|jsonl|tsv|gz|zip|tar|bz2|xz|py|md|png|jpg)\b|\S*/\S+"
)
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
# Steps end at a sentence, a semicolon, "then", "after that" or "followed by"; a comma ends
# one only when an operation follows (``_split_on_commas``).
_CLAUSE_SPLIT = re.compile(
    r"\s*;\s*|[.?!]\s+|,?\s+(?:and\s+)?then,?\s+|,?\s+after\s+that,?\s+"
    r"|,?\s+followed\s+by\s+",
    re.IGNORECASE,
)
# Words that open a sentence without being a step of their own ("Finally, we …").
DISCOURSE_MARKERS = frozenset(
    [
        "also",
        "and",
        "finally",
        "first",
        "firstly",
        "lastly",
        "next",
        "second",
        "secondly",
        "so",
        "then",
        "third",
        "whatsmore",
        "moreover",
        "additionally",
        "afterwards",
    ]
)
# " and " splits a clause only when an operation follows ("load X and shuffle it").
OPERATION_VERBS = frozenset(
    [
        "add",
        "aggregate",
        "assign",
        "attach",
        "augment",
        "clone",
        "copy",
        "display",
        "duplicate",
        "fetch",
        "generate",
        "show",
        "sort",
        "use",
        "append",
        "apply",
        "batch",
        "build",
        "cache",
        "calculate",
        "check",
        "collate",
        "combine",
        "compute",
        "concat",
        "concatenate",
        "convert",
        "count",
        "create",
        "cycle",
        "decode",
        "delete",
        "divide",
        "download",
        "drop",
        "encode",
        "enumerate",
        "extract",
        "fill",
        "filter",
        "find",
        "flatten",
        "get",
        "group",
        "insert",
        "iterate",
        "join",
        "keep",
        "list",
        "load",
        "make",
        "map",
        "merge",
        "multiply",
        "normalize",
        "open",
        "pad",
        "parse",
        "plot",
        "print",
        "read",
        "remove",
        "rename",
        "repeat",
        "replace",
        "reshape",
        "return",
        "round",
        "sample",
        "save",
        "select",
        "shuffle",
        "skip",
        "sort",
        "split",
        "stack",
        "sum",
        "take",
        "tokenize",
        "transform",
        "unbatch",
        "unzip",
        "write",
        "zip",
    ]
)
# Words of a request that name no operation or data: a clause made only of these (and stop
# words), "Return the result", "How would I do that", asks for nothing an API does.
REQUEST_WORDS = frozenset(
    (
        "return", "returns", "returned", "result", "results", "final", "output", "it", "its",
        "them", "do", "does", "would", "could", "should", "how", "what", "way", "ways", "any",
        "anything", "something", "nicely", "gracefully", "better", "best", "here", "want",
        "need", "like", "please", "can", "get", "got", "me", "my", "we", "our", "you", "your",
        "one", "those", "so", "just", "also", "still", "really", "example", "following",
        "above", "below",
    )
)  # fmt: skip
# Clauses of the deterministic split and of a skill description: a third of the large coarse
# dev requirements have more than 6 (docs/benchmarks.md, "Agent ablation").
MAX_SUBTASKS = 10
MAX_LM_SUBTASKS = 8  # steps of an LM decomposition (a long requirement can need more than 6)


def parse_numbered_list(text: str, *, first_number_given: bool = True) -> list[str]:
    """Items of a numbered list. With ``first_number_given`` the text continues a prompt that
    ended in ``1.``, so its first line is item 1 without the number. Stops at the first line
    that is not the next item."""
    lines = [line for line in text.strip("\n").splitlines()]
    items: list[str] = []
    expected = 1
    for i, line in enumerate(lines):
        if i == 0 and first_number_given and not _NUMBERED.match(line):
            if line.strip():
                items.append(line.strip())
                expected = 2
            continue
        match = _NUMBERED.match(line)
        if not match or int(match.group(1)) != expected:
            break
        items.append(match.group(2))
        expected += 1
    return items


def valid_subtasks(items: list[str], requirement: str, echoed: Iterable[str]) -> list[str] | None:
    """The distinct items if they are a usable decomposition, else ``None``.

    Repeated items are dropped first (a small LM often loops on a step). Usable: 1 to
    MAX_LM_SUBTASKS items of 2 to 30 words, each sharing a content word with the requirement,
    none restating the whole requirement (when there are several), and at most half of them
    copied from the few-shot examples: a small LM often repeats a shot wholesale, while a
    shot's step that the requirement also needs is a fair step (shots are chosen for their
    similar skills).
    """
    cleaned = [re.sub(r"\s+", " ", item).strip(" .") for item in items]
    distinct: list[str] = []
    for item in cleaned:
        if item and item.lower() not in (d.lower() for d in distinct):
            distinct.append(item)
    if not 1 <= len(distinct) <= MAX_LM_SUBTASKS:
        return None
    copied = {e.strip(" .").lower() for e in echoed}
    if 2 * sum(item.lower() in copied for item in distinct) > len(distinct):
        return None
    restated = requirement.strip(" .").lower()
    requirement_words = set(tokenize(requirement))
    for item in distinct:
        if not 2 <= len(item.split()) <= 30:
            return None
        if len(distinct) > 1 and item.lower() == restated:
            return None
        if not requirement_words & set(tokenize(item)):
            return None
    return distinct


def split_clauses(
    requirement: str, *, limit: int = MAX_SUBTASKS, keep_requests: bool = False
) -> list[str]:
    """Deterministic decomposition that keeps the requirement's own words: split at sentence
    ends, ``;``, ``then`` (``after that``, ``followed by``), and at a comma or ``and`` only
    when an operation verb follows ("load X, parse the rows and shuffle them"); opening
    markers ("Finally,", "Then") are dropped, a clause without a verb of two words or
    fewer joins the one before it, and a clause that names nothing to do ("Return the
    result": ``names_work``) is dropped unless ``keep_requests``. At most ``limit`` clauses."""
    parts: list[str] = []
    for sentence in _CLAUSE_SPLIT.split(requirement):
        for clause in _split_on_commas(sentence):
            parts.extend(_split_on_and(clause))
    parts = [_strip_markers(p) for p in parts]
    parts = [p for p in parts if p]
    merged: list[str] = []
    for part in parts:
        words = part.split()
        if merged and len(words) <= 2 and words[0].lower() not in OPERATION_VERBS:
            merged[-1] = f"{merged[-1]} {part}"  # a lone fragment belongs to the previous clause
        else:
            merged.append(part)
    kept = [c for c in merged if keep_requests or names_work(c)]
    return kept[:limit] or [requirement.strip()]


def names_work(clause: str) -> bool:
    """Whether ``clause`` has a word beyond stop words and ``REQUEST_WORDS``."""
    return any(token not in REQUEST_WORDS for token in tokenize(clause))


def _split_on_commas(sentence: str) -> list[str]:
    pieces: list[str] = []
    for piece in sentence.split(","):
        first = piece.split()[0].lower() if piece.split() else ""
        if first == "and" and len(piece.split()) > 1:
            first = piece.split()[1].lower()
        if pieces and first not in OPERATION_VERBS:
            pieces[-1] = f"{pieces[-1]},{piece}"
        else:
            pieces.append(piece)
    return pieces


def _strip_markers(clause: str) -> str:
    words = clause.strip(" .,;?!").split()
    while words and words[0].lower().strip(",") in DISCOURSE_MARKERS:
        words = words[1:]
    while words and words[-1].lower().strip(",") in DISCOURSE_MARKERS:
        words = words[:-1]
    return " ".join(words).strip(" .,;?!")


def _split_on_and(clause: str) -> list[str]:
    words = clause.split()
    pieces: list[list[str]] = [[]]
    for i, word in enumerate(words):
        following = words[i + 1].lower().strip(",.") if i + 1 < len(words) else ""
        if word.lower() == "and" and following in OPERATION_VERBS and pieces[-1]:
            pieces.append([])
        else:
            pieces[-1].append(word)
    return [" ".join(p) for p in pieces if p]


def strip_surface(text: str) -> str:
    """Remove surface details (quoted literals, file names and paths, numbers)."""
    text = _QUOTED.sub(" ", text)
    text = _FILE_OR_PATH.sub(" file ", text)
    text = _NUMBER.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip(" ,.")


def fallback_skills(requirement: str) -> str:
    """Deterministic skill description: the requirement's content words, surface removed."""
    return ", ".join(split_clauses(strip_surface(requirement).lower()))


def valid_skills(text: str, requirement: str) -> str | None:
    """A usable skill description (one line of 1–6 distinct clauses, surface-free), else None.

    Repeated clauses are dropped: a small LM often loops on its first clause.
    """
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    clauses: list[str] = []
    for clause in strip_surface(line).split(","):
        clause = clause.strip(" .;")
        if clause and clause.lower() not in (c.lower() for c in clauses):
            clauses.append(clause)
    if not 1 <= len(clauses) <= MAX_SUBTASKS:
        return None
    skills = ", ".join(clauses)
    if not 2 <= len(skills.split()) <= 40:
        return None
    if not set(tokenize(skills)) & set(tokenize(requirement)) and len(skills.split()) > 12:
        return None
    return skills
