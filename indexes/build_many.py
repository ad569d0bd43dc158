"""Build the indexes of many documentation sources: the list of sources, and local processes.

A list names one source a line (``#`` starts a comment), optionally followed by the
library it builds, as ``LIBRARY`` or ``LIBRARY@VERSION`` (sources that do not name their
library, such as JSON lines or a Markdown folder, need it)::

    pkg:rich
    corpus:torchdata@0.7.1
    docs/mylib.jsonl  mylib@1.2

A relative path is taken from the list's folder. Each source is read and published through
:func:`apipilot.indexes.building.build_from_source` in its own worker process; the Ray path
(:mod:`apipilot.indexes.build_ray`) takes the same requests and gives the same outcomes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from apipilot.errors import ConfigError
from apipilot.indexes.errors import SourceError
from apipilot.indexes.store import IndexStore, parse_ref

BUILT, FAILED = "built", "failed"
Progress = Callable[[int, int], None]  # (sources done, sources in all)
_PREFIXED = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # pkg:, corpus:, https:, ...


@dataclass(frozen=True)
class BuildRequest:
    """One source to build, with the library and version it is pinned to (if any)."""

    source: str
    library: str | None = None
    version: str | None = None

    @property
    def label(self) -> str:
        pinned = self.library or ""
        if pinned and self.version:
            pinned += f"@{self.version}"
        return f"{self.source} ({pinned})" if pinned else self.source


@dataclass(frozen=True)
class BuildOutcome:
    """What became of one request: ``built`` (its summary) or ``failed`` (why)."""

    request: BuildRequest
    library: str
    version: str
    status: str
    detail: str
    records: int = 0


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


def parse_build_list(text: str, base: Path | None = None) -> list[BuildRequest]:
    """The requests of a list's text (see the module's docstring); ``base`` resolves relative
    paths. SourceError naming the line when a line is malformed."""
    requests: list[BuildRequest] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line:
            continue
        fields = line.split()
        if len(fields) > 2:
            raise SourceError(
                f"line {number}: {line[:200]!r} has {len(fields)} fields; "
                "write SOURCE or SOURCE LIBRARY[@VERSION]"
            )
        library = version = None
        if len(fields) == 2:
            try:
                library, version = parse_ref(fields[1])
            except ConfigError as exc:
                raise SourceError(f"line {number}: {exc}") from exc
        requests.append(BuildRequest(_resolve(fields[0], base), library, version))
    return requests


def read_build_list(spec: str) -> list[BuildRequest]:
    """The requests of ``spec``: a list file, or sources separated by commas
    (``pkg:rich,pkg:typer``). SourceError when it names none."""
    path = Path(spec).expanduser()
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        requests = parse_build_list(text, path.resolve().parent)
        where = str(path)
    else:
        requests = parse_build_list("\n".join(spec.split(",")))
        where = repr(spec[:200])
    if not requests:
        raise SourceError(f"no sources in {where}: give a list file or sources separated by ,")
    return requests


def build_many_local(
    requests: list[BuildRequest],
    store: IndexStore,
    *,
    embedder_spec: str,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[BuildOutcome]:
    """Build every request in ``workers`` processes (default :func:`default_workers`); one
    outcome per request, in the requests' order. A failed source does not stop the others."""
    report = progress or (lambda done, total: None)
    total = len(requests)
    count = max(1, workers if workers is not None else default_workers())
    home = str(store.home)
    outcomes: dict[int, BuildOutcome] = {}
    report(0, total)
    if count == 1 or total <= 1:
        for i, request in enumerate(requests):
            outcomes[i] = build_one(request, home, embedder_spec)
            report(len(outcomes), total)
        return [outcomes[i] for i in range(total)]
    with ProcessPoolExecutor(max_workers=min(count, total)) as pool:
        futures = {
            pool.submit(build_one, request, home, embedder_spec): i
            for i, request in enumerate(requests)
        }
        for future in as_completed(futures):
            i = futures[future]
            try:
                outcomes[i] = future.result()
            except Exception as exc:  # the worker process died (killed, out of memory)
                outcomes[i] = failed(requests[i], f"worker failed: {exc}")
            report(len(outcomes), total)
    return [outcomes[i] for i in range(total)]


def build_one(request: BuildRequest, home: str, embedder_spec: str) -> BuildOutcome:
    """Read and publish one source (runs in a worker process); never raises."""
    from apipilot.indexes.building import build_from_source

    try:
        result = build_from_source(
            IndexStore(Path(home)),
            request.source,
            request.library,
            request.version,
            embedder_spec=embedder_spec,
        )
    except Exception as exc:  # one source's failure is reported, the others go on
        return failed(request, reason(exc))
    meta = result.meta
    detail = result.summary().removeprefix(f"built {meta.ref}: ")
    return BuildOutcome(request, meta.library, meta.version, BUILT, detail, meta.record_count)


def failed(request: BuildRequest, why: str) -> BuildOutcome:
    return BuildOutcome(request, request.library or "", request.version or "", FAILED, why)


def reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _strip_comment(line: str) -> str:
    """The line without its comment: ``#`` at the start or after white space (a URL's
    fragment, ``https://x.org/#a``, is kept)."""
    return re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()


def _resolve(source: str, base: Path | None) -> str:
    if base is None or _PREFIXED.match(source):
        return source
    path = Path(source).expanduser()
    return source if path.is_absolute() else str(base / path)
