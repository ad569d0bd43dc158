"""Split the main content of an HTML documentation page into sections, one at each heading.

The page is parsed once (:func:`indexes.readers.html_blocks.parse_page`); its main content is
an ``<article>``, else ``[role=main]`` / ``<main>``, else ``<body>``. Navigation, headers,
footers, scripts and Sphinx's link decorations are left out, and so are API blocks
(Sphinx's ``<dl class="py ...">``, mkdocstrings' ``div.doc-object``), which the reference
reader reads. Every ``<h1>``–``<h4>`` opens a section; ``<pre>`` is a code block; inline
``<code>`` keeps its backticks so the guide linker sees it as code. The sections are the
same :class:`~indexes.readers.markdown_sections.Section` objects Markdown gives, so guides
are made the same way (:mod:`indexes.readers.guides`).
"""

from __future__ import annotations

from selectolax.lexbor import LexborNode

from apipilot.indexes.readers.html_blocks import BLOCK, Page
from apipilot.indexes.readers.markdown_sections import Section

SECTION_HEADINGS = frozenset({"h1", "h2", "h3", "h4"})
LEFT_OUT = "nav, header, footer, aside, dl.py, div.doc-object, .md-sidebar, .sphinxsidebar"
MAIN = ("article", "[role=main]", "main")


def page_sections(page: Page) -> list[Section]:
    """The sections of the page's main content, in order (text before a first heading in
    a section with no heading)."""
    main = _main(page)
    if main is None:
        return []
    left_out = page.dropped | frozenset(node.mem_id for node in main.css(LEFT_OUT))
    sections = [Section("", 1)]
    buffer: list[str] = []

    def flush() -> None:
        text = " ".join("".join(buffer).split())
        if text:
            sections[-1].add_text(text)
        buffer.clear()

    stack: list[LexborNode | None] = [main]
    while stack:
        node = stack.pop()
        if node is None:
            flush()
            continue
        tag = node.tag or ""
        if tag == "-text":
            buffer.append(node.text_content or "")
            continue
        if tag.startswith("-") or node.mem_id in left_out:
            continue
        if tag in SECTION_HEADINGS:
            flush()
            heading = " ".join(node.text(deep=True).replace("\u00b6", "").split())
            sections.append(Section(heading, len(sections) + 1))
            continue
        if tag == "pre":
            flush()
            sections[-1].add_code(node.text(deep=True).strip("\n"))
            continue
        if tag == "code":
            buffer.append(f"`{node.text(deep=True)}`")
            continue
        if tag in BLOCK:
            flush()
            stack.append(None)
        stack.extend(reversed(list(node.iter(include_text=True))))
    flush()
    return [s for s in sections if s.heading or s.parts]


def _main(page: Page) -> LexborNode | None:
    for selector in MAIN:
        found = page.tree.css_first(selector)
        if found is not None:
            return found
    return page.tree.body or page.tree.root


def page_links(page: Page) -> list[str]:
    """The ``href`` of every link on the page, in order (navigation included)."""
    links: list[str] = []
    for node in page.tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if href:
            links.append(href)
    return links


def html_title(page: Page) -> str:
    node = page.tree.css_first("title")
    return " ".join(node.text(deep=True).split()) if node is not None else ""
