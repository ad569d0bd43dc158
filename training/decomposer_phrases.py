"""Phrases for decomposer demonstrations: an API-sized step, its general skill, and the varied
surface form a person might write for a sequence of steps (joiners, openers, paraphrased verbs,
made-up details). Pure functions of their inputs and a ``random.Random``."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from apipilot.agents.demonstrations import subtask_text
from apipilot.agents.text import OPERATION_VERBS, strip_surface
from apipilot.indexes.record import ApiRecord

MAX_STEP_WORDS = 12
MAX_SKILL_WORDS = 6
# Summaries that open with one of these are operations; "Tabular data that ..." is not.
VERBS = OPERATION_VERBS | {
    "access",
    "adjust",
    "assign",
    "attach",
    "broadcast",
    "bucket",
    "cast",
    "change",
    "clip",
    "collect",
    "compare",
    "construct",
    "copy",
    "detect",
    "determine",
    "difference",
    "drain",
    "estimate",
    "evaluate",
    "expand",
    "fetch",
    "fit",
    "format",
    "generate",
    "hold",
    "index",
    "interpolate",
    "invert",
    "lookup",
    "mask",
    "pass",
    "perform",
    "permute",
    "pick",
    "prefetch",
    "query",
    "rank",
    "reduce",
    "reindex",
    "resample",
    "reverse",
    "roll",
    "rotate",
    "scale",
    "search",
    "serialize",
    "set",
    "shift",
    "slice",
    "squeeze",
    "strip",
    "subtract",
    "swap",
    "test",
    "trace",
    "transpose",
    "trim",
    "truncate",
    "unpack",
    "unstack",
    "update",
    "validate",
    "wrap",
    "yield",
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "return": ("get", "obtain"),
    "compute": ("calculate", "work out"),
    "calculate": ("compute",),
    "create": ("make", "build"),
    "construct": ("build", "make"),
    "make": ("create",),
    "remove": ("drop", "delete"),
    "drop": ("remove",),
    "convert": ("turn", "transform"),
    "read": ("load",),
    "load": ("read",),
    "write": ("save", "store"),
    "save": ("write",),
    "combine": ("merge", "join"),
    "concatenate": ("join", "chain"),
    "split": ("divide", "break"),
    "find": ("locate", "look up"),
    "get": ("fetch", "retrieve"),
    "select": ("pick", "choose"),
    "sort": ("order",),
    "count": ("tally",),
    "check": ("test", "verify"),
    "test": ("check",),
    "apply": ("run",),
    "group": ("bucket",),
    "replace": ("substitute",),
    "generate": ("produce",),
    "determine": ("find out",),
    "iterate": ("loop",),
    "shuffle": ("randomly reorder",),
    "open": ("access",),
}
CONTEXTS = (
    "I have a {noun} called {var}.",
    'My {noun} is stored in "{file}".',
    'There is a {noun} with a column "{column}".',
    "Suppose we have a {noun}.",
    "I am working with a {noun} of {var}.",
)
NOUNS = ("list", "table", "data frame", "array", "datapipe", "dataset", "series", "file")
SENTENCE_MARKS = ("First, ", "Then ", "Next, ", "After that, ")
JOINERS = (", then ", " and then ", "; ", ". Then ", " and ", ", after that ")
OPENERS = ("", "", "", "I need to ", "How do I ", "I want to ", "Help me ", "First, ")
FILES = ("data.csv", "rows.txt", "input.json", "records.jsonl", "log.txt", "sales.tsv")
COLUMNS = ("price", "name", "age", "score", "city", "total", "user_id", "date")
VARS = ("arr", "df", "x", "values", "items", "table", "pipe", "series")
DETAILS = (
    ' from "{file}"',
    ' for the column "{column}"',
    " of {var}",
    " with {number} elements",
    " in the {column} column",
    ' stored in "{file}"',
)
_STOP_TAIL = frozenset(
    ("a", "an", "the", "of", "to", "with", "and", "in", "for", "by", "from", "on", "or", "at",
     "as", "into", "that", "which", "if", "its", "their", "this", "each", "all", "any", "given",
     "whether", "are", "is", "be", "was", "when", "where", "can", "not")
)  # fmt: skip
_IDENTIFIER = re.compile(r"[A-Za-z0-9]*[a-z][A-Z]\w*|\w*_\w*|\S*\.\S+|\S*[()\[\]<>=`*]\S*")


def is_operation(record: ApiRecord) -> bool:
    """Whether the API's summary opens with a verb (an operation one call can do)."""
    words = record.summary.split()
    if not words or not words[0].isalpha():
        return False
    first = subtask_text(record).split()[0].lower()
    return first in VERBS


