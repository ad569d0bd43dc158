"""The API record: one documented API of one library version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

KINDS = (
    "module",
    "class",
    "function",
    "method",
    "attribute",
    "datapipe",
    "section",
    "api",
    "guide",
)

# The record kind of each Python object type of Sphinx (inventory roles, reST directives).
SPHINX_KINDS = {
    "module": "module",
    "class": "class",
    "exception": "class",
    "function": "function",
    "decorator": "function",
    "method": "method",
    "classmethod": "method",
    "staticmethod": "method",
    "attribute": "attribute",
    "property": "attribute",
    "data": "attribute",
}


@dataclass(frozen=True)
class ApiRecord:
    """One API as apipilot stores, searches and shows it.

    ``id`` is unique within one index. ``name`` is the short name a user would type
    (``Shuffler``); ``aliases`` holds other names for the same API (the functional name
    ``shuffle``, re-export paths). ``doc`` is the full documentation text; ``summary`` its
    first sentence.

    A ``guide`` record is one section of narrative documentation: ``name`` is the section's
    title, ``qualified_name`` its title path (``Page / Section``), ``doc`` its prose,
    ``examples`` its code blocks, ``source`` its URL or path, and ``links`` the qualified names
    of the reference APIs of the same index it names.
    """

    id: str
    library: str
    version: str
    name: str
    qualified_name: str = ""
    kind: str = "api"
    aliases: tuple[str, ...] = ()
    signature: str = ""
    summary: str = ""
    doc: str = ""
    examples: tuple[str, ...] = ()
    source: str = ""
    links: tuple[str, ...] = ()

    def search_text(self) -> str:
        """The text that is embedded and BM25-indexed for this record."""
        head = self.name
        if self.aliases:
            head += " (" + ", ".join(self.aliases) + ")"
        if self.signature:
            head += f"({self.signature})" if not self.signature.startswith("(") else self.signature
        return f"{head}: {self.summary}" if self.summary else head

    def content_hash(self) -> str:
        """Hash of everything that affects search; refresh re-embeds a record when it changes."""
        payload = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["aliases"] = list(self.aliases)
        data["examples"] = list(self.examples)
        if self.links:
            data["links"] = list(self.links)
        else:
            data.pop("links")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiRecord:
        """Build a record from its dict form; unknown keys are ignored, lists become tuples."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("aliases", "examples", "links"):
            if key in values:
                values[key] = tuple(str(v) for v in values[key] or ())
        for key in ("id", "library", "version", "name"):
            if not isinstance(values.get(key), str) or not values[key]:
                raise ValueError(f"record field {key!r} must be a non-empty string")
        return cls(**values)


@dataclass
class ReadReport:
    """What a reader produced: records, plus every item it skipped and why."""

    records: list[ApiRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, where: str, reason: str) -> None:
        self.skipped.append((where, reason))


def first_sentence(text: str, limit: int = 300) -> str:
    """The first sentence (or paragraph line) of a docstring, at most ``limit`` characters."""
    text = text.strip()
    if not text:
        return ""
    paragraph = text.split("\n\n", 1)[0]
    paragraph = " ".join(line.strip() for line in paragraph.splitlines())
    for end in (". ", ".\n"):
        cut = paragraph.find(end)
        if cut > 0:
            paragraph = paragraph[: cut + 1]
            break
    return paragraph[:limit].strip()


def unique_ids(records: list[ApiRecord]) -> list[ApiRecord]:
    """Make ids unique by suffixing repeats with ``#2``, ``#3``… (keeps order)."""
    from dataclasses import replace

    seen: dict[str, int] = {}
    out: list[ApiRecord] = []
    for record in records:
        count = seen.get(record.id, 0) + 1
        seen[record.id] = count
        out.append(record if count == 1 else replace(record, id=f"{record.id}#{count}"))
    return out
