"""Cut a record's long documentation into passages that are searched besides its head line.

A record's head line (``ApiRecord.search_text``: name, signature, summary) is one search unit;
its documentation body (docstring body, parameters, examples, a JSONL ``doc``; a guide's prose
and code blocks) becomes further units, its passages. Passages are cut on paragraph
boundaries to about ``PassageParams.chars`` characters (a longer paragraph on line boundaries,
a longer line on spaces) and start with the record's name, so each one says what it is about.
A body that adds nothing to the head line (empty, or just the summary) gives no passage.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from apipilot.indexes.record import ApiRecord

PASSAGES_VERSION = 1  # bump when the cutting rule changes: old passage vectors are not reused
_BLANK_LINES = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class PassageParams:
    """How passages are cut. ``chars``: target size of a passage's body; ``max_passages``: a
    cap per record (a huge docstring keeps its first ones); ``enabled=False`` builds a
    head-line-only index, as before passages."""

    enabled: bool = True
    chars: int = 600
    max_passages: int = 24

    def stamp(self) -> dict[str, Any]:
        """What an index header records (empty when passages are off)."""
        return {**asdict(self), "version": PASSAGES_VERSION} if self.enabled else {}


def passage_title(record: ApiRecord) -> str:
    """The name a passage starts with: a guide's title path, else the qualified name."""
    return record.qualified_name or record.name


def record_body(record: ApiRecord) -> str:
    """The documentation text of ``record`` beyond its head line: ``doc``, plus each example
    not already inside it (a guide's code blocks)."""
    parts = [record.doc.strip()] if record.doc.strip() else []
    for example in record.examples:
        code = example.strip()
        if code and code not in record.doc:
            parts.append(code)
    return "\n\n".join(parts)


def cut_passages(record: ApiRecord, params: PassageParams | None = None) -> list[str]:
    """The passages of ``record``: ``"<title>: <text>"`` pieces of its body, in order."""
    params = params or PassageParams()
    if not params.enabled:
        return []
    body = record_body(record)
    if not _adds_to_head(record, body):
        return []
    title = passage_title(record)
    pieces = _pack(_paragraphs(body, params.chars), params.chars)
    return [f"{title}: {piece}" for piece in pieces[: params.max_passages]]


def _adds_to_head(record: ApiRecord, body: str) -> bool:
    """Whether ``body`` says more than the head line (the summary and the signature)."""
    rest = _flat(body)
    summary = _flat(record.summary)
    if summary and rest.startswith(summary):
        rest = rest[len(summary) :].strip()
    return bool(rest) and rest not in _flat(record.search_text())


def _flat(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _paragraphs(body: str, size: int) -> list[str]:
    """Paragraphs of ``body``, each at most ``size`` characters (split on lines, then on
    spaces, then hard)."""
    out: list[str] = []
    for paragraph in _BLANK_LINES.split(body):
        paragraph = paragraph.strip("\n").rstrip()
        if not paragraph.strip():
            continue
        if len(paragraph) <= size:
            out.append(paragraph)
            continue
        out.extend(_split_long(paragraph, size))
    return out


def _split_long(paragraph: str, size: int) -> list[str]:
    lines: list[str] = []
    for line in paragraph.splitlines():
        while len(line) > size:
            cut = line.rfind(" ", size // 2, size)
            cut = cut if cut > 0 else size
            lines.append(line[:cut])
            line = line[cut:].lstrip()
        lines.append(line)
    return _pack(lines, size, joiner="\n")


def _pack(pieces: list[str], size: int, joiner: str = "\n\n") -> list[str]:
    """Join consecutive pieces while the result stays within ``size`` characters."""
    packed: list[str] = []
    current = ""
    for piece in pieces:
        if not current:
            current = piece
        elif len(current) + len(joiner) + len(piece) <= size:
            current += joiner + piece
        else:
            packed.append(current)
            current = piece
    if current.strip():
        packed.append(current)
    return packed
