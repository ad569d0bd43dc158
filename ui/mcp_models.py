"""Output schemas of the MCP tools, published as ``outputSchema`` and checked on every result.

Every answer names the ``library`` and ``version`` that produced it, and says whether the token
budget left something out (``truncated``) and about how many tokens its text took (``tokens``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from apipilot import ApiHit  # a dataclass: pydantic derives its schema from the fields


class Budgeted(BaseModel):
    truncated: bool = Field(description="True when the token budget left something out.")
    tokens: int = Field(description="Estimated tokens of the text answer (characters / 4).")


class SearchResult(Budgeted):
    library: str
    version: str
    query: str
    mode: str
    total: int = Field(description="Results retrieved before the token budget was applied.")
    results: list[ApiHit]


class ApiDetail(BaseModel):
    id: str
    library: str
    version: str
    name: str
    qualified_name: str
    kind: str
    aliases: list[str]
    signature: str
    summary: str
    doc: str
    examples: list[str]
    source: str


class ApiResult(Budgeted):
    library: str
    version: str
    api: ApiDetail
    also: list[str] = Field(description="Ids of other APIs with the same name.")


class VersionInfo(BaseModel):
    version: str
    id: str = Field(
        description="Id of this version: /library/version, or /org/library/version when "
        "resolve-library-id was asked for idShape 'org'."
    )
    org_id: str = Field(description="Context7-style id of this version: /org/library/version.")
    records: int | None = None
    embedder: str | None = None
    built_at: str | None = None
    source: str | None = None
    problem: str | None = Field(None, description="Why this index cannot be used, if so.")


class LibraryInfo(BaseModel):
    library: str
    id: str = Field(
        description="Id of the newest version: /library, or /org/library with idShape 'org'."
    )
    org_id: str = Field(description="Context7-style id of the newest version: /org/library.")
    latest: str
    versions: list[VersionInfo]


class LibrariesResult(Budgeted):
    libraries: list[LibraryInfo]
    total: int


class ResolveResult(Budgeted):
    library_name: str
    libraries: list[LibraryInfo]
    total: int


class Subtask(BaseModel):
    text: str
    apis: list[str]


class RecommendedApi(BaseModel):
    id: str
    name: str
    qualified_name: str
    signature: str
    summary: str
    score: float
    source: str
    library: str = Field(default="", description="The library the API belongs to.")
    version: str = Field(default="", description="That library's version.")


class RecommendResult(Budgeted):
    requirement: str
    library: str
    version: str
    subtasks: list[Subtask]
    apis: list[RecommendedApi]
    total: int = Field(description="APIs recommended before the token budget was applied.")
    code: str
    unknown_apis: list[str]
    unsafe_calls: list[str] = Field(default=[], description="Unsafe calls; the code fell back.")
    notes: list[str]
    paths: dict[str, str] = Field(description="Which path each step took (lm, fallback…).")
    timings: dict[str, float]
    models: dict[str, Any]


class QueryDocsResult(SearchResult):
    library_id: str


class BuildResult(BaseModel):
    library: str
    version: str
    records: int
    embedder: str
    source: str
    sources: list[str] = Field(default_factory=list, description="Every source, in build order.")
    built_at: str
    stats: dict[str, float]
    skipped: list[dict[str, str]]
    summary: str
