"""Synthesise (query, API text) training pairs from documentation records, seeded."""

from __future__ import annotations

import random
from dataclasses import dataclass

from apipilot.evaluation.data import normalise
from apipilot.indexes.record import ApiRecord
from apipilot.training.rephrase import (
    description,
    doc_sections,
    imperative,
    object_phrase,
    parameters,
    sentences,
    strip_names,
)


@dataclass(frozen=True)
class TrainingPair:
    """A synthetic query, the text the index embeds for its API, and a hard negative text."""

    library: str
    name: str  # the positive API's name; a batch never holds two pairs of one name
    query: str
    positive: str
    negative: str = ""
    kind: str = ""  # which template made the query (summary, question, param, doc, returns)
    aliases: tuple[str, ...] = ()


_QUESTIONS = ("How do I {}?", "how to {}", "I want to {}.", "{} and return the result")


_STOP = frozenset(
    (
        "a",
        "an",
        "the",
        "of",
        "to",
        "and",
        "or",
        "in",
        "on",
        "for",
        "from",
        "with",
        "by",
        "is",
        "are",
        "be",
        "as",
        "at",
        "that",
        "this",
        "which",
        "its",
        "it",
        "given",
        "specified",
        "passed",
        "object",
        "along",
    )
)


def keywords(text: str, limit: int = 6) -> str:
    """A terse query: the first content words of ``text``."""
    words = [w.strip(".,;:()`'\"") for w in text.split()]
    return " ".join([w for w in words if w and w.lower() not in _STOP][:limit])


def candidate_queries(record: ApiRecord, rng: random.Random) -> list[tuple[str, str]]:
    """The (kind, query) pairs the record's documentation supports, its own names removed."""
    names = [record.name, *record.aliases, record.qualified_name.rsplit(".", 1)[-1]]
    header = record.name + record.signature
    prose = description(record.doc, header)
    summary_sentences = sentences(record.summary) or sentences(prose)[:1]
    out: list[tuple[str, str]] = []
    if summary_sentences:
        lead = strip_names(summary_sentences[0], names)
        verb = imperative(lead)
        if verb:
            out.append(("summary", verb))
            out.append(("question", rng.choice(_QUESTIONS).format(verb)))
            terse = keywords(verb)
            if len(terse.split()) >= 2:
                out.append(("keywords", terse))
            obj = object_phrase(lead)
            if obj:
                out.append(("object", obj))
            params = parameters(record.signature)
            if params:
                shown = " and ".join(f"`{p}`" for p in params[:2])
                out.append(("param", f"{verb} using {shown}"))
    extra = [s for s in sentences(prose) if s not in summary_sentences]
    for sentence in extra[:3]:
        text = imperative(strip_names(sentence, names))
        if len(text.split()) >= 4:
            out.append(("doc", text))
    sections = doc_sections(record.doc)
    for entry in sections.get("returns", [])[:1]:
        text = strip_names(entry, names)
        if len(text.split()) >= 3:
            out.append(("returns", f"get {text[0].lower()}{text[1:]}".rstrip(".")))
    for entry in sections.get("args", [])[:2]:
        verb = imperative(strip_names(summary_sentences[0], names)) if summary_sentences else ""
        if verb and len(entry.split()) >= 4:
            out.append(("arg", f"{verb}, where {strip_names(entry, names)}".rstrip(".")))
    return [(kind, q) for kind, q in out if 3 <= len(q.split()) <= 60]


def synthesise_pairs(
    records: list[ApiRecord],
    *,
    seed: int,
    queries_per_record: int = 4,
    max_records: int | None = None,
) -> list[TrainingPair]:
    """Up to ``queries_per_record`` pairs for each record (a seeded sample of ``max_records``).

    A query that the documentation of two differently named APIs produces is dropped: it
    cannot teach which one is right.
    """
    rng = random.Random(seed)
    chosen = list(records)
    if max_records is not None and len(chosen) > max_records:
        chosen = rng.sample(chosen, max_records)
    owners: dict[tuple[str, str], set[str]] = {}
    drafts: list[TrainingPair] = []
    for record in chosen:
        candidates = candidate_queries(record, rng)
        picked = rng.sample(candidates, min(queries_per_record, len(candidates)))
        for kind, query in picked:
            key = (record.library, normalise(query))
            owners.setdefault(key, set()).add(record.name)
            drafts.append(
                TrainingPair(
                    record.library,
                    record.name,
                    query,
                    record.search_text(),
                    kind=kind,
                    aliases=record.aliases,
                )
            )
    seen: set[tuple[str, str]] = set()
    pairs = []
    for pair in drafts:
        key = (pair.library, normalise(pair.query))
        if len(owners[key]) > 1 or (key[1], pair.positive) in seen:
            continue
        seen.add((key[1], pair.positive))
        pairs.append(pair)
    return pairs
