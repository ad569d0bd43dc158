"""Link each guide section to the reference APIs of its index that it names.

A guide's code blocks are parsed with :mod:`ast` (snippets that do not parse, a shell line or
a fragment, are scanned with regular expressions instead); imports give aliases
(``import pandas as pd`` makes ``pd.read_csv`` mean ``pandas.read_csv``, ``from rich.console
import Console`` makes ``Console`` mean ``rich.console.Console``) and ``x = Console()`` makes
``x.print`` mean ``rich.console.Console.print``. Inline code in the prose (```` `pd.merge` ````)
and code-like words (``DataFrame.merge``, ``read_csv``) are resolved too, with the guide's own
import aliases.

A name resolves to a reference record by its qualified name or a dotted alias (a re-export
path), then by the record's short name (``Console``, ``DataFrame.merge``) when exactly one
record has it, then by its longest dotted prefix that does. Bare names that are Python
builtins (``print``, ``open``) and the library's root module are never links.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from apipilot.indexes.record import ApiRecord

NOT_REFERENCE = frozenset({"guide", "section"})
MAX_LINKS = 24
_BUILTINS = frozenset(dir(builtins)) | frozenset(keyword.kwlist)
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_INLINE_CODE = re.compile(r"`+([^`\n]+?)`+")
# A word that looks like code in prose: dotted, snake_case or camelCase (not plain English).
_CODE_LIKE = re.compile(r"^(?:\w+\.\w.*|\w*_\w+|\w*[a-z][A-Z]\w*)$")
_PROMPT = re.compile(r"^\s*(?:>>>|\.\.\.)\s?", re.M)
_IMPORT = re.compile(r"^\s*import\s+([\w.]+)(?:\s+as\s+(\w+))?", re.M)
_FROM_IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?([\w\s,]+)\)?", re.M)


@dataclass
class ApiNames:
    """The reference records of one index, by every name a guide may use for them."""

    exact: dict[str, str] = field(default_factory=dict)  # qualified name, id, dotted alias
    short: dict[str, set[str]] = field(default_factory=dict)  # record name, plain alias
    roots: set[str] = field(default_factory=set)  # top-level modules: never links

    @classmethod
    def of(cls, records: Iterable[ApiRecord]) -> ApiNames:
        names = cls()
        for record in records:
            if record.kind in NOT_REFERENCE:
                continue
            target = record.qualified_name or record.id
            if record.kind == "module" and "." not in target:
                names.roots.add(target)
            for exact in (target, record.id):
                names.exact.setdefault(exact, target)
            for alias in record.aliases:
                if "." in alias:
                    names.exact.setdefault(alias, target)
                else:
                    names.short.setdefault(alias, set()).add(target)
            names.short.setdefault(record.name, set()).add(target)
        return names

    def resolve(self, name: str, *, bare: bool = True) -> str | None:
        """The qualified name ``name`` stands for, or None; ``bare``: a one-word name may be
        resolved by its short name."""
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            found = self.exact.get(candidate)
            if found is None and (end > 1 or bare) and candidate not in _BUILTINS:
                targets = self.short.get(candidate, set())
                found = next(iter(targets)) if len(targets) == 1 else None
            if found is not None:
                return None if found in self.roots else found
        return None


def link_guides(records: Sequence[ApiRecord]) -> list[ApiRecord]:
    """``records`` with each guide's ``links`` set to the reference APIs it names."""
    if not any(r.kind == "guide" for r in records):
        return list(records)
    names = ApiNames.of(records)
    return [
        replace(r, links=tuple(guide_links(r, names))) if r.kind == "guide" else r for r in records
    ]


def guide_links(guide: ApiRecord, names: ApiNames) -> list[str]:
    """The qualified names a guide names: its code first, then its prose, by first mention."""
    aliases: dict[str, str] = {}
    mentions: list[tuple[str, bool]] = []  # (dotted name, may resolve by a bare short name)
    for code in guide.examples:
        found, code_aliases = code_mentions(code)
        aliases.update(code_aliases)
        mentions += [(m, True) for m in found]
    for span in _INLINE_CODE.findall(guide.doc) + _INLINE_CODE.findall(guide.name):
        head = _DOTTED.match(span.strip())
        if head:
            mentions.append((head.group(0), True))
    for word in _DOTTED.findall(guide.doc):
        if _CODE_LIKE.match(word):
            mentions.append((word, False))
    links: list[str] = []
    for mention, bare in mentions:
        target = names.resolve(_expand(mention, aliases), bare=bare)
        if target is None and mention != _expand(mention, aliases):
            target = names.resolve(mention, bare=bare)
        if target is not None and target not in links:
            links.append(target)
            if len(links) >= MAX_LINKS:
                break
    return links


def _expand(name: str, aliases: dict[str, str]) -> str:
    head, dot, rest = name.partition(".")
    if head in aliases:
        return aliases[head] + dot + rest
    return name


def code_mentions(code: str) -> tuple[list[str], dict[str, str]]:
    """The dotted names a snippet uses, in order, and the aliases its imports and simple
    assignments (``x = Console()``) define."""
    source = textwrap.dedent(_PROMPT.sub("", code)) if _PROMPT.search(code) else code
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _regex_mentions(source)
    aliases: dict[str, str] = {}
    found: list[tuple[tuple[int, int], str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for item in node.names:
                if item.asname:
                    aliases[item.asname] = item.name
                found.append(((node.lineno, node.col_offset), item.name))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for item in node.names:
                if item.name == "*":
                    continue
                full = f"{node.module}.{item.name}"
                aliases[item.asname or item.name] = full
                found.append(((node.lineno, node.col_offset), full))
        elif isinstance(node, ast.Attribute | ast.Name):
            dotted = _dotted(node)
            if dotted:
                found.append(((node.lineno, node.col_offset), dotted))
    for node in ast.walk(tree):  # x = Console(...): x.print is Console.print
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
        ):
            called = _dotted(node.value.func)
            if called and node.targets[0].id not in aliases:
                aliases[node.targets[0].id] = _expand(called, aliases)
    found.sort(key=lambda item: item[0])
    return _longest_first(name for _, name in found), aliases


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _longest_first(names: Iterable[str]) -> list[str]:
    """Each name once; ``a.b.c`` also yields ``a.b`` and ``a`` from ``ast.walk``, which are
    kept only when not a prefix of a name already taken (they would resolve to its parent)."""
    taken: list[str] = []
    for name in names:
        if any(t == name or t.startswith(name + ".") for t in taken):
            continue
        taken = [t for t in taken if not name.startswith(t + ".")] + [name]
    return taken


def _regex_mentions(code: str) -> tuple[list[str], dict[str, str]]:
    aliases: dict[str, str] = {}
    for module, alias in _IMPORT.findall(code):
        if alias:
            aliases[alias] = module
    for module, imported in _FROM_IMPORT.findall(code):
        for item in imported.split(","):
            words = item.split()
            if words and words[0].isidentifier():
                alias = words[2] if len(words) == 3 and words[1] == "as" else words[0]
                aliases[alias] = f"{module}.{words[0]}"
    found = [w for w in _DOTTED.findall(code) if w not in _BUILTINS]
    return list(dict.fromkeys(found)), aliases
