"""Reranker training data: doc-derived queries, each with hard negatives from the base index.

A group is one synthetic query (``training.pairs``), the text of its API and several texts of
other APIs that the base fused retrieval (MiniLM + BM25 over the library's pool) ranks in its
top ``depth``: what the reranker will be asked to sort at run time.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from apipilot.evaluation.data import contaminated, normalise
from apipilot.indexes.api_index import ApiIndex
from apipilot.indexes.record import ApiRecord
from apipilot.training.dataset import (
    TRAINING_LIBRARIES,
    ContaminationError,
    forbidden_texts,
    is_contaminated,
    library_records,
)
from apipilot.training.pairs import TrainingPair, synthesise_pairs

MINING_DEPTH = 30
NEGATIVES = 5  # 1 + 5 sequences a query: 7 would take the run past 30 min on this CPU
VALIDATION_PERCENT = 10
BASE_EMBEDDER = "minilm"


def default_index_home() -> Path:
    """Where the base pool indexes for mining live (shared with ``benchmarks.finetune``)."""
    return Path(tempfile.gettempdir()) / "apipilot-ft"


def pool_index(home: Path, library: str) -> ApiIndex:
    """``library@pool`` searched with the base MiniLM, built under ``home`` on first use."""
    from apipilot.indexes.sources import read_source
    from apipilot.indexes.store import IndexStore
    from apipilot.retrieval.embedder import load_embedder

    embedder = load_embedder(BASE_EMBEDDER, purpose="build")  # as builds embed
    store = IndexStore(home / embedder.name)
    if "pool" not in store.versions(library):
        records = read_source(f"corpus:{library}@pool").report.records
        store.build(
            records, library=library, version="pool", embedder=embedder, embedder_spec="minilm"
        )
    return store.open(library, "pool", embedder)


@dataclass(frozen=True)
class RerankGroup:
    library: str
    name: str
    query: str
    positive: str
    negatives: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    kind: str = ""

    def texts(self) -> list[str]:
        return [self.query, self.positive, *self.negatives]


def synthesise_queries(
    libraries: Iterable[str],
    *,
    seed: int,
    queries_per_record: int = 3,
    max_records: int = 150,
) -> list[TrainingPair]:
    """The pairs ``build_training_set`` makes (same seeds), without its embedder negative."""
    forbidden = forbidden_texts()
    pairs: list[TrainingPair] = []
    for library in libraries:
        offset = TRAINING_LIBRARIES.index(library) if library in TRAINING_LIBRARIES else 0
        drafted = synthesise_pairs(
            library_records(library),
            seed=seed + offset,
            queries_per_record=queries_per_record,
            max_records=max_records,
        )
        pairs += [p for p in drafted if not is_contaminated(p, forbidden)]
    return pairs


def is_validation(library: str, name: str, seed: int) -> bool:
    """A seeded ~10% of APIs (by name) whose queries are held out to choose settings."""
    digest = hashlib.sha256(f"{seed}:{library}:{name.lower()}".encode()).hexdigest()
    return int(digest[:8], 16) % 100 < VALIDATION_PERCENT


def is_answer(record: ApiRecord, pair: TrainingPair) -> bool:
    """``record`` is the pair's API: same name or alias, the same text, or its summary is
    inside the positive's text (pools list one API several times)."""
    names = {n.lower() for n in (pair.name, *pair.aliases)}
    if {n.lower() for n in (record.name, *record.aliases)} & names:
        return True
    summary = normalise(record.summary)
    return record.search_text() == pair.positive or (
        len(summary) >= 12 and summary in normalise(pair.positive)
    )


def mine_groups(
    pairs: list[TrainingPair],
    index: ApiIndex,
    *,
    seed: int,
    negatives: int = NEGATIVES,
    depth: int = MINING_DEPTH,
) -> list[RerankGroup]:
    """A group per pair: ``negatives`` seeded picks among the wrong APIs of the index's fused
    top ``depth`` for the query (topped up with random wrong APIs when too few)."""
    if not pairs:
        return []
    rng = random.Random(seed)
    ranked = index.search_batch([p.query for p in pairs], depth, "fused")
    groups = []
    for pair, hits in zip(pairs, ranked, strict=True):
        wrong = list(
            dict.fromkeys(h.record.search_text() for h in hits if not is_answer(h.record, pair))
        )
        picked = rng.sample(wrong, min(negatives, len(wrong)))
        while len(picked) < negatives:
            record = index.records[rng.randrange(len(index.records))]
            text = record.search_text()
            if text not in picked and not is_answer(record, pair):
                picked.append(text)
        groups.append(
            RerankGroup(
                pair.library,
                pair.name,
                pair.query,
                pair.positive,
                tuple(picked),
                pair.aliases,
                pair.kind,
            )
        )
    return groups


def assert_groups_clean(groups: list[RerankGroup], forbidden: list[str] | None = None) -> None:
    """Raise ``ContaminationError`` naming the first group holding an evaluation text."""
    forbidden = forbidden_texts() if forbidden is None else forbidden
    for group in groups:
        if any(contaminated(text, forbidden) for text in group.texts()):
            raise ContaminationError(
                f"reranker group for {group.library}.{group.name} holds eval text"
            )


def write_groups(groups: list[RerankGroup], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for group in groups:
            handle.write(json.dumps(asdict(group), ensure_ascii=False) + "\n")


def read_groups(path: Path) -> list[RerankGroup]:
    groups = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            row["negatives"] = tuple(row["negatives"])
            row["aliases"] = tuple(row.get("aliases", ()))
            groups.append(RerankGroup(**row))
    return groups
