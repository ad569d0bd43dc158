"""Split Markdown or reStructuredText into sections, and name the API a section documents.

Markdown is parsed by markdown-it-py (CommonMark), reST by docutils; this module only maps
their output to :class:`Section` objects. A section starts at each heading (Markdown ATX and
setext headings, reST section titles) and at each reST API directive (``.. py:function::
foo(a, b)``, ``.. class:: Foo``; a member directive nested in a class directive is named
``Class.member``). Code is fenced and indented blocks (Markdown), literal blocks, ``code-block``
and ``doctest`` directives (reST), and ``>>>`` doctest paragraphs. A fenced block of a single
``def``/``class`` line after other content also starts a section (API references list
entries that way under one heading); longer code does not, so a tutorial's example
functions stay in their section.

docutils is run without its reader's transforms, with every report silenced, and with file
inclusion and ``raw`` disabled: a document never makes the parser read another file.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

# docutils ships no type information: its names are Any here.
from docutils import frontend, nodes, utils  # type: ignore[import-untyped]
from docutils.parsers.rst import (  # type: ignore[import-untyped]
    Directive,
    Parser,
    directives,
    roles,
)
from markdown_it import MarkdownIt

from apipilot.indexes.record import SPHINX_KINDS

_QUOTE = re.compile(r"^\s{0,3}>\s?")
_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_NAME = re.compile(rf"^{_DOTTED}$")
_KEYWORD = re.compile(r"^(?:async\s+def|def|class|function|method|property|attribute)\s+")
# A fenced block that is one ``def``/``class`` line: an API reference entry of its own.
_SIGNATURE_BLOCK = re.compile(r"^(?:async\s+def|def|class)\s+[A-Za-z_]\w*\s*[(:][^\n]*$")
_CALL_LINE = re.compile(rf"^({_DOTTED})\s*(\(.*\))\s*;?$")
MAX_HEADING_CHARS = 300
FILE_SUFFIXES = frozenset({"md", "markdown", "rst", "txt", "py", "html", "json", "toml", "yaml"})
MEMBER_ROLES = frozenset({"method", "classmethod", "staticmethod", "attribute", "property"})
API_ROLES = frozenset(
    {"function", "class", "method", "attribute", "data", "exception", "decorator",
     "classmethod", "staticmethod", "property", "module"}
)  # fmt: skip
CODE_DIRECTIVES = ("doctest", "testcode", "testoutput")  # Sphinx's; docutils knows code-block


class MarkupError(ValueError):
    """A document its parser could not handle (docutils fails on a few pathological inputs)."""


@dataclass
class Section:
    heading: str
    line: int
    directive: tuple[str, str] | None = None  # (role, argument) of a reST API directive
    prose: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    starts_with_code: bool = False
    parts: list[str] = field(default_factory=list)  # prose and code in order, for ``doc``

    def add_text(self, line: str) -> None:
        if line.strip():
            self.prose.append(line)
        self.parts.append(line)

    def add_code(self, block: str) -> None:
        if not block.strip():
            return
        if not self.prose and not self.code:
            self.starts_with_code = True
        self.code.append(block)
        self.parts.append("```\n" + block + "\n```")

    @property
    def text(self) -> str:
        return "\n".join(self.parts).strip()

    @property
    def prose_text(self) -> str:
        """The prose, blockquote markers removed (an llms.txt summary is a blockquote)."""
        return "\n".join(_QUOTE.sub("", line) for line in self.prose).strip()


def split_sections(text: str, *, rst: bool) -> list[Section]:
    """Sections of a document, the first one (before any heading) with an empty heading.

    Raises :class:`MarkupError` when docutils fails on a reST document.
    """
    sections = _rst_sections(text) if rst else _markdown_sections(text)
    return [s for s in sections if s.heading or s.parts]


# --- Markdown -------------------------------------------------------------------------------


@cache
def _markdown() -> MarkdownIt:
    # Only block structure is needed: inline parsing (links, emphasis) is skipped, and a
    # heading's inline token keeps its source text (backticks included).
    return MarkdownIt("commonmark").disable(["inline", "text_join"])


def _markdown_sections(text: str) -> list[Section]:
    source = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = source.split("\n")  # the line numbering markdown-it's ``map`` uses
    tokens = _markdown().parse(source)
    sections = [Section("", 1)]
    done = 0  # lines before this one are in a section already
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.level != 0 or token.map is None:
            continue
        start, end = token.map
        current = sections[-1]
        for line in lines[done:start]:  # blank lines, link definitions: kept as text
            current.add_text(line.rstrip())
        done = max(done, end)
        if token.type == "heading_open":
            inline = tokens[i] if i < len(tokens) else token
            sections.append(Section(" ".join(inline.content.split()), start + 1))
        elif token.type in ("fence", "code_block"):
            block = token.content.removesuffix("\n")
            if token.type == "fence" and current.parts and _SIGNATURE_BLOCK.match(block.strip()):
                current = Section("", start + 1)
                sections.append(current)
            current.add_code(block)
        elif token.type == "blockquote_open" and lines[start].lstrip().startswith(">>>"):
            # ``>>> call()`` outside code, which CommonMark reads as nested blockquotes
            current.add_code("\n".join(line.strip() for line in lines[start:end]).strip())
        else:
            for line in lines[start:end]:
                current.add_text(line.rstrip())
    for line in lines[done:]:
        sections[-1].add_text(line.rstrip())
    return sections


# --- reStructuredText -----------------------------------------------------------------------


class _ApiEntry(nodes.Element):  # type: ignore[misc]
    """The doctree node of an API directive: its role, argument and parsed body."""


class _AnyOption(dict[str, Any]):
    """An option spec that accepts every option (``:type:``, ``:value:``, ``:noindex:``…)."""

    def __missing__(self, key: str) -> Any:
        return directives.unchanged

    def __bool__(self) -> bool:  # docutils parses options only when the spec is truthy
        return True


class _ApiDirective(Directive):  # type: ignore[misc]
    """``.. py:function:: name(args)`` and its kin, standing in for Sphinx's Python domain."""

    optional_arguments = 1
    final_argument_whitespace = True
    option_spec: ClassVar[dict[str, Any]] = _AnyOption()
    has_content = True
    role: ClassVar[str] = "function"

    def run(self) -> list[nodes.Node]:
        argument = self.arguments[0].splitlines()[0].strip() if self.arguments else ""
        entry = _ApiEntry(role=self.role, argument=argument, line=self.lineno)
        self.state.nested_parse(self.content, self.content_offset, entry)
        return [entry]


