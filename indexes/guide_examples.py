"""Worked examples from guides: a guide section with code that uses the library's APIs.

Each becomes a Skill-KNN demonstration (the agent turns it into one: skills and subtasks are
written there, from the requirement and the APIs' summaries), so a library indexed from its
own documentation has demonstrations without a hand-made example bank. The requirement is the
section's first sentence, prefixed with its title when that sentence is short; the APIs are the
guide's links that its code uses (at most ``MAX_APIS``, in order of first mention); the code
is its code blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from apipilot.indexes.record import ApiRecord

MAX_APIS = 4
MAX_CODE_CHARS = 2_000
MAX_REQUIREMENT_CHARS = 300
SHORT_SENTENCE_WORDS = 6
_IDENT = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class GuideExample:
    id: str
    requirement: str
    apis: tuple[ApiRecord, ...]  # reference records, in order of first mention
    code: str
    source: str


def guide_examples(records: Sequence[ApiRecord]) -> list[GuideExample]:
    """The worked examples of the guides among ``records`` (resolved against the others)."""
    by_name = {r.qualified_name or r.id: r for r in records if r.kind != "guide"}
    examples: list[GuideExample] = []
    for guide in records:
        if guide.kind != "guide" or not guide.examples or not guide.links:
            continue
        code = "\n\n".join(guide.examples)[:MAX_CODE_CHARS]
        used = set(_IDENT.findall(code))
        apis = [
            by_name[link]
            for link in guide.links
            if link in by_name and link.rsplit(".", 1)[-1] in used
        ][:MAX_APIS]
        requirement = requirement_of(guide)
        if apis and requirement:
            examples.append(GuideExample(guide.id, requirement, tuple(apis), code, guide.source))
    return examples


def requirement_of(guide: ApiRecord) -> str:
    """What a guide section shows how to do, in a sentence: its first sentence, after its
    title when that sentence is short (``Make a table. Add rows.``)."""
    title = guide.name.strip().rstrip(".:")
    sentence = guide.summary.strip()
    if len(sentence.split()) >= SHORT_SENTENCE_WORDS:
        text = sentence
    elif sentence:
        text = f"{title}: {sentence}" if title else sentence
    else:
        text = title
    return " ".join(text.split())[:MAX_REQUIREMENT_CHARS]
