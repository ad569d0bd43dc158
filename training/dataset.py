"""The training set: documentation -> pairs -> hard negatives, checked against evaluation."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from apipilot.evaluation.data import contaminated, evaluation_texts, normalise
from apipilot.indexes.corpora import shipped_corpora
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.sources import read_source
from apipilot.retrieval.embedder import Embedder
from apipilot.training.negatives import mine_hard_negatives
from apipilot.training.pairs import TrainingPair, synthesise_pairs

TRAINING_LIBRARIES = ("torchdata", "monkey", "beatnum", "pandas", "numpy")


class ContaminationError(RuntimeError):
    """A training text contains an evaluation query, requirement or solution."""


def library_corpora(library: str) -> list[str]:
    """Shipped corpus refs of ``library``: its pool and its newest release docs, if any."""
    refs = [c for c in shipped_corpora() if c.library == library]
    pools = [c.ref for c in refs if c.version == "pool"]
    releases = [c.ref for c in refs if c.version != "pool"]
    return pools + releases[-1:]


def library_records(library: str) -> list[ApiRecord]:
    records: list[ApiRecord] = []
    for ref in library_corpora(library):
        records += read_source(f"corpus:{ref}").report.records
    return records


def documentation_lines() -> set[str]:
    """Every shipped corpus record as documentation text (``doc`` and the indexed text)."""
    lines: set[str] = set()
    for corpus in shipped_corpora():
        for record in read_source(f"corpus:{corpus.ref}").report.records:
            for text in (normalise(record.doc), normalise(record.search_text())):
                lines.update((text, text.rstrip(".")))
    return lines


def forbidden_texts() -> list[str]:
    """Evaluation texts no training pair may contain.

    The oracle prompts (``*_api_n``) paste the documentation line of each gold API into the
    requirement comment, so ``evaluation_texts`` lists those doc lines too. They are the
    library's documentation, which training may use for every API alike; the queries,
    requirements and solutions stay forbidden.
    """
    docs = documentation_lines()
    return [text for text in evaluation_texts() if text not in docs and text + "." not in docs]


def build_training_set(
    libraries: Iterable[str],
    embedder: Embedder,
    *,
    seed: int,
    queries_per_record: int = 4,
    max_records: int = 1000,
) -> list[TrainingPair]:
    """Pairs with hard negatives for every library, evaluation texts removed and then checked."""
    forbidden = forbidden_texts()
    pairs: list[TrainingPair] = []
    for library in libraries:
        # a library's seed does not depend on which others are trained with it, so the pairs
        # of a leave-one-out run are the full run's pairs of the remaining libraries
        offset = TRAINING_LIBRARIES.index(library) if library in TRAINING_LIBRARIES else 0
        records = library_records(library)
        drafted = synthesise_pairs(
            records,
            seed=seed + offset,
            queries_per_record=queries_per_record,
            max_records=max_records,
        )
        drafted = [p for p in drafted if not is_contaminated(p, forbidden)]
        pairs += mine_hard_negatives(drafted, records, embedder, seed=seed + offset)
    assert_clean(pairs, forbidden)
    return pairs


def is_contaminated(pair: TrainingPair, forbidden: list[str]) -> bool:
    return any(contaminated(text, forbidden) for text in (pair.query, pair.positive, pair.negative))


def assert_clean(pairs: list[TrainingPair], forbidden: list[str] | None = None) -> None:
    """Raise ``ContaminationError`` naming the first pair that contains an evaluation text."""
    forbidden = forbidden_texts() if forbidden is None else forbidden
    for pair in pairs:
        if is_contaminated(pair, forbidden):
            raise ContaminationError(
                f"training pair for {pair.library}.{pair.name} holds eval text"
            )


def write_pairs(pairs: list[TrainingPair], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for pair in pairs:
            handle.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")


def read_pairs(path: Path) -> list[TrainingPair]:
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = []
    for line in lines:
        if line.strip():
            row = json.loads(line)
            row["aliases"] = tuple(row.get("aliases", ()))
            pairs.append(TrainingPair(**row))
    return pairs
