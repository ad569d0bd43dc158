"""Parse one Python docstring (Google, NumPy or Sphinx style) into summary and examples."""

from __future__ import annotations

import re
from dataclasses import dataclass

import griffe

from apipilot.indexes.readers.jsonl import docstring_examples
from apipilot.indexes.record import first_sentence

STYLE_ORDER: list[griffe.DocstringStyle] = ["google", "numpy", "sphinx"]

# griffe's heuristics miss Sphinx docstrings whose first line is already a field.
_SPHINX_FIELD = re.compile(
    r"^\s*:(param|parameter|arg|argument|type|returns?|rtype|raises?)\b", re.M
)


@dataclass(frozen=True)
class ParsedDocstring:
    summary: str
    doc: str
    examples: tuple[str, ...]


def parse_docstring(docstring: griffe.Docstring) -> ParsedDocstring:
    """Summary, full text and examples of ``docstring``.

    The style is inferred by griffe's heuristics (Google, then NumPy, then Sphinx), with
    Google as the default. Parser errors propagate; the caller decides how to count them.
    """
    raw = docstring.value
    style, sections = griffe.infer_docstring_style(docstring, style_order=STYLE_ORDER)
    if style is None:
        style = griffe.Parser.sphinx if _SPHINX_FIELD.search(raw) else griffe.Parser.google
    if sections is None:
        sections = griffe.parse(docstring, style)
    summary = ""
    examples: list[str] = []
    for section in sections:
        if section.kind is griffe.DocstringSectionKind.text and not summary:
            summary = first_sentence(str(section.value))
        elif isinstance(section, griffe.DocstringSectionExamples):
            for kind, text in section.value:
                if kind is griffe.DocstringSectionKind.examples:
                    examples.extend(docstring_examples(text) or (text,))
    examples.extend(docstring_examples(raw))
    return ParsedDocstring(summary=summary, doc=raw, examples=tuple(dict.fromkeys(examples)))


def raw_docstring(docstring: griffe.Docstring) -> ParsedDocstring:
    """The fallback for a docstring no parser could read: the raw text, unparsed."""
    raw = docstring.value
    return ParsedDocstring(first_sentence(raw), raw, docstring_examples(raw))
