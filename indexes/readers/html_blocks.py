"""Find the block an anchor points at in an HTML page and turn it into text.

Pages are parsed by selectolax's Lexbor backend, an HTML5 parser: broken markup, implied
end tags and character references are handled as a browser would. Lexbor's tree builder
takes time proportional to the nesting depth for each block start tag, so a hostile page of
nested ``<div>`` s would take minutes; :func:`bounded_nesting` flattens nesting deeper than
``MAX_DEPTH`` before parsing, and the tree is walked with an explicit stack, never recursion.

For Sphinx output, an anchor on a ``<dt>`` gives the ``<dt>`` (signature) and the ``<dd>``
after it (documentation) without the nested API blocks (a class's methods have their own
anchors); an anchor on a heading (mkdocstrings) gives the heading and what follows it up to
the next heading of its level; any other anchor gives its enclosing section without nested
sections.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import sub

from selectolax.lexbor import LexborHTMLParser, LexborNode

from apipilot.indexes.readers.jsonl import docstring_examples

# fmt: off
VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
})
BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
})
# Elements whose start tag closes an open one of their kind: they do not deepen the tree.
SELF_CLOSING_KIND = frozenset({
    "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option", "optgroup",
    "rb", "rt", "rp", "caption", "colgroup", "html", "head", "body",
})
# fmt: on
DROPPED = frozenset({"script", "style", "template", "head", "noscript"})
# Sphinx decorations that are not documentation text.
DROPPED_CLASSES = frozenset({"headerlink", "viewcode-link", "viewcode-back"})
DROPPED_SELECTOR = ", ".join([*sorted(DROPPED), *(f".{name}" for name in sorted(DROPPED_CLASSES))])
SECTION_SELECTOR = "section, div.section"
# Nested API blocks: Sphinx's ``<dl class="py method">``, mkdocstrings' wrappers of each
# object and of a class's members, and subsections; they have anchors of their own.
NESTED_SELECTOR = f"dl.py, div.doc-object, div.doc-children, {SECTION_SELECTOR}"
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
MAX_BLOCK_CHARS = 20_000
MAX_DEPTH = 256
_FLAT_NAMES = b"|".join(sorted(name.encode() for name in VOID | SELF_CLOSING_KIND))
# A start or end tag (of lower-cased HTML) that can deepen the tree; group 1 is its slash.
_DEEPENING_TAG = re.compile(rb"<(/?)(?!(?:" + _FLAT_NAMES + rb")[\s/>])[a-z][^>]*>?")


@dataclass
class Page:
    """A parsed page, its elements by ``id``, and the ``mem_id`` s of elements that text
    extraction treats specially (found once per page by Lexbor's selector engine)."""

    tree: LexborHTMLParser
    ids: dict[str, LexborNode]
    dropped: frozenset[int]  # scripts, styles, Sphinx's link decorations
    nested: frozenset[int]  # nested API blocks and sections
    sections: frozenset[int]


def parse_page(html: str | bytes) -> Page:
    """Parse a page (bytes are read as UTF-8, bad bytes replaced) and index its ``id`` s."""
    data = html.encode("utf-8", "surrogatepass") if isinstance(html, str) else html
    tree = LexborHTMLParser(bounded_nesting(data))
    ids: dict[str, LexborNode] = {}
    for node in tree.css("[id]"):
        ids.setdefault(node.id or "", node)  # the first of repeated ids, as browsers do
    return Page(
        tree,
        ids,
        dropped=_mem_ids(tree, DROPPED_SELECTOR),
        nested=_mem_ids(tree, NESTED_SELECTOR),
        sections=_mem_ids(tree, SECTION_SELECTOR),
    )


def _mem_ids(tree: LexborHTMLParser, selector: str) -> frozenset[int]:
    return frozenset(node.mem_id for node in tree.css(selector))


def nesting_depth(html: bytes) -> int:
    """How deep the tags of ``html`` nest, counted from the tags alone: elements like ``<p>``
    and ``<li>`` that close their kind do not count, stray end tags do not go below 0."""
    steps = [-1 if slash else 1 for slash in _DEEPENING_TAG.findall(html.lower())]
    depths = list(accumulate(steps, initial=0))
    # A walk clamped at 0 is the free walk minus its lowest point so far.
    deepest: int = max(map(sub, depths, accumulate(depths, min)))
    return deepest


def bounded_nesting(html: bytes, limit: int = MAX_DEPTH) -> bytes:
    """``html`` without the start and end tags nested deeper than ``limit`` (their text is
    kept). Depth is an over-estimate on sloppy markup, as :func:`nesting_depth` says."""
    if html.count(b"<") <= limit or nesting_depth(html) <= limit:
        return html
    parts: list[bytes] = []
    depth = start = 0
    for match in _DEEPENING_TAG.finditer(html.lower()):  # bytes.lower keeps every offset
        if match.group(1):
            cut = depth > limit
            depth = max(0, depth - 1)
        else:
            cut = depth >= limit
            depth += 1
        if cut:
            parts.append(html[start : match.start()])
            start = match.end()
    parts.append(html[start:])
    return b"".join(parts)


@dataclass(frozen=True)
class Block:
    """The text of one anchored block: its heading or signature line, body and code."""

    head: str
    body: str
    code: tuple[str, ...]
    prose: str = ""  # the body without its code blocks, where a summary comes from

    @property
    def examples(self) -> tuple[str, ...]:
        """Code blocks, doctest prompts stripped (``>>>`` blocks split as in docstrings)."""
        out: list[str] = []
        for code in self.code:
            out.extend(docstring_examples(code) or (code,))
        return tuple(dict.fromkeys(e for e in out if e.strip()))


def anchored_block(page: Page, anchor: str) -> Block | None:
    """The block ``anchor`` points at; the main content for an empty anchor; None if absent."""
    if not anchor:
        return _block(page, "", [_find_main(page.tree)], nested=True)
    node = page.ids.get(anchor)
    if node is None:
        return None
    tag = node.tag or ""
    if tag == "dt":
        dd = _next_element(node)
        body = [dd] if dd is not None and dd.tag == "dd" else []
        return _block(page, _text(page, [node]), body)
    if tag in HEADINGS:
        return _block(page, _text(page, [node]), _following_content(page, node), top=False)
    container = node if _is_container(page, node) else _enclosing_section(page, node)
    heading = _first_descendant(container, HEADINGS)
    head = _text(page, [heading]) if heading is not None else ""
    return _block(page, head, [container], skip=heading)


# A paragraph of a block's text, and whether it is a code block.
Paragraph = tuple[str, bool]


def _block(
    page: Page,
    head: str,
    body: Sequence[LexborNode],
    *,
    nested: bool = False,
    skip: LexborNode | None = None,
    top: bool = True,
) -> Block:
    paragraphs = _paragraphs(page, body, nested=nested, skip=skip, top=top)
    code = tuple(text for text, is_code in paragraphs if is_code and text.strip())
    return Block(head, _join(paragraphs), code, _join(paragraphs, with_code=False))


def _text(page: Page, nodes: Sequence[LexborNode]) -> str:
    return _join(_paragraphs(page, nodes))


def _join(paragraphs: list[Paragraph], *, with_code: bool = True) -> str:
    text = "\n\n".join(p for p, is_code in paragraphs if (with_code or not is_code) and p.strip())
    text = text.replace("\u2192", "->").replace("\u00b6", "")
    return text[:MAX_BLOCK_CHARS].strip()


def _paragraphs(
    page: Page,
    nodes: Sequence[LexborNode],
    *,
    nested: bool = False,
    skip: LexborNode | None = None,
    top: bool = True,
) -> list[Paragraph]:
    """The paragraphs under ``nodes``: a block element ends one, a ``<pre>`` is one.

    Nested API blocks are left out unless ``nested`` (``top`` exempts ``nodes`` themselves);
    so are ``skip`` (a heading already used), scripts, styles and Sphinx's link decorations.
    """
    paragraphs: list[Paragraph] = []
    buffer: list[str] = []
    left_out = page.dropped if skip is None else page.dropped | {skip.mem_id}
    nested_api = frozenset[int]() if nested else page.nested

    def flush() -> None:
        text = " ".join("".join(buffer).split())
        if text:
            paragraphs.append((text, False))
        buffer.clear()

    # None marks the end of a block element; the flag says whether a node is exempt.
    stack: list[tuple[LexborNode, bool] | None] = [(n, top) for n in reversed(nodes)]
    while stack:
        item = stack.pop()
        if item is None:
            flush()
            continue
        node, exempt = item
        tag = node.tag
        if tag == "-text":
            buffer.append(node.text_content or "")
            continue
        if tag is None or (tag.startswith("-") and tag != "-document"):
            continue  # comments, doctypes
        mem_id = node.mem_id
        if mem_id in left_out or (not exempt and mem_id in nested_api):
            continue
        if tag == "pre":
            flush()
            paragraphs.append((_raw(page, node).strip("\n"), True))
            continue
        if tag in BLOCK:
            flush()
            stack.append(None)
        stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))
    flush()
    return paragraphs


