"""Turn API documentation sentences into requirement-like queries (no model, deterministic)."""

from __future__ import annotations

import re

_PAREN_FUNCTIONAL = re.compile(r"\s*\(functional name:[^)]*\)", re.IGNORECASE)
_MARKUP = re.compile(r"``?|\*\*?|:(?:class|func|meth|attr|obj|ref):")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_NOT_VERBS = frozenset(
    (
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "if",
        "whether",
        "ndarray",
        "iterable",
        "tabular",
        "abstract",
        "base",
        "alias",
        "deprecated",
        "please",
        "one",
        "two",
        "same",
        "see",
        "note",
    )
)
_GET_VERBS = frozenset({"return", "returns", "get", "gets", "retrieve", "retrieves"})


def clean(text: str) -> str:
    """Drop reST markup and the ``(functional name: ...)`` remark; collapse whitespace."""
    text = _PAREN_FUNCTIONAL.sub("", text)
    text = _MARKUP.sub("", text)
    return " ".join(text.split())


_SECTION_START = re.compile(
    r"^\s*(?:Args|Arguments|Parameters|Returns|Yields|Example|Examples|Note|Notes|Warning)s?\s*:"
    r"|^\s*>>>",
    re.MULTILINE,
)


def description(doc: str, header: str = "") -> str:
    """The prose of a docstring: without a leading ``name(signature):`` header and sections."""
    if header and doc.startswith(header):
        doc = doc[len(header) :].lstrip(" :")
    match = _SECTION_START.search(doc)
    return doc[: match.start()] if match else doc


def sentences(text: str) -> list[str]:
    """The sentences of a documentation paragraph, cleaned."""
    out = []
    for part in _SENTENCE_END.split(clean(text)):
        part = part.strip()
        if len(part) >= 12:
            out.append(part)
    return out


_CODE_LIKE = re.compile(r"_|\d|[a-z][A-Z]|^[A-Z]")


def strip_names(text: str, names: list[str]) -> str:
    """Remove the API's own identifiers so a query cannot match on them.

    Identifiers that look like code (``read_csv``, ``Shuffler``'s ``IterDataPipe`` kin,
    ``argmax2``) are removed wherever they occur; a name that is a plain English word
    (``average``, ``conjugate``) is removed only where it is written as code (backticks or a
    call), since the word itself is what a user would ask with.
    """
    for name in sorted({n for n in names if len(n) >= 2}, key=len, reverse=True):
        escaped = re.escape(name)
        if _CODE_LIKE.search(name):
            pattern = rf"(?<![\w.])`*{escaped}`*(?![\w])(\(\))?"
        else:
            pattern = rf"`+{escaped}`+|(?<![\w.]){escaped}\(\)"
        text = re.sub(pattern, " ", text)
    text = re.sub(r"\(\s*\)|``\s*``|`\s*`", " ", text)
    return " ".join(text.split()).strip(" ,;:")


def base_verb(word: str) -> str:
    """Third-person verb to its base form: ``Creates`` -> ``create``, ``Applies`` -> ``apply``."""
    low = word.lower()
    if low in _GET_VERBS:
        return "get"
    if low.endswith("ies") and len(low) > 4:
        return low[:-3] + "y"
    if low.endswith(("sses", "shes", "ches", "xes", "zes")):
        return low[:-2]
    if low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3:
        return low[:-1]
    return low


_RELATIVE = re.compile(r"\b(?:that|which)\s+([a-z]+s)\s+(.+)$")


def imperative(sentence: str) -> str:
    """``Returns the sum of ...`` -> ``get the sum of ...``.

    A noun opening with a relative clause (``DataPipe that lists files ...``) becomes the
    clause's verb (``list files ...``); other non-verb openings give ``""``.
    """
    sentence = sentence.strip().rstrip(".")
    if not sentence:
        return ""
    first, _, rest = sentence.partition(" ")
    noun = first[0].isupper() and _is_noun(first)
    if first.lower() in _NOT_VERBS or not first.isalpha() or noun:
        match = _RELATIVE.search(sentence)
        return f"{base_verb(match.group(1))} {match.group(2)}" if match else ""
    return f"{base_verb(first)} {rest}".strip()


_NOUN_OPENINGS = frozenset(
    (
        "iterable",
        "iterator",
        "map",
        "datapipe",
        "dataframe",
        "series",
        "index",
        "array",
        "numset",
    )
)


def _is_noun(word: str) -> bool:
    return word.lower() in _NOUN_OPENINGS


def object_phrase(sentence: str) -> str:
    """The sentence without its leading verb: ``Return the mean`` -> ``the mean``."""
    first, _, rest = sentence.strip().rstrip(".").partition(" ")
    if first.lower() in _NOT_VERBS or not first.isalpha() or len(rest.split()) < 2:
        return ""
    return rest


_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Yields)\s*:?\s*$", re.MULTILINE)
_ARG = re.compile(r"^\s{0,8}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


def doc_sections(doc: str) -> dict[str, list[str]]:
    """Google-style ``Args:``/``Returns:`` entries of a docstring: section -> descriptions."""
    out: dict[str, list[str]] = {}
    parts = _SECTION.split(doc)
    for header, body in zip(parts[1::2], parts[2::2], strict=False):
        key = "returns" if header.lower() in ("returns", "yields") else "args"
        for line in body.splitlines():
            if not line.strip():
                break
            match = _ARG.match(line)
            if key == "args" and match:
                out.setdefault(key, []).append(f"{match.group(1)}: {clean(match.group(2))}")
            elif key == "returns" and line.strip():
                out.setdefault(key, []).append(clean(line))
    return out


_PARAM = re.compile(r"\*{0,2}([A-Za-z_]\w*)\s*(?::[^,=]+)?(?:=\s*([^,]+))?")


def parameters(signature: str) -> list[str]:
    """Parameter names of a signature, without ``self``/``cls`` and ``*args``/``**kwargs``."""
    inner = signature.split("->")[0].strip().removeprefix("(").removesuffix(")")
    names = []
    depth = 0
    current = ""
    for char in inner + ",":
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            match = _PARAM.match(current.strip())
            if match and not current.strip().startswith("*"):
                names.append(match.group(1))
            current = ""
        else:
            current += char
    return [n for n in names if n not in ("self", "cls", "datapipe", "source_datapipe")]
