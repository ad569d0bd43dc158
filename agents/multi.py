"""One requirement across several libraries: route each query to the library that answers it.

:class:`RoutedIndex` joins the indexes in scope (one version of each library) into one index
the agent runs on unchanged: its records are every member's records (an id two libraries share
gets a ``library@version:`` prefix), and :meth:`RoutedIndex.search` searches every member and
keeps the hits of the member that answers best. Each record keeps its own ``library`` and
``version``, so every recommended API is labelled with where it comes from.

Which member answers best: the highest dense cosine of its top hit. Fused (RRF) scores are
ranks, not evidence: every index's top hit gets about the same fused score, so they cannot
tell libraries apart. BM25 scores depend on each corpus's size and IDF, so they are not
comparable across indexes either. Cosines of one embedder are (see
``tests/test_cross_library.py`` for the handmade routing set this was measured on); members
built with different embedders are compared by cosine all the same, less reliably.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from apipilot.indexes.api_index import ApiIndex, SearchHit
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.errors import ConfigError
from apipilot.retrieval.search import Mode

ROUTING_MODE = "dense"


@dataclass(frozen=True)
class Route:
    """Which member answered a query, with each member's routing score."""

    query: str
    chosen: str  # library@version
    scores: dict[str, float]


class RoutedIndex(ApiIndex):
    """Several libraries' indexes searched as one, each query routed to the best member."""

    def __init__(self, members: Sequence[ApiIndex]) -> None:
        if not members:
            raise ConfigError("no index to search: give at least one library")
        refs = [m.meta.ref for m in members]
        libraries = [m.meta.library for m in members]
        if len(set(libraries)) != len(libraries):
            raise ConfigError(f"one version per library, got {', '.join(refs)}")
        self.members = list(members)
        self._to_routed: list[dict[str, str]] = []
        seen: dict[str, int] = {}
        for member in members:
            for record in member.records:
                seen[record.id] = seen.get(record.id, 0) + 1
        records: list[ApiRecord] = []
        for member in members:
            mapping: dict[str, str] = {}
            for record in member.records:
                routed = record.id if seen[record.id] == 1 else f"{member.meta.ref}:{record.id}"
                mapping[record.id] = routed
                records.append(record if routed == record.id else replace(record, id=routed))
            self._to_routed.append(mapping)
        first = members[0]
        meta = replace(
            first.meta,
            library=",".join(libraries),
            version=",".join(m.meta.version for m in members),
            record_count=len(records),
        )
        vectors = (
            np.concatenate([m.vectors for m in members]) if len(members) > 1 else first.vectors
        )
        super().__init__(meta, records, vectors, first.searcher, first.path)
        self.routes: list[Route] = []  # every routing decision, for notes and tests

    def route(self, query: str) -> tuple[int, Route]:
        """The member whose top hit has the highest dense cosine for ``query``."""
        scores: dict[str, float] = {}
        best, best_score = 0, -np.inf
        for n, member in enumerate(self.members):
            top = member.search(query, 1, ROUTING_MODE)
            score = top[0].score if top else -np.inf
            scores[member.meta.ref] = round(float(score), 6)
            if score > best_score:
                best, best_score = n, score
        route = Route(query, self.members[best].meta.ref, scores)
        self.routes.append(route)
        return best, route

    def search_batch(
        self, queries: Sequence[str], k: int = 10, mode: Mode = "fused"
    ) -> list[list[SearchHit]]:
        results: list[list[SearchHit]] = []
        for query in queries:
            n, _ = self.route(query)
            mapping = self._to_routed[n]
            results.append(
                [
                    SearchHit(self._routed(hit.record, mapping), hit.score, hit.evidence)
                    for hit in self.members[n].search(query, k, mode)
                ]
            )
        return results

    @staticmethod
    def _routed(record: ApiRecord, mapping: dict[str, str]) -> ApiRecord:
        routed = mapping[record.id]
        return record if routed == record.id else replace(record, id=routed)


def open_routed(store: IndexStore, refs: Sequence[tuple[str, str | None]]) -> RoutedIndex:
    """The indexes of ``(library, version or None for the newest)`` joined for routing."""
    return RoutedIndex([store.open(library, version) for library, version in refs])


def stream_recommend_many(
    requirement: str, index: RoutedIndex, store: IndexStore, **options: Any
) -> Iterator[tuple[str, Any]]:
    """The agent's ``(step, update)`` stream over several libraries (options: see
    ``agents.recommend.build_context``), then ``("result", answer)``: the answer's library and
    version list every library in scope; each API carries its own library and version, and a
    note per routed subtask says which library answered it."""
    from apipilot.agents.recommend import build_context, check_requirement, run_graph

    requirement = check_requirement(requirement)
    first = index.members[0].meta
    single = build_context(first.library, first.version, store=store, **options)
    # Example banks are per library: a cross-library request runs without demonstrations.
    context = replace(single, index=index, examples=None)
    for step, update in run_graph(requirement, context):
        if step == "result":
            notes = tuple(
                f"route: {r.query!r} -> {r.chosen} (dense top-hit cosine "
                + ", ".join(f"{ref} {score:.3f}" for ref, score in r.scores.items())
                + ")"
                for r in index.routes
            )
            update = replace(update, notes=(*update.notes, *notes))
        yield step, update
