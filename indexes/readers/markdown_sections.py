"""Split Markdown or reStructuredText into sections, and name the API a section documents.

A section starts at each heading: Markdown ``#`` and setext (``===``/``---`` underlined)
headings, reST underlined (and overlined) titles, and reST API directives
(``.. py:function:: foo(a, b)``, ``.. class:: Foo``). Headings inside code are ignored.
Code is fenced blocks (Markdown), ``::`` literal blocks and ``code-block`` directives
(reST), and ``>>>`` doctest paragraphs. A fenced block of a single ``def``/``class`` line
after other content also starts a section (API references list entries that way under
one heading); longer code does not, so a tutorial's example functions stay in their section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from apipilot.indexes.record import SPHINX_KINDS

_QUOTE = re.compile(r"^\s{0,3}>\s?")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_RST_ADORN = re.compile(r"^([=\-~^\"'`#*+:._<>!$%&,;?@\\|/])\1+\s*$")
_RST_API = re.compile(
    r"^(\s*)\.\.\s+(?:py:)?(function|class|method|attribute|data|exception|decorator|classmethod"
    r"|staticmethod|property|module)::\s*(\S.*)$"
)
_RST_OPTION = re.compile(r"^\s+:[\w-]+:")
_RST_CODE = re.compile(r"^\s*\.\.\s+(?:code-block|code|sourcecode|doctest|testcode)::")
_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_NAME = re.compile(rf"^{_DOTTED}$")
_KEYWORD = re.compile(r"^(?:async\s+def|def|class|function|method|property|attribute)\s+")
# A fenced block that is one ``def``/``class`` line: an API reference entry of its own.
_SIGNATURE_BLOCK = re.compile(r"^(?:async\s+def|def|class)\s+[A-Za-z_]\w*\s*[(:][^\n]*$")
_CALL_LINE = re.compile(rf"^({_DOTTED})\s*(\(.*\))\s*;?$")
MAX_HEADING_CHARS = 300
FILE_SUFFIXES = frozenset({"md", "markdown", "rst", "txt", "py", "html", "json", "toml", "yaml"})
MEMBER_ROLES = frozenset({"method", "classmethod", "staticmethod", "attribute", "property"})


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
    """Sections of a document, the first one (before any heading) with an empty heading."""
    lines = text.splitlines()
    sections = [Section("", 1)]
    owner = ""  # the class whose reST directive the following indented directives are in
    i = 0
    while i < len(lines):
        line = lines[i]
        current = sections[-1]
        fence = _FENCE.match(line)
        if fence and not rst:
            start = i
            block, i = _fenced(lines, i, fence.group(1))
            if current.parts and _SIGNATURE_BLOCK.match(block.strip()):
                current = Section("", start + 1)
                sections.append(current)
            current.add_code(block)
            continue
        heading, skip = _heading(lines, i, rst)
        if heading is not None:
            sections.append(Section(heading, i + 1))
            i += skip
            continue
        if rst:
            api = _RST_API.match(line)
            if api:
                indent, role, argument = api.group(1), api.group(2), api.group(3).strip()
                name = argument.partition("(")[0].strip()
                if not indent:
                    owner = name if role in ("class", "exception") else ""
                elif owner and role in MEMBER_ROLES and "." not in name:
                    argument = f"{owner}.{argument}"  # a method documented inside its class
                sections.append(Section(argument, i + 1, (role, argument)))
                i += 1
                while i < len(lines) and _RST_OPTION.match(lines[i]):  # :type:, :value:…
                    i += 1
                continue
            directive = _RST_CODE.match(line)
            if directive or (line.rstrip().endswith("::") and not line.lstrip().startswith("..")):
                if not directive and line.strip() != "::":
                    current.add_text(line.rstrip()[:-1])
                block, i = _indented(lines, i + 1, len(line) - len(line.lstrip()))
                current.add_code(block)
                continue
        if line.lstrip().startswith(">>>"):
            block, i = _doctest(lines, i)
            current.add_code(block)
            continue
        current.add_text(line.rstrip())
        i += 1
    return [s for s in sections if s.heading or s.parts]


def _fenced(lines: list[str], start: int, fence: str) -> tuple[str, int]:
    body: list[str] = []
    i = start + 1
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
            return "\n".join(body), i + 1
        body.append(lines[i])
        i += 1
    return "\n".join(body), i


def _indented(lines: list[str], start: int, base: int) -> tuple[str, int]:
    """A reST block indented deeper than ``base`` after ``::`` or a code directive (its
    ``:option:`` lines dropped)."""
    body: list[str] = []
    i = start
    while i < len(lines) and (
        not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > base
    ):
        body.append(lines[i])
        i += 1
    while body and not body[-1].strip():
        body.pop()
        i -= 1
    code = [line for line in body if not _RST_OPTION.match(line)]
    indent = min((len(x) - len(x.lstrip()) for x in code if x.strip()), default=0)
    return "\n".join(x[indent:] for x in code).strip("\n"), max(i, start)


def _doctest(lines: list[str], start: int) -> tuple[str, int]:
    i = start
    while i < len(lines) and lines[i].strip():
        i += 1
    return "\n".join(line.strip() for line in lines[start:i]), i


def _heading(lines: list[str], i: int, rst: bool) -> tuple[str | None, int]:
    """The heading at line ``i`` and how many lines it spans, or ``(None, 0)``."""
    line = lines[i]
    if len(line) > MAX_HEADING_CHARS:  # also keeps the regexes linear on hostile lines
        return None, 0
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    prev_blank = i == 0 or not lines[i - 1].strip()
    if not rst:
        atx = _ATX.match(line)
        if atx:
            return atx.group(2).strip(), 1
        if line.strip() and prev_blank and _SETEXT.match(nxt) and not line.lstrip().startswith("-"):
            return line.strip(), 2
        return None, 0
    if _RST_ADORN.match(line) and i + 2 < len(lines):
        title, under = lines[i + 1], lines[i + 2]
        if (
            title.strip()
            and under.strip() == line.strip()
            and len(line.strip()) >= len(title.strip())
        ):
            return title.strip(), 3
    underlined = _RST_ADORN.match(nxt) and len(nxt.strip()) >= len(line.strip())
    if underlined and line.strip() and not line[:1].isspace() and prev_blank:
        return (line.strip(), 2) if not _RST_ADORN.match(line) else (None, 0)
    return None, 0


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
