"""Make demonstrations (requirement, skills, subtasks, APIs, code) from documentation only.

Two sources, both deterministic given a seed:

* docstring examples that use two or more APIs of the library: the APIs in order of first use,
  each turned into a subtask from its summary, and the example code;
* for libraries without such examples, groups of 2–4 APIs from the same module (or any, when
  the records carry no module), composed into one requirement.

The requirement is the subtasks joined into one sentence; the skills are written by the LM
when one is given (checked like any LM output), else by the deterministic method.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from apipilot.agents.examples import Demonstration
from apipilot.agents.text import fallback_skills
from apipilot.indexes.record import ApiRecord

_FUNCTIONAL_NOTE = re.compile(r"\s*\(functional name: ``?\w+``?\)\s*", re.IGNORECASE)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SkillWriter = Callable[[str], str]


def subtask_text(record: ApiRecord) -> str:
    """A subtask phrase from an API's summary: ``Shuffles the input`` → ``Shuffle the input``."""
    summary = _FUNCTIONAL_NOTE.sub(" ", record.summary).strip().rstrip(".")
    summary = re.split(r"(?<=[a-z])\. |; ", summary)[0]
    words = summary.split()
    if not words:
        return f"use {record.name}"
    words[0] = _imperative(words[0])
    return " ".join(words[:20])


def _imperative(verb: str) -> str:
    lower = verb.lower()
    if lower.endswith("ies") and len(lower) > 4:
        stem = lower[:-3] + "y"
    elif lower.endswith(("sses", "shes", "ches", "xes", "zes")):
        stem = lower[:-2]
    elif lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        stem = lower[:-1]
    else:
        stem = lower
    return stem.capitalize()


def join_requirement(subtasks: Sequence[str]) -> str:
    steps = [s[0].lower() + s[1:] for s in subtasks]
    text = ", then ".join([", ".join(steps[:-1]), steps[-1]]) if len(steps) > 1 else steps[0]
    return text[0].upper() + text[1:] + "."


def apis_in_code(code: str, names: dict[str, ApiRecord]) -> list[ApiRecord]:
    """Records whose name or alias appears in ``code`` as an identifier, by first use."""
    found: list[ApiRecord] = []
    for token in _IDENT.findall(code):
        record = names.get(token)
        if record is not None and record not in found:
            found.append(record)
    return found


def _name_table(records: Sequence[ApiRecord]) -> dict[str, ApiRecord]:
    table: dict[str, ApiRecord] = {}
    for record in records:  # first record of a name wins (iter before map in torchdata)
        for name in (record.name, *record.aliases):
            table.setdefault(name, record)
    return table


@dataclass(frozen=True)
class ApiGroup:
    """2–4 APIs used together: in one docstring example (``code``), or composed from a module."""

    id: str
    records: tuple[ApiRecord, ...]
    code: str = ""
    source: str = "composed from summaries"


def api_groups(
    records: Sequence[ApiRecord], *, seed: int = 0, composed: int = 60
) -> list[ApiGroup]:
    """Groups from docstring examples that use 2–4 APIs, then ``composed`` seeded groups of 2–4
    APIs of one module (of any, when the records carry no module); no group twice."""
    names = _name_table(records)
    groups: list[ApiGroup] = []
    seen: set[tuple[str, ...]] = set()
    for record in records:
        for example in record.examples:
            used = apis_in_code(example, names)
            key = tuple(r.id for r in used)
            if not 2 <= len(used) <= 4 or key in seen:
                continue
            seen.add(key)
            groups.append(ApiGroup(f"{record.id}:example", tuple(used), example, record.source))
    rng = random.Random(seed)
    by_module: dict[str, list[ApiRecord]] = {}
    for record in records:
        module = record.qualified_name.rpartition(".")[0]
        by_module.setdefault(module, []).append(record)
    modules = [g for g in by_module.values() if len(g) >= 2] or [list(records)]
    made = attempts = 0
    while made < composed and attempts < composed * 20 and len(records) >= 2:
        attempts += 1
        group = rng.choice(modules)
        used = rng.sample(group, min(len(group), rng.randint(2, 4)))
        key = tuple(sorted(r.id for r in used))
        if key in seen:
            continue
        seen.add(key)
        made += 1
        groups.append(ApiGroup(f"composed:{made}", tuple(used)))
    return groups


def make_demonstrations(
    records: Sequence[ApiRecord],
    *,
    seed: int = 0,
    composed: int = 60,
    skill_writer: SkillWriter | None = None,
) -> list[Demonstration]:
    """Demonstrations from ``records``; ``composed`` extra ones when examples are few."""
    return [
        _demo(g.id, g.records, g.code, g.source, skill_writer)
        for g in api_groups(records, seed=seed, composed=composed)
    ]


def _demo(
    demo_id: str,
    used: Sequence[ApiRecord],
    code: str,
    source: str,
    skill_writer: SkillWriter | None,
) -> Demonstration:
    subtasks = tuple(subtask_text(r) for r in used)
    requirement = join_requirement(subtasks)
    skills = skill_writer(requirement) if skill_writer else fallback_skills(requirement)
    return Demonstration(
        id=demo_id,
        requirement=requirement,
        skills=skills,
        subtasks=subtasks,
        apis=tuple(r.name for r in used),
        code=code,
        source=source,
    )
