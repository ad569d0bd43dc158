"""(query, API) pairs from one library's documentation, in the styles users write.

* reference: the templates of :mod:`training.pairs` (task phrasing from summaries and first
  sentences, terse keywords, parameters, Returns/Args entries), plus problem-style questions
  and code-comment style (``# read the config file``) built on the same task phrase;
* guide: a README section's title (or first sentence) -> the library API its code calls;
* example: a comment line in a code example -> the API the next line calls.

Every query has the API's own identifiers removed (:func:`training.rephrase.strip_names`).
"""

from __future__ import annotations

import itertools
import random
import re
from collections import defaultdict

from apipilot.evaluation.data import normalise
from apipilot.indexes.record import ApiRecord
from apipilot.training.pairs import TrainingPair, candidate_queries
from apipilot.training.rephrase import clean, description, imperative, sentences, strip_names

_PROBLEMS = (
    "How do I {task}?",
    "How can I {task} in Python?",
    "What is the easiest way to {task}?",
    "Is there a function to {task}?",
    "I need to {task}. Which function should I use?",
    "How to {task} with {library}?",
    "{task}",
    "Best way to {task}",
)
_COMMENTS = ("# {task}", "# {task} here", "// {task}")
_CALL = re.compile(r"([A-Za-z_][\w.]*)\s*\(")
_ATTRIBUTE = re.compile(r"\.([A-Za-z_]\w*)\b")
_COMMENT = re.compile(r"^\s*#\s*(.+?)\s*$")
# names too generic to say which API a snippet means
_GENERIC = frozenset(
    ("get", "set", "run", "call", "open", "close", "read", "write", "print", "len", "str", "int")
)
API_KINDS = frozenset(("function", "method", "class", "attribute", "datapipe", "api"))


def record_names(record: ApiRecord) -> list[str]:
    """Identifiers that name ``record`` (short, qualified, aliases, last components)."""
    names = {record.name, *record.aliases, record.qualified_name}
    names |= {n.rsplit(".", 1)[-1] for n in list(names) if n}
    return [n for n in names if n]


def task_phrase(record: ApiRecord) -> str:
    """The record's summary as an imperative task, its identifiers removed, or ``""``."""
    header = record.name + record.signature
    lead = sentences(record.summary) or sentences(description(record.doc, header))[:1]
    if not lead:
        return ""
    return imperative(strip_names(lead[0], record_names(record)))


def reference_queries(record: ApiRecord, rng: random.Random, library: str) -> list[tuple[str, str]]:
    """``(kind, query)`` candidates of one API record."""
    out = candidate_queries(record, rng)
    task = task_phrase(record)
    if task and 3 <= len(task.split()) <= 40:
        problem = rng.choice(_PROBLEMS).format(task=task, library=library)
        out.append(("problem", problem))
        out.append(("comment", rng.choice(_COMMENTS).format(task=task)))
    return out


class NameIndex:
    """Maps an identifier seen in code to the one API record of the library it names."""

    def __init__(self, records: list[ApiRecord]) -> None:
        owners: dict[str, set[str]] = defaultdict(set)
        by_id: dict[str, ApiRecord] = {}
        for record in records:
            if record.kind not in API_KINDS:
                continue
            by_id[record.id] = record
            for name in record_names(record):
                owners[name].add(record.id)
        self._records = {
            name: by_id[next(iter(ids))]
            for name, ids in owners.items()
            if len(ids) == 1 and name.lower() not in _GENERIC and len(name) >= 3
        }

    def called(self, code: str) -> ApiRecord | None:
        """The first library API that ``code`` calls (by dotted path or last component)."""
        for match in _CALL.finditer(code):
            path = match.group(1)
            for candidate in (path, path.rsplit(".", 1)[-1]):
                record = self._records.get(candidate)
                if record is not None:
                    return record
        for match in _ATTRIBUTE.finditer(code):
            record = self._records.get(match.group(1))
            if record is not None and record.kind in ("function", "method"):
                return record
        return None


def guide_queries(
    sections: list[ApiRecord], index: NameIndex, rng: random.Random
) -> list[tuple[ApiRecord, str, str]]:
    """``(api, kind, query)`` from README sections: title or first sentence -> called API."""
    out: list[tuple[ApiRecord, str, str]] = []
    for section in sections:
        for block in section.examples:
            api = index.called(block)
            if api is None:
                continue
            title = clean(section.name).strip("#: ")
            names = record_names(api)
            if 2 <= len(title.split()) <= 12 and not title.lower().startswith(("install", "licen")):
                out.append((api, "guide-title", strip_names(title, names)))
            lead = sentences(section.summary)
            if lead:
                out.append((api, "guide-sentence", strip_names(lead[0], names)))
            break  # a section's first call is the one its title is about
    return out


def example_queries(records: list[ApiRecord], index: NameIndex) -> list[tuple[ApiRecord, str, str]]:
    """``(api, "example", comment)``: a comment line followed by a call of a library API."""
    out: list[tuple[ApiRecord, str, str]] = []
    for record in records:
        for block in record.examples:
            lines = block.splitlines()
            for line, following in itertools.pairwise(lines):
                comment = _COMMENT.match(line.removeprefix(">>> "))
                if comment is None or len(comment.group(1).split()) < 3:
                    continue
                api = index.called(following)
                if api is not None:
                    out.append((api, "example", strip_names(comment.group(1), record_names(api))))
    return out


def library_pairs(
    library: str,
    api: list[ApiRecord],
    readme: list[ApiRecord],
    *,
    seed: int,
    max_records: int,
    queries_per_record: int,
) -> list[TrainingPair]:
    """Pairs of one library; a query two differently named APIs would produce is dropped."""
    rng = random.Random(seed)
    documented = [r for r in api if r.kind in API_KINDS and r.summary]
    chosen = rng.sample(documented, min(max_records, len(documented)))
    drafts: list[tuple[ApiRecord, str, str]] = []
    for record in chosen:
        candidates = reference_queries(record, rng, library)
        for kind, query in rng.sample(candidates, min(queries_per_record, len(candidates))):
            drafts.append((record, kind, query))
    index = NameIndex(api)
    drafts += guide_queries(readme, index, rng)
    drafts += example_queries(api + readme, index)
    owners: dict[str, set[str]] = defaultdict(set)
    for record, _, query in drafts:
        owners[normalise(query)].add(record.name)
    pairs: list[TrainingPair] = []
    seen: set[tuple[str, str]] = set()
    for record, kind, query in drafts:
        query = " ".join(query.split())
        key = normalise(query)
        if not 3 <= len(query.split()) <= 60 or len(owners[key]) > 1 or (key, record.id) in seen:
            continue
        seen.add((key, record.id))
        pairs.append(
            TrainingPair(
                library=library,
                name=record.name,
                query=query,
                positive=record.search_text(),
                kind=kind,
                aliases=record.aliases,
            )
        )
    return pairs