class _CodeDirective(Directive):  # type: ignore[misc]
    """Sphinx's ``doctest``/``testcode``: a literal block of the directive's body."""

    optional_arguments = 1
    final_argument_whitespace = True
    option_spec: ClassVar[dict[str, Any]] = _AnyOption()
    has_content = True

    def run(self) -> list[nodes.Node]:
        return [nodes.literal_block(text="\n".join(self.content))]


def _api_directive(role: str) -> type[Directive]:
    return type(f"_{role.title()}Directive", (_ApiDirective,), {"role": role})


@cache
def _our_directives() -> dict[str, type[Directive]]:
    found: dict[str, type[Directive]] = {}
    for role in API_ROLES:
        found[role] = found[f"py:{role}"] = _api_directive(role)
    for name in CODE_DIRECTIVES:
        found[name] = _CodeDirective
    return found


@cache
def _rst_settings() -> Any:
    settings = frontend.get_default_settings(Parser)
    settings.report_level = 5  # nothing is reported...
    settings.halt_level = 5  # ...and nothing stops the parse
    settings.warning_stream = io.StringIO()
    settings.file_insertion_enabled = False  # .. include::, csv-table :file:/:url:
    settings.raw_enabled = False
    settings.syntax_highlight = "none"  # no Pygments run per code block
    settings.character_level_inline_markup = False
    return settings


_NAMESPACE_LOCK = threading.Lock()


@contextmanager
def _rst_namespace() -> Iterator[None]:
    """Our directives for one parse; docutils' global tables restored after it (a document's
    ``.. role::`` registers a role globally)."""
    with _NAMESPACE_LOCK:
        saved_directives = dict(directives._directives)
        saved_roles = dict(roles._roles)
        directives._directives.update(_our_directives())
        try:
            yield
        finally:
            directives._directives.clear()
            directives._directives.update(saved_directives)
            roles._roles.clear()
            roles._roles.update(saved_roles)


def parse_rst(text: str) -> nodes.document:
    """The docutils doctree of ``text`` (no transforms); :class:`MarkupError` on failure."""
    document = utils.new_document("<rst>", _rst_settings())
    try:
        with _rst_namespace():
            Parser().parse(text, document)
    except Exception as exc:  # docutils raises assorted errors on pathological input
        raise MarkupError(f"reST could not be parsed ({type(exc).__name__}: {exc})") from exc
    return document


def _rst_sections(text: str) -> list[Section]:
    sections = [Section("", 1)]
    walker = _DoctreeWalker(sections)
    try:
        walker.walk(parse_rst(text), sections[0], owner="")
    except RecursionError as exc:
        raise MarkupError("reST nested too deeply") from exc
    return sections


_CODE_NODES = (nodes.literal_block, nodes.doctest_block)
_BLOCK_NODES = (*_CODE_NODES, _ApiEntry, nodes.section)
_NOT_PROSE = (nodes.comment, nodes.target, nodes.substitution_definition)


