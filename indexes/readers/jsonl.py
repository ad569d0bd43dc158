"""Read JSON-lines files of API documentation into records.

Three line shapes are accepted, detected per line:

* apipilot's own record (``ApiRecord.to_dict()``: has ``id`` and ``name``);
* the torchdata DataPipe docs of ``shared/data/torchdata-docs`` (``public_name``, ``docstring``…);
* an API pool line of the APIRetriever data (``text_id`` and ``text`` = ``name(sig): summary``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from apipilot.errors import MalformedLine as MalformedLine
from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.base import (
    FILE_TYPE,
    NOT_MINE,
    ReadOptions,
    ReadSource,
    SourceTarget,
    read_for_library,
)
from apipilot.indexes.record import ApiRecord, ReadReport, first_sentence, unique_ids

MAX_LINE_CHARS = 1_000_000
SUFFIXES = frozenset({".jsonl", ".json"})


@dataclass(frozen=True)
class JsonlReader:
    """The registry's entry for JSON-lines files."""

    kind: str = "jsonl"
    accepts: str = "a .jsonl/.json file"
    names_library: bool = False

    def detect(self, target: SourceTarget) -> int:
        suffix = target.path.suffix.lower()
        return FILE_TYPE if target.is_file and suffix in SUFFIXES else NOT_MINE

    def read(
        self, target: SourceTarget, library: str | None, version: str | None, options: ReadOptions
    ) -> ReadSource:
        path = str(target.path)
        read = partial(read_jsonl, target.path, strict=options.strict, source=path)
        return read_for_library(target, library, version, self.kind, read, path)


def read_jsonl(
    path: Path, library: str, version: str, *, strict: bool = True, source: str | None = None
) -> ReadReport:
    """Read ``path`` into records of ``library@version``.

    With ``strict`` a malformed line raises :class:`MalformedLine` naming the file and line;
    otherwise it is skipped and reported in ``ReadReport.skipped``.
    """
    report = ReadReport()
    source = source or str(path)
    for lineno, line in _lines(path):
        where = f"{path}:{lineno}"
        try:
            record = parse_line(line, library, version, source=source)
        except (ValueError, TypeError) as exc:
            if strict:
                raise MalformedLine(f"{where}: {exc}") from None
            report.skip(where, str(exc))
            continue
        if record is not None:
            report.records.append(record)
    report.records = unique_ids(report.records)
    return report


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if not path.is_file():
        raise SourceError(f"{path}: not a file")
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("utf-8", errors="replace")
                if "\x00" in line:
                    raise SourceError(f"{path}: binary file, not JSON lines") from None
            yield lineno, line


def parse_line(line: str, library: str, version: str, *, source: str) -> ApiRecord | None:
    """One JSONL line to a record; ``None`` for a blank line; ``ValueError`` when malformed."""
    line = line.strip()
    if not line:
        return None
    if len(line) > MAX_LINE_CHARS:
        raise ValueError(f"line longer than {MAX_LINE_CHARS} characters")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    if "public_name" in data and "docstring" in data:
        return _from_datapipe_doc(data, library, version)
    if "text_id" in data and "text" in data:
        return _from_pool_line(data, library, version, source)
    if "id" in data and "name" in data:
        data = {**data, "library": library, "version": version}
        return ApiRecord.from_dict(data)
    raise ValueError(
        "unknown line shape: expected an apipilot record (id, name), a DataPipe doc "
        "(public_name, docstring) or a pool line (text_id, text)"
    )


_EXAMPLE_LINE = re.compile(r"^\s*(>>>|\.\.\.)\s?")


def docstring_examples(doc: str) -> tuple[str, ...]:
    """Doctest blocks (``>>>`` lines and their continuations) of a docstring, one per block."""
    blocks: list[str] = []
    current: list[str] = []
    for line in doc.splitlines():
        if _EXAMPLE_LINE.match(line):
            current.append(_EXAMPLE_LINE.sub("", line, count=1))
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return tuple(blocks)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string, got {type(value).__name__}")
    return value


def _from_datapipe_doc(data: dict[str, Any], library: str, version: str) -> ApiRecord:
    name = _text(data, "public_name")
    if not name:
        raise ValueError("field 'public_name' is empty")
    qualified = _text(data, "qualified_name") or f"{library}.{name}"
    functional = _text(data, "functional_name")
    doc = _text(data, "docstring")
    return ApiRecord(
        id=qualified,
        library=library,
        version=version,
        name=name,
        qualified_name=qualified,
        kind="class",
        aliases=(functional,) if functional else (),
        signature=_text(data, "signature"),
        summary=first_sentence(doc),
        doc=doc,
        examples=docstring_examples(doc),
        source=_text(data, "source_path"),
    )


def split_pool_text(text: str) -> tuple[str, str, str]:
    """``name(sig) -> ret: summary`` to ``(name, "(sig) -> ret", summary)``.

    The signature may itself contain ``: `` (annotations), so parentheses are balanced.
    """
    open_at = text.find("(")
    colon_at = text.find(":")
    if open_at < 0 or (0 <= colon_at < open_at):
        name, _, summary = text.partition(":")
        return name.strip(), "", summary.strip()
    depth = 0
    close_at = -1
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                close_at = i
                break
    if close_at < 0:
        raise ValueError("unbalanced parentheses in signature")
    rest = text[close_at + 1 :]
    ret_end = rest.find(": ")
    if ret_end < 0:
        ret, summary = rest, ""
        if rest.endswith(":"):
            ret = rest[:-1]
    else:
        ret, summary = rest[:ret_end], rest[ret_end + 2 :]
    signature = text[open_at : close_at + 1] + ret.rstrip()
    return text[:open_at].strip(), signature, summary.strip()


def _from_pool_line(data: dict[str, Any], library: str, version: str, source: str) -> ApiRecord:
    text = data["text"]
    if not isinstance(text, str) or not text.strip():
        raise ValueError("field 'text' must be a non-empty string")
    name, signature, summary = split_pool_text(text)
    if not name or not re.fullmatch(r"[A-Za-z_][\w.]*", name):
        raise ValueError(f"cannot read an API name from text {text[:60]!r}")
    return ApiRecord(
        id=str(data["text_id"]),
        library=library,
        version=version,
        name=name.rsplit(".", 1)[-1],
        qualified_name=name,
        kind="function",
        signature=signature,
        summary=summary,
        doc=text,
        source=source,
    )
