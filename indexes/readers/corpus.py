"""The registry's entry for the corpora shipped with apipilot: ``corpus:NAME@VERSION``."""

from __future__ import annotations

from dataclasses import dataclass

from apipilot.indexes.corpora import shipped_corpora
from apipilot.indexes.errors import SourceError
from apipilot.indexes.readers.base import EXPLICIT, NOT_MINE, ReadOptions, ReadSource, SourceTarget
from apipilot.indexes.readers.jsonl import read_jsonl

PREFIX = "corpus:"


@dataclass(frozen=True)
class CorpusReader:
    kind: str = "corpus"
    accepts: str = "corpus:NAME@VERSION, a corpus shipped with apipilot"
    names_library: bool = True

    def detect(self, target: SourceTarget) -> int:
        return EXPLICIT if target.text.startswith(PREFIX) else NOT_MINE

    def read(
        self, target: SourceTarget, library: str | None, version: str | None, options: ReadOptions
    ) -> ReadSource:
        ref = target.text.removeprefix(PREFIX)
        for corpus in shipped_corpora():
            if corpus.ref == ref:
                lib = library or corpus.library
                ver = version or corpus.version
                source = f"corpora/apis/{corpus.path.name}"
                report = read_jsonl(corpus.path, lib, ver, source=source)
                return ReadSource(report, lib, ver, target.text)
        known = ", ".join(c.ref for c in shipped_corpora())
        raise SourceError(f"no shipped corpus {ref!r}; shipped corpora: {known}")
