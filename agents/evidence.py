"""Cheap evidence beside retrieval, learned from documentation only (never from evaluation
tasks): which APIs are used together, and which APIs the nearest demonstrations used.

* **Companions.** APIs named together in one documentation example (``ApiRecord.examples``)
  or one guide section (``links``), a class and its methods, a module and its members, and an
  API's "See Also" entries. A retrieved API lifts its usual companions: ``P(b | a)`` over the
  groups that name ``a``, weighted by how strongly ``a`` was retrieved.
* **Demonstrations.** The API lists of the Skill-KNN demonstrations chosen for the request.

Both give extra scores by API *name*, so companions learned from one index (a library's
documentation) also apply to another index of the same library (its API pool).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from apipilot.indexes.corpora import corpora_dir
from apipilot.indexes.record import ApiRecord

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEE_ALSO = re.compile(r"See Also\s*\n\s*-{3,}\s*\n(.*?)(?:\n\s*\n[A-Z]|\Z)", re.DOTALL)
_ROLE = re.compile(r":\w+:|[`~]")
_DOTTED = re.compile(r"^[A-Za-z_][\w.]*$")
MAX_GROUP = 6  # an example naming more APIs than this says little about any pair in it


@dataclass
class CompanionGraph:
    """``weights[a][b]``: how often ``b`` appears where ``a`` does, ``P(b | a)``."""

    weights: dict[str, dict[str, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.weights)

    def lift(self, retrieved: Sequence[tuple[str, float]], top: int) -> dict[str, float]:
        """Extra score per name: each of the ``top`` retrieved ``(name, score)`` gives its
        companions ``score * P(companion | name)``."""
        extra: dict[str, float] = {}
        for name, score in retrieved[:top]:
            for companion, weight in self.weights.get(name, {}).items():
                if companion != name:
                    extra[companion] = extra.get(companion, 0.0) + score * weight
        return extra

    @classmethod
    def from_groups(cls, groups: Iterable[Sequence[str]]) -> CompanionGraph:
        """From groups of API names used together (each group counted once per name)."""
        together: dict[str, dict[str, int]] = {}
        seen: dict[str, int] = {}
        for group in groups:
            names = sorted(set(group))
            if not 2 <= len(names) <= MAX_GROUP:
                continue
            for name in names:
                seen[name] = seen.get(name, 0) + 1
            for a, b in combinations(names, 2):
                together.setdefault(a, {})[b] = together.get(a, {}).get(b, 0) + 1
                together.setdefault(b, {})[a] = together.get(b, {}).get(a, 0) + 1
        weights = {
            a: {b: count / seen[a] for b, count in row.items()} for a, row in together.items()
        }
        return cls(weights)


def usage_groups(records: Sequence[ApiRecord]) -> list[list[str]]:
    """Groups of API names used together in ``records``' documentation: each example's
    identifiers that name an API, each guide's links, each API with its "See Also" entries,
    and each class with its methods (by qualified name)."""
    names = _name_table(records)
    groups: list[list[str]] = []
    for record in records:
        for example in record.examples:
            used = dict.fromkeys(names[t] for t in _IDENT.findall(example) if t in names)
            groups.append(list(used))
        if record.links:
            linked = [names[q] for q in record.links if q in names]
            groups.append(list(dict.fromkeys(linked)))
        see_also = [names[n] for n in see_also_names(record.doc) if n in names]
        if see_also and record.kind != "guide":
            groups.append(list(dict.fromkeys([record.name, *see_also])))
    groups.extend(_class_members(records))
    return groups


def see_also_names(doc: str) -> list[str]:
    """Names listed under a NumPy-style "See Also" heading of ``doc`` (last dotted part)."""
    found: list[str] = []
    for block in _SEE_ALSO.findall(doc):
        for line in block.splitlines():
            if line[:1].isspace():  # an entry's description continues
                continue
            for part in _ROLE.sub("", line.partition(" : ")[0]).split(","):
                if _DOTTED.match(part.strip()):
                    found.append(part.strip().rpartition(".")[2])
    return found


def _name_table(records: Sequence[ApiRecord]) -> dict[str, str]:
    """Every spelling of an API (name, alias, qualified name) -> its name."""
    table: dict[str, str] = {}
    for record in records:
        if record.kind == "guide":
            continue
        for spelling in (record.name, *record.aliases, record.qualified_name):
            if spelling:
                table.setdefault(spelling, record.name)
    return table


def _class_members(records: Sequence[ApiRecord]) -> list[list[str]]:
    """A class with each of its methods, as pairs (a whole class is too broad a group)."""
    classes = {r.qualified_name: r.name for r in records if r.kind == "class" and r.qualified_name}
    pairs: list[list[str]] = []
    for record in records:
        owner = classes.get(record.qualified_name.rpartition(".")[0])
        if owner is not None and record.kind in ("method", "attribute", "function"):
            pairs.append([owner, record.name])
    return pairs


def library_documentation(library: str) -> list[ApiRecord]:
    """The records of every shipped documentation corpus of ``library`` (all versions)."""
    records: list[ApiRecord] = []
    for path in sorted((corpora_dir() / "apis").glob(f"{library}@*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(ApiRecord.from_dict(json.loads(line)))
    return records


def companion_graph(records: Sequence[ApiRecord], library: str) -> CompanionGraph:
    """Companions learned from an index's own records and the library's shipped corpora."""
    groups = usage_groups(records)
    shipped = library_documentation(library)
    if shipped:
        groups += usage_groups(shipped)
    return CompanionGraph.from_groups(groups)


def demonstration_votes(api_lists: Sequence[Sequence[str]]) -> dict[str, float]:
    """Per API name, the reciprocal rank of the first demonstration that uses it."""
    votes: dict[str, float] = {}
    for rank, apis in enumerate(api_lists, start=1):
        for name in apis:
            votes.setdefault(name, 1.0 / rank)
    return votes


def by_name(scores: Mapping[str, float], name_of: Mapping[str, str]) -> list[tuple[str, float]]:
    """``(name, score)`` of record ids ``scores``, best first, each name once."""
    best: dict[str, float] = {}
    for record_id, score in sorted(scores.items(), key=lambda item: -item[1]):
        best.setdefault(name_of.get(record_id, record_id), score)
    return list(best.items())