def step_phrase(record: ApiRecord) -> str | None:
    """A short imperative step from the API's summary (first clause, at most 12 words)."""
    if not is_operation(record):
        return None
    text = subtask_text(record).replace("`", "")
    text = re.split(r"\s\(|, | - | -- |: ", text)[0]
    words = text.split()[:MAX_STEP_WORDS]
    while len(words) > 2 and words[-1].lower() in _STOP_TAIL:
        words.pop()
    return " ".join(words) if len(words) >= 2 else None


def skill_phrase(step: str) -> str | None:
    """The general operation of a step: lower case, no identifiers, numbers or file names."""
    words = [w for w in strip_surface(step).split() if not _IDENTIFIER.fullmatch(w)]
    words = [w.lower().strip(",;:") for w in words if len(w.strip(",;:")) > 1 or w == "a"]
    words = words[:MAX_SKILL_WORDS]
    while len(words) > 1 and words[-1] in _STOP_TAIL:
        words.pop()
    words = [w for w in words if w]
    return " ".join(words) if len(words) >= 2 else None


def clause(step: str, rng: random.Random) -> str:
    """The step as a person might write it: lower-cased, sometimes with another verb."""
    first, _, rest = step.partition(" ")
    verb = first.lower()
    if verb in SYNONYMS and rng.random() < 0.3:
        verb = rng.choice(SYNONYMS[verb])
    return f"{verb} {rest}".strip()


def detail(rng: random.Random) -> str:
    template = rng.choice(DETAILS)
    return template.format(
        file=rng.choice(FILES),
        column=rng.choice(COLUMNS),
        var=rng.choice(VARS),
        number=rng.randint(2, 500),
    )


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def context_sentence(rng: random.Random) -> str:
    """A sentence of background, as people put before what they want done."""
    return rng.choice(CONTEXTS).format(
        noun=rng.choice(NOUNS), var=rng.choice(VARS), file=rng.choice(FILES),
        column=rng.choice(COLUMNS),
    ) + " "  # fmt: skip


def requirement_text(
    steps: Sequence[str], rng: random.Random, long_forms: Sequence[str] | None = None
) -> str:
    """One requirement for ``steps``: varied joiners, opener, verbs, details, sometimes a
    sentence of background, a step spelled out at length (``long_forms``: the API's fuller
    summary) or one sentence per step."""
    clauses = [clause(s, rng) for s in steps]
    if long_forms is not None and rng.random() < 0.3:
        i = rng.randrange(len(clauses))
        clauses[i] = clause(long_forms[i], rng)
    if rng.random() < 0.35:
        i = rng.randrange(len(clauses))
        clauses[i] += detail(rng)
    if rng.random() < 0.2:
        clauses = [
            c if i == 0 or rng.random() < 0.5 else _capitalise(c) for i, c in enumerate(clauses)
        ]
    background = context_sentence(rng) if rng.random() < 0.2 else ""
    opener = rng.choice(OPENERS)
    style = rng.random()
    if len(clauses) == 1:
        body = clauses[0]
    elif style < 0.15:  # "First, a. Then b. Finally, c."
        marks = (*SENTENCE_MARKS[: len(clauses) - 1], "Finally, ")
        return background + " ".join(f"{m}{c}." for m, c in zip(marks, clauses, strict=True))
    elif style < 0.5:  # "a, b, then c"
        last = rng.choice((", then ", " and then ", ", and "))
        body = ", ".join(clauses[:-1]) + last + clauses[-1]
    else:
        joiner = rng.choice(JOINERS if not opener.startswith("How") else JOINERS[:3])
        body = joiner.join(clauses)
    end = "?" if opener.startswith("How") else "."
    return background + _capitalise(opener + body) + end