class _DoctreeWalker:
    def __init__(self, sections: list[Section]) -> None:
        self.sections = sections

    def walk(self, parent: nodes.Element, section: Section, *, owner: str) -> None:
        """Add ``parent``'s children to ``section``; titles and API entries open new ones."""
        for child in parent.children:
            if isinstance(child, nodes.section):
                self.walk(child, self._open_titled(child), owner="")
            elif isinstance(child, _ApiEntry):
                self._entry(child, owner)
            elif isinstance(child, (nodes.title, *_NOT_PROSE)):
                continue  # the section's heading, comments, link targets
            elif isinstance(child, nodes.system_message):
                self._unknown_directive(child, section)
            elif isinstance(child, _CODE_NODES):
                section.add_code(child.astext().strip("\n"))
            elif isinstance(child, nodes.Element) and _has_blocks(child):
                self.walk(child, section, owner=owner)  # a container, an admonition, a quote
            elif isinstance(child, nodes.Element):
                for line in _prose(child).splitlines():
                    section.add_text(line.rstrip())
                section.add_text("")

    def _open_titled(self, node: nodes.section) -> Section:
        title = next((c for c in node.children if isinstance(c, nodes.title)), None)
        heading = " ".join(title.astext().split()) if title is not None else ""
        line = max((title.line or 2) - 1, 1) if title is not None else 1
        section = Section(heading, line)
        self.sections.append(section)
        return section

    def _entry(self, entry: _ApiEntry, owner: str) -> None:
        role, argument = str(entry["role"]), str(entry["argument"])
        name = argument.partition("(")[0].strip()
        if owner and role in MEMBER_ROLES and "." not in name:
            argument = f"{owner}.{argument}"  # a method documented inside its class
        section = Section(argument, int(entry.get("line") or 1), (role, argument))
        self.sections.append(section)
        inner = name if role in ("class", "exception") else ""
        self.walk(entry, section, owner=inner)

    @staticmethod
    def _unknown_directive(message: nodes.system_message, section: Section) -> None:
        """An unknown directive (``.. versionadded::``…) keeps its text; other messages go."""
        if not message.astext().startswith("Unknown directive type"):
            return
        for block in message.findall(nodes.literal_block):
            for line in block.astext().splitlines():
                section.add_text(line.rstrip())


def _prose(node: nodes.Element) -> str:
    """``node``'s text without the parser's messages nested in it (a block quote can hold an
    INFO message about its own first line)."""
    if not any(True for _ in node.findall(nodes.system_message, include_self=False)):
        return str(node.astext())
    copy = node.deepcopy()
    for message in list(copy.findall(nodes.system_message, include_self=False)):
        message.parent.remove(message)
    return str(copy.astext())


def _has_blocks(node: nodes.Element) -> bool:
    """Whether ``node`` holds code or API entries, which are kept apart from the prose."""
    return any(isinstance(n, _BLOCK_NODES) for n in node.findall(include_self=False))


# --- naming the API a section documents -----------------------------------------------------


@dataclass(frozen=True)
class ApiName:
    qualified: str
    signature: str
    kind: str


def api_name(section: Section) -> ApiName | None:
    """The API a section documents, from its reST directive, its heading, or — when the
    section opens with code — that code's first line (``def foo(...)``, ``foo(a, b)``)."""
    if section.directive is not None:
        role, argument = section.directive
        found = _split_call(argument)
        if found:
            return ApiName(found[0], found[1], SPHINX_KINDS[role])
    from_heading = _heading_name(section.heading)
    from_code = _code_name(section.code[0]) if section.starts_with_code else None
    if from_heading and from_code and from_code.qualified.endswith(from_heading.qualified):
        return ApiName(from_heading.qualified, from_code.signature, from_code.kind)
    return from_heading or from_code


def _split_call(text: str) -> tuple[str, str] | None:
    text = text.strip().rstrip(":").strip()
    name, paren, rest = text.partition("(")
    name = name.strip()
    if not _NAME.match(name):
        return None
    return name, (paren + rest).strip()


def _heading_name(heading: str) -> ApiName | None:
    heading = heading.strip()
    if len(heading) > MAX_HEADING_CHARS:  # no API is named so; keeps the regexes cheap
        return None
    quoted = re.match(r"^`+([^`]+)`+(?:\s*(?:[-—–:]\s*.*)?)?$", heading)
    if quoted:
        found = _split_call(_KEYWORD.sub("", quoted.group(1).strip()))
        return ApiName(found[0], found[1], "api") if found else None
    found = _split_call(_KEYWORD.sub("", heading))
    if found is None or (not found[1].startswith("(") and found[1]):
        return None
    name, signature = found
    last = name.rsplit(".", 1)[-1]
    dotted = "." in name and last.lower() not in FILE_SUFFIXES
    code_like = "_" in name or re.search(r"[a-z][A-Z]", name) is not None
    if signature or dotted or code_like:
        return ApiName(name, signature, "api")
    return None


def _code_name(block: str) -> ApiName | None:
    first = next((line.strip() for line in block.splitlines() if line.strip()), "")
    if len(first) > MAX_HEADING_CHARS * 4:
        return None
    first = re.sub(r"^(>>>|\$)\s*", "", first)
    keyword = re.match(r"^(async\s+def|def|class)\s+", first)
    if keyword:
        found = _split_call(first[keyword.end() :])
        if found is None:
            return None
        is_class = keyword.group(1) == "class"
        return ApiName(found[0], "" if is_class else found[1], "class" if is_class else "function")
    call = _CALL_LINE.match(first)
    if call:
        return ApiName(call.group(1), call.group(2), "api")
    return None
