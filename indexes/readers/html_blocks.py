"""Find the block an anchor points at in an HTML page and turn it into text.

A small tree is built with the standard library's ``html.parser``, tolerant of broken
markup: unknown end tags are ignored, unclosed elements are closed by their parent's end,
HTML's optional end tags (``<p>``, ``<li>``, ``<dt>``/``<dd>``, table cells) are implied,
and nesting deeper than ``MAX_DEPTH`` is flattened so that walking the tree cannot overflow
the stack.
For Sphinx output, an anchor on a ``<dt>`` gives the ``<dt>`` (signature) and the ``<dd>``
after it (documentation) without the nested API blocks (a class's methods have their own
anchors); an anchor on a heading (mkdocstrings) gives the heading and what follows it up to
the next heading of its level; any other anchor gives its enclosing section without nested
sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

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
# fmt: on
DROPPED = frozenset({"script", "style", "template", "head", "noscript"})
# Sphinx decorations that are not documentation text.
DROPPED_CLASSES = frozenset({"headerlink", "viewcode-link", "viewcode-back"})
# mkdocstrings wraps each object, and a class's members, in these.
NESTED_API_CLASSES = frozenset({"doc-object", "doc-children"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
MAX_BLOCK_CHARS = 20_000
MAX_DEPTH = 200
# An open element of the first set is closed by the start of the tag, unless an element of
# the second set comes first (a nested list keeps its parent ``<li>`` open).
IMPLIED_END = {
    "li": ({"li"}, {"ul", "ol"}),
    "dt": ({"dt", "dd"}, {"dl"}),
    "dd": ({"dt", "dd"}, {"dl"}),
    "tr": ({"tr"}, {"table", "thead", "tbody", "tfoot"}),
    "td": ({"td", "th"}, {"tr", "table"}),
    "th": ({"td", "th"}, {"tr", "table"}),
}


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)
    parent: Node | None = None
    depth: int = 0

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root")
        self.current = self.root
        self.ids: dict[str, Node] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._imply_end(tag)
        parent = self.current
        node = Node(tag, {k: v or "" for k, v in attrs}, parent=parent, depth=parent.depth + 1)
        parent.children.append(node)
        if "id" in node.attrs:
            self.ids.setdefault(node.attrs["id"], node)
        if tag not in VOID and node.depth < MAX_DEPTH:
            self.current = node

    def _imply_end(self, tag: str) -> None:
        if tag in BLOCK and self.current.tag == "p":
            self.current = self.current.parent or self.root
        if tag not in IMPLIED_END:
            return
        closed, stops = IMPLIED_END[tag]
        node: Node | None = self.current
        while node is not None and node.tag not in stops:
            if node.tag in closed:
                self.current = node.parent or self.root
                return
            node = node.parent

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        before = self.current
        self.handle_starttag(tag, attrs)
        if self.current is not before and self.current.parent is not None:
            self.current = self.current.parent

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


@dataclass
class Page:
    root: Node
    ids: dict[str, Node]


def parse_page(html: str) -> Page:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return Page(builder.root, builder.ids)


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
        return _block("", _find_main(page.root), nested=True)
    node = page.ids.get(anchor)
    if node is None:
        return None
    if node.tag == "dt":
        dd = _next_element(node)
        return _block(_text(node), dd if dd is not None and dd.tag == "dd" else Node("#empty"))
    if node.tag in HEADINGS:
        return _block(_text(node), _following_content(node))
    container = node if _is_container(node) else _enclosing_section(node)
    heading = _first(container, set(HEADINGS))
    head = _text(heading) if heading is not None else ""
    return _block(head, container, skip=heading)


def _block(head: str, body: Node, *, nested: bool = False, skip: Node | None = None) -> Block:
    return Block(
        head,
        _text(body, nested=nested, skip=skip),
        _code(body, nested=nested),
        _text(body, nested=nested, skip=skip, with_code=False),
    )


def _following_content(heading: Node) -> Node:
    """What follows a heading up to the next heading of its level or above (mkdocstrings
    puts an object's anchor on an ``<h2>``, its docs in the ``<div>`` after it)."""
    level = int(heading.tag[1])
    content = Node("#content")
    siblings = heading.parent.children if heading.parent is not None else []
    index = next(i for i, child in enumerate(siblings) if child is heading)
    for sibling in siblings[index + 1 :]:
        if isinstance(sibling, Node):
            if sibling.tag in HEADINGS and int(sibling.tag[1]) <= level:
                break
            if _is_section(sibling):
                break
        content.children.append(sibling)
    return content


def _is_section(node: Node) -> bool:
    return node.tag == "section" or (node.tag == "div" and "section" in node.classes)


def _is_container(node: Node) -> bool:
    """A section, or a block element with content of its own (not an empty target span)."""
    return _is_section(node) or (node.tag in BLOCK and bool(_text(node)))


def _enclosing_section(node: Node) -> Node:
    current = node
    while current.parent is not None:
        current = current.parent
        if _is_section(current) or current.tag in ("main", "body"):
            return current
    return current


def _find_main(root: Node) -> Node:
    for node in _walk(root):
        if node.tag == "main" or node.attrs.get("role") == "main":
            return node
    return _first(root, {"body"}) or root


def _walk(node: Node) -> list[Node]:
    out: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(reversed([c for c in current.children if isinstance(c, Node)]))
    return out


def _first(node: Node, tags: set[str]) -> Node | None:
    for candidate in _walk(node):
        if candidate.tag in tags and candidate is not node:
            return candidate
    return None


def _next_element(node: Node) -> Node | None:
    if node.parent is None:
        return None
    siblings = node.parent.children
    index = next(i for i, child in enumerate(siblings) if child is node)
    for sibling in siblings[index + 1 :]:
        if isinstance(sibling, Node):
            return sibling
    return None


def _is_nested_api(node: Node, nested: bool) -> bool:
    """Nested API blocks (``<dl class="py method">``) and subsections have their own anchors."""
    if nested:
        return False
    if node.tag == "dl" and "py" in node.classes:
        return True
    if node.tag == "div" and node.classes & NESTED_API_CLASSES:
        return True
    return _is_section(node)


def _text(
    node: Node, *, nested: bool = False, skip: Node | None = None, with_code: bool = True
) -> str:
    paragraphs: list[str] = []
    buffer: list[str] = []

    def flush() -> None:
        text = " ".join("".join(buffer).split())
        if text:
            paragraphs.append(text)
        buffer.clear()

    def visit(current: Node, top: bool) -> None:
        if current is skip or current.tag in DROPPED or current.classes & DROPPED_CLASSES:
            return
        if not top and _is_nested_api(current, nested):
            return
        if current.tag == "pre":
            flush()
            if with_code:
                paragraphs.append("".join(_raw(current)).strip("\n"))
            return
        block = current.tag in BLOCK
        if block:
            flush()
        for child in current.children:
            if isinstance(child, str):
                buffer.append(child)
            else:
                visit(child, False)
        if block:
            flush()

    visit(node, True)
    flush()
    text = "\n\n".join(p for p in paragraphs if p.strip())
    text = text.replace("\u2192", "->").replace("\u00b6", "")
    return text[:MAX_BLOCK_CHARS].strip()


def _raw(node: Node) -> list[str]:
    out: list[str] = []
    for child in node.children:
        if isinstance(child, str):
            out.append(child)
        elif child.tag not in DROPPED and not child.classes & DROPPED_CLASSES:
            out.extend(_raw(child))
    return out


def _code(node: Node, *, nested: bool = False) -> tuple[str, ...]:
    blocks: list[str] = []

    def visit(current: Node, top: bool) -> None:
        if not top and _is_nested_api(current, nested):
            return
        if current.tag == "pre":
            blocks.append("".join(_raw(current)).strip("\n"))
            return
        for child in current.children:
            if isinstance(child, Node):
                visit(child, False)

    visit(node, True)
    return tuple(b for b in blocks if b.strip())
