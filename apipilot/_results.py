"""The typed answers of the public API. Each is a frozen dataclass whose ``to_dict()`` gives
plain, JSON-serialisable data (str, int, float, bool, None, lists and dicts).

``ApiHit.from_record`` is the one place where an API record and its score become an answer item:
search, recommend, the CLI, the app and the MCP server all go through it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apipilot.indexes.api_index import Evidence
    from apipilot.indexes.record import ApiRecord

# The fields of a recommended API in a recommendation's dict (no rank: the list is the order).
RECOMMENDED_FIELDS = (
    "id", "name", "qualified_name", "signature", "summary", "score", "source", "library", "version"
)  # fmt: skip


def plain(value: Any) -> Any:
    """``value`` with tuples as lists and mappings as dicts, recursively (for ``json.dumps``)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class HitEvidence:
    """Why an API ranked: a passage of its own documentation (``kind="passage"``) or a guide
    section that names it (``kind="guide"``; ``title`` is the section's title path and
    ``code`` its code blocks). ``source`` is the URL or path the text comes from."""

    kind: str
    title: str
    text: str
    source: str = ""
    code: tuple[str, ...] = ()

    @classmethod
    def of(cls, evidence: Evidence) -> HitEvidence:
        return cls(evidence.kind, evidence.title, evidence.text, evidence.source, evidence.code)

    def line(self, width: int = 160) -> str:
        """One line for a terminal: ``guide "Title": snippet…``."""
        text = " ".join(self.text.split())
        head = f'{self.kind} "{self.title}": ' if self.kind == "guide" else "matched: "
        room = max(20, width - len(head))
        return head + (text if len(text) <= room else text[: room - 1].rstrip() + "…")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "title": self.title,
            "text": self.text,
            "source": self.source,
        }
        if self.code:
            data["code"] = list(self.code)
        return data


@dataclass(frozen=True)
class ApiHit:
    """One API in an answer: what it is, how well it matched, where it is documented."""

    rank: int
    id: str
    name: str
    qualified_name: str
    kind: str
    signature: str
    summary: str
    score: float
    source: str
    doc: str | None = None  # a documentation excerpt, when asked for
    library: str = ""  # the library@version the API belongs to (answers span several)
    version: str = ""
    evidence: HitEvidence | None = None  # the passage or guide that matched, when not the head

    @classmethod
    def from_record(
        cls,
        record: ApiRecord,
        score: float,
        rank: int = 0,
        doc: str | None = None,
        evidence: Evidence | None = None,
    ) -> ApiHit:
        return cls(
            rank=rank,
            id=record.id,
            name=record.name,
            qualified_name=record.qualified_name,
            kind=record.kind,
            signature=record.signature,
            summary=record.summary,
            score=round(score, 6),
            source=record.source,
            doc=doc,
            library=record.library,
            version=record.version,
            evidence=HitEvidence.of(evidence) if evidence is not None else None,
        )

    @property
    def display_name(self) -> str:
        return self.qualified_name or self.name

    @property
    def ref(self) -> str:
        """``library@version`` of the API."""
        return f"{self.library}@{self.version}"

    def to_dict(self, only: Collection[str] | None = None) -> dict[str, Any]:
        """Every field (``doc`` and ``evidence`` only when set), or just the fields named in
        ``only`` (and ``evidence`` when set)."""
        data = {
            "rank": self.rank,
            "id": self.id,
            "name": self.name,
            "qualified_name": self.qualified_name,
            "kind": self.kind,
            "signature": self.signature,
            "summary": self.summary,
            "score": self.score,
            "source": self.source,
            "library": self.library,
            "version": self.version,
        }
        if self.doc is not None:
            data["doc"] = self.doc
        if only is not None:
            data = {key: data[key] for key in only}
        if self.evidence is not None:
            data["evidence"] = self.evidence.to_dict()
        return data


@dataclass(frozen=True)
class SearchResult:
    """The APIs of ``library@version`` that best match ``query``, best first."""

    library: str
    version: str
    query: str
    mode: str
    results: tuple[ApiHit, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "version": self.version,
            "query": self.query,
            "mode": self.mode,
            "results": [hit.to_dict() for hit in self.results],
        }


@dataclass(frozen=True)
class ApiInfo:
    """One API's full record; ``also`` names other records with the same name."""

    library: str
    version: str
    api: Mapping[str, Any]  # every field of the API record
    also: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "version": self.version,
            "api": plain(self.api),
            "also": list(self.also),
        }


