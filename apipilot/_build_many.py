"""Build the indexes of many documentation sources at once, in local processes or on Ray."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from apipilot._indexes import PhaseProgress, check_embedder
from apipilot._project import DependencyResult
from apipilot._stores import store_for
from apipilot.errors import ConfigError
from apipilot.retrieval.embedder import DEFAULT_EMBEDDER


def build_many(
    sources: str | Sequence[str],
    *,
    embedder: str = DEFAULT_EMBEDDER,
    workers: int | None = None,
    ray: bool = False,
    ray_address: str | None = None,
    phases: PhaseProgress | None = None,
    home: str | Path | None = None,
) -> tuple[DependencyResult, ...]:
    """Build one index per source and publish each atomically; one result per source, in
    order (``name`` is the source), ``built`` or ``failed`` with why.

    ``sources``: a list file (a source a line, optionally followed by ``LIBRARY[@VERSION]``;
    ``#`` comments), sources separated by commas, or a sequence of sources. Locally the
    builds run in ``workers`` processes (default min(4, CPUs)); with ``ray`` (or a
    ``ray_address``), a Ray task reads each source and Ray Data actors embed the records
    (``workers`` of them; default one per GPU of the cluster, else min(4, its CPUs)), and
    this process publishes the indexes. ``phases`` hears ``(phase, done, total)``: ``build``
    (sources) locally; ``read`` (sources) and ``embed`` (texts) on Ray.
    """
    from apipilot.indexes.build_many import (
        build_many_local,
        parse_build_list,
        read_build_list,
    )

    embedder = check_embedder(embedder)  # a bad spec fails before any build starts
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be 1 or more, not {workers}")
    if isinstance(sources, str):
        requests = read_build_list(sources)
    else:
        requests = parse_build_list("\n".join(sources))
        if not requests:
            raise ConfigError("no sources given")
    store = store_for(home)
    report = phases or (lambda name, done, total: None)
    if ray or ray_address is not None:
        from apipilot.indexes.build_ray import RayOptions, build_on_ray

        options = RayOptions(address=ray_address, workers=workers)
        outcomes = build_on_ray(
            requests, store, embedder_spec=embedder, options=options, phases=report
        )
    else:
        outcomes = build_many_local(
            requests,
            store,
            embedder_spec=embedder,
            workers=workers,
            progress=lambda done, total: report("build", done, total),
        )
    return tuple(
        DependencyResult(o.request.label, o.library, o.version, o.status, o.detail, o.records)
        for o in outcomes
    )