def _raw(page: Page, pre: LexborNode) -> str:
    """The text of a ``<pre>`` as written, without scripts and link decorations."""
    if pre.css_first(DROPPED_SELECTOR) is None:
        return pre.text(deep=True)
    out: list[str] = []
    stack = list(reversed(list(pre.iter(include_text=True))))
    while stack:
        node = stack.pop()
        if node.tag == "-text":
            out.append(node.text_content or "")
        elif node.mem_id not in page.dropped:
            stack.extend(reversed(list(node.iter(include_text=True))))
    return "".join(out)


def _is_container(page: Page, node: LexborNode) -> bool:
    """A section, or a block element with content of its own (not an empty target span)."""
    if node.mem_id in page.sections:
        return True
    return node.tag in BLOCK and bool(_text(page, [node]))


def _enclosing_section(page: Page, node: LexborNode) -> LexborNode:
    current = node
    while current.parent is not None:
        current = current.parent
        if current.mem_id in page.sections or current.tag in ("main", "body"):
            return current
    return current


def _following_content(page: Page, heading: LexborNode) -> list[LexborNode]:
    """What follows a heading up to the next heading of its level or above (mkdocstrings
    puts an object's anchor on an ``<h2>``, its docs in the ``<div>`` after it)."""
    level = int((heading.tag or "h6")[1])
    content: list[LexborNode] = []
    sibling = heading.next
    while sibling is not None:
        tag = sibling.tag or ""
        if tag in HEADINGS and int(tag[1]) <= level:
            break
        if sibling.mem_id in page.sections:
            break
        content.append(sibling)
        sibling = sibling.next
    return content


def _find_main(tree: LexborHTMLParser) -> LexborNode:
    root = tree.root
    if root is None:  # pragma: no cover - Lexbor always builds <html> for a document
        raise ValueError("the page has no root element")
    for node in _elements(root):
        if node.tag == "main" or (node.is_element_node and node.attrs.get("role") == "main"):
            return node
    return tree.body or root


def _first_descendant(node: LexborNode, tags: frozenset[str]) -> LexborNode | None:
    for candidate in _elements(node):
        if candidate.tag in tags and candidate.mem_id != node.mem_id:
            return candidate
    return None


def _elements(node: LexborNode) -> Iterator[LexborNode]:
    """``node`` and the nodes under it in document order (elements and comments)."""
    return node.traverse(include_text=False)


def _next_element(node: LexborNode) -> LexborNode | None:
    sibling = node.next
    while sibling is not None and not sibling.is_element_node:
        sibling = sibling.next
    return sibling