@dataclass(frozen=True)
class IndexInfo:
    """One built ``library@version`` on disk; ``problem`` says why it is unusable, if it is."""

    library: str
    version: str
    path: str
    problem: str = ""
    records: int | None = None
    embedder: str = ""
    built_at: str = ""
    build_seconds: float = 0.0
    source: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)  # the header, less file checksums

    @property
    def ref(self) -> str:
        return f"{self.library}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        head: dict[str, Any] = {"library": self.library, "version": self.version}
        head["path"] = self.path
        if self.problem:
            head["problem"] = self.problem
        return head | {key: plain(value) for key, value in self.meta.items()}


@dataclass(frozen=True)
class LibraryVersion:
    version: str
    records: int | None = None
    embedder: str = ""
    built_at: str = ""
    source: str = ""
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        if self.problem:
            return {"version": self.version, "problem": self.problem}
        return {
            "version": self.version,
            "records": self.records,
            "embedder": self.embedder,
            "built_at": self.built_at,
            "source": self.source,
        }


@dataclass(frozen=True)
class LibraryInfo:
    """A library with its built versions, oldest first; ``latest`` is the newest."""

    library: str
    latest: str
    versions: tuple[LibraryVersion, ...]

    @property
    def version_names(self) -> list[str]:
        return [v.version for v in self.versions]

    def to_dict(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "latest": self.latest,
            "versions": [v.to_dict() for v in self.versions],
        }


@dataclass(frozen=True)
class BuildSummary:
    """What a build published: ``library@version``, its size and what changed or was skipped."""

    library: str
    version: str
    records: int
    embedder: str
    source: str
    built_at: str
    stats: Mapping[str, float]
    skipped: tuple[tuple[str, str], ...]  # (where, why) for every item left out
    summary: str
    sources: tuple[str, ...] = ()  # every source, in build order (``source`` joins them)

    @property
    def ref(self) -> str:
        return f"{self.library}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "version": self.version,
            "records": self.records,
            "embedder": self.embedder,
            "source": self.source,
            "sources": list(self.sources),
            "built_at": self.built_at,
            "stats": dict(self.stats),
            "skipped": [{"where": where, "reason": reason} for where, reason in self.skipped],
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Subtask:
    text: str
    apis: tuple[str, ...]  # names of the APIs chosen for it, best first

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "apis": list(self.apis)}


@dataclass(frozen=True)
class Recommendation:
    """The agent's answer: subtasks, the APIs for them (best first) and, if asked, code."""

    requirement: str
    library: str
    version: str
    skills: str
    subtasks: tuple[Subtask, ...]
    apis: tuple[ApiHit, ...]
    examples: tuple[Mapping[str, Any], ...] = ()
    code: str = ""
    unknown_apis: tuple[str, ...] = ()
    unsafe_calls: tuple[str, ...] = ()  # process/eval/network calls: the code fell back
    paths: Mapping[str, str] = field(default_factory=dict)  # step -> "lm" | "fallback" | "skipped"
    notes: tuple[str, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)  # step -> seconds
    models: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.library}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "library": self.library,
            "version": self.version,
            "skills": self.skills,
            "subtasks": [s.to_dict() for s in self.subtasks],
            "apis": [api.to_dict(RECOMMENDED_FIELDS) for api in self.apis],
            "examples": plain(self.examples),
            "code": self.code,
            "unknown_apis": list(self.unknown_apis),
            "unsafe_calls": list(self.unsafe_calls),
            "paths": dict(self.paths),
            "notes": list(self.notes),
            "timings": dict(self.timings),
            "models": plain(self.models),
        }


@dataclass(frozen=True)
class Started:
    """First event of a streamed recommendation: the index that will answer."""

    requirement: str
    library: str
    version: str

    @property
    def ref(self) -> str:
        return f"{self.library}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": "started",
            "requirement": self.requirement,
            "library": self.library,
            "version": self.version,
        }


@dataclass(frozen=True)
class StepDone:
    """One agent step finished; ``update`` is what it added (candidates carry their names)."""

    step: str
    update: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"event": "step", "step": self.step, "update": plain(self.update)}


@dataclass(frozen=True)
class Finished:
    """Last event: the whole recommendation."""

    recommendation: Recommendation

    def to_dict(self) -> dict[str, Any]:
        return {"event": "finished", "recommendation": self.recommendation.to_dict()}


RecommendEvent = Started | StepDone | Finished
