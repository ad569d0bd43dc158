"""Guide records: the sections of one narrative page (Markdown, reST, HTML, a README).

A guide is ``ApiRecord(kind="guide", name=<section title>, qualified_name=<"Page / Section">,
doc=<prose>, examples=<code blocks>, source=<URL or path>)``; its ``links`` are filled after
every source of a build is read (:mod:`indexes.guide_links`). A section is kept when its prose
has at least ``MIN_GUIDE_WORDS`` words, or when it has code and a heading or at least
``MIN_CODE_GUIDE_WORDS`` words of prose ("A simple example" with its code is worth keeping; a
heading with a line of text is not).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from apipilot.indexes.readers.jsonl import docstring_examples
from apipilot.indexes.readers.markdown_sections import Section
from apipilot.indexes.record import ApiRecord, first_sentence

MIN_GUIDE_WORDS = 20
MIN_CODE_GUIDE_WORDS = 3
MAX_GUIDE_CHARS = 8_000
TITLE_SEPARATOR = " / "


def slug(heading: str) -> str:
    text = re.sub(r"[^\w\s-]", "", heading.lower()).strip()
    return re.sub(r"[\s_-]+", "-", text) or "section"


def page_title(sections: Iterable[Section], fallback: str) -> str:
    """The page's title: its first heading, else ``fallback`` (a file name, a URL path)."""
    for section in sections:
        if section.heading and section.directive is None:
            return _clean(section.heading)
    return fallback


def keep_as_guide(section: Section, *, min_words: int = MIN_GUIDE_WORDS) -> bool:
    words = len(section.prose_text.split())
    if words >= min_words:
        return True
    return bool(section.code) and (words >= MIN_CODE_GUIDE_WORDS or bool(section.heading))


def guide_record(
    section: Section,
    *,
    page: str,
    ident: str,
    source: str,
    library: str,
    version: str,
) -> ApiRecord:
    """The guide record of one section of the page titled ``page``."""
    heading = _clean(section.heading) or page
    title_path = page if heading == page else f"{page}{TITLE_SEPARATOR}{heading}"
    prose = plain_prose(section.prose_text)
    return ApiRecord(
        id=ident,
        library=library,
        version=version,
        name=heading,
        qualified_name=title_path,
        kind="guide",
        summary=first_sentence(prose),
        doc=prose[:MAX_GUIDE_CHARS],
        examples=code_examples(section.code),
        source=source,
    )


def page_guides(
    sections: list[Section],
    *,
    page: str,
    id_prefix: str,
    source: str,
    library: str,
    version: str,
    min_words: int = MIN_GUIDE_WORDS,
) -> list[ApiRecord]:
    """The guides of a page's sections that are worth keeping; ids ``id_prefix#slug``."""
    records: list[ApiRecord] = []
    for section in sections:
        if section.directive is not None or not keep_as_guide(section, min_words=min_words):
            continue
        anchor = slug(section.heading) if section.heading else ""
        records.append(
            guide_record(
                section,
                page=page,
                ident=f"{id_prefix}#{anchor}" if anchor else id_prefix,
                source=f"{source}#{anchor}" if anchor and _addressable(source) else source,
                library=library,
                version=version,
            )
        )
    return records


_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>`]+>`__?")
_TAG = re.compile(r"</?[A-Za-z!][^>\n]*>")


def plain_prose(text: str) -> str:
    """Prose without link targets, images and HTML tags (a README's badges and logos):
    ``[Console](https://…)`` → ``Console``."""
    text = _RST_LINK.sub(r"\1", _LINK.sub(r"\1", _IMAGE.sub("", text)))
    lines = (" ".join(_TAG.sub(" ", line).split()) for line in text.splitlines())
    return "\n".join(lines).strip()


def code_examples(blocks: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for block in blocks:
        out.extend(docstring_examples(block) or (block,))
    return tuple(dict.fromkeys(b for b in out if b.strip()))


def _addressable(source: str) -> bool:
    """A URL or an HTML file, where ``#anchor`` finds the section (not ``file.md:12``)."""
    return "://" in source or source.lower().endswith((".html", ".htm"))


def _clean(heading: str) -> str:
    return " ".join(heading.replace("\u00b6", "").split()).strip()
