"""Build many indexes on Ray: a read task per source, embedding as Ray Data batches.

One Ray task reads each source as a local build does (:func:`indexes.building.read_sources`,
guides linked; a source that fails is that source's outcome, the others go on). The texts of
every record read are embedded by ``map_batches`` over a pool of actors, each loading the
embedder once (one GPU per actor when the cluster has GPUs). The driver publishes each
library@version through the same :meth:`IndexStore.build` as a local build, as soon as the
last of its vectors arrives.

The driver writes the indexes, not the workers: the store publishes atomically with a lock
file, a rename and a symlink swap under ``$APIPILOT_HOME``, which needs the one filesystem
that the store's readers see; the driver has it, workers of a cluster may not. Writing an
index (BM25, FAISS, checksums) is a small share of a build (docs/scaling.md has the rates).

Workers read sources where they run: ``pkg:`` sources need the package installed (or the
project's site-packages mounted at the same path) on every node, and files the same path.
Ray is an optional extra (``pip install 'apipilot[ray]'``); nothing here imports it before a
build asks for it.
"""

from __future__ import annotations

import logging
import math
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from apipilot.errors import ConfigError
from apipilot.indexes.build_many import (
    BUILT,
    FAILED,
    BuildOutcome,
    BuildRequest,
    failed,
    reason,
)
from apipilot.indexes.builder import EMBED_BATCH, PhaseProgress
from apipilot.indexes.building import BuildResult, read_sources
from apipilot.indexes.passages import cut_passages
from apipilot.indexes.project_build import BuildJob, DependencyOutcome
from apipilot.indexes.record import ApiRecord
from apipilot.indexes.store import IndexStore
from apipilot.retrieval.embedder import Embedder, Vectors, load_embedder

RAY_HINT = "pip install 'apipilot[ray]'"
MAX_DEFAULT_WORKERS = 4
# Sources per round: ~800 records and ~1,500 texts a package (docs/scaling.md) make a round
# of 500 about 400k records and 1.1 GB of float32 vectors in this process.
ROUND_SIZE = 500
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception)\b[^:]*: ")


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide: ``address`` of the cluster (None: ``$RAY_ADDRESS``, else a local
    instance started for the build), ``workers`` embedding actors (default: one per GPU of the
    cluster, else min(4, its CPUs)), texts per embedding batch, ``writers``: threads of this
    process that publish indexes while the cluster goes on embedding, and ``round_size``:
    sources read and embedded per round (bounds this process's memory)."""

    address: str | None = None
    workers: int | None = None
    batch_size: int = EMBED_BATCH
    writers: int = 2
    round_size: int = ROUND_SIZE


@dataclass(frozen=True)
class SourceRead:
    """What a read task sends back: the records of one source, or why there are none."""

    request: BuildRequest
    library: str = ""
    version: str = ""
    source: str = ""
    records: tuple[ApiRecord, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    error: str = ""


def require_ray() -> Any:
    """The ``ray`` module (with Ray Data); ConfigError saying how to install it when absent."""
    try:
        import ray
        import ray.data  # the embedding stage
    except ImportError as exc:
        raise ConfigError(f"building on Ray needs Ray: {RAY_HINT}") from exc
    return ray


def read_request(request: BuildRequest) -> SourceRead:
    """Read one source into records as a local build does, guides linked (runs in a Ray
    task); never raises."""
    source = request.source.strip()
    try:
        read = read_sources([source], request.library, request.version)
    except Exception as exc:  # this source's outcome; the others go on
        return SourceRead(request, error=reason(exc))
    if not read.records:  # the words of the local build's error
        reasons = "; ".join(f"{w}: {r}" for w, r in read.skipped[:3])
        why = f"no API records found in {source}" + (f" ({reasons})" if reasons else "")
        return SourceRead(request, read.library, read.version, error=why)
    records, skipped = tuple(read.records), tuple(read.skipped)
    return SourceRead(request, read.library, read.version, source, records, skipped)


class EmbedBatches:
    """The Ray Data stage: each actor loads the embedder once and embeds batches of texts."""

    def __init__(self, embedder_spec: str) -> None:
        self.embedder = load_embedder(embedder_spec, purpose="build")

    def __call__(self, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(text) for text in batch["text"]]
        return {"key": np.asarray(batch["key"]), "vector": self.embedder.encode(texts)}


class PrecomputedEmbedder:
    """What the store sees as the embedder: the vectors the cluster computed, by text, under
    the real embedder's name (so the index is queried with the real embedder). A text the
    cluster was not given is embedded here by ``fallback`` and counted in ``missed``."""

    def __init__(self, fallback: Embedder, vectors: Vectors, rows: Mapping[str, int]) -> None:
        self._fallback = fallback
        self._vectors = vectors
        self._rows = rows
        self.missed = 0

    @property
    def name(self) -> str:
        return self._fallback.name

    @property
    def dim(self) -> int:
        return int(self._vectors.shape[1])

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing = [i for i, text in enumerate(texts) if text not in self._rows]
        found = [i for i, text in enumerate(texts) if text in self._rows]
        out[found] = self._vectors[[self._rows[texts[i]] for i in found]]
        if missing:
            out[missing] = self._fallback.encode([texts[i] for i in missing])
            self.missed += len(missing)
        return out


def unit_texts(record: ApiRecord) -> list[str]:
    """The texts a build embeds for ``record``: its head line, then its passages."""
    return [record.search_text(), *cut_passages(record)]


def build_on_ray(
    requests: Sequence[BuildRequest],
    store: IndexStore,
    *,
    embedder_spec: str,
    options: RayOptions | None = None,
    phases: PhaseProgress | None = None,
) -> list[BuildOutcome]:
    """Build every request on Ray and publish it into ``store``; one outcome per request, in
    the requests' order. Sources go in rounds of ``options.round_size``, so this process holds
    the records and vectors of one round at a time. ``phases`` hears ``("read", sources done,
    sources)`` and, per round, ``("embed", texts done, texts)``; indexes are published as
    their vectors complete."""
    ray = require_ray()
    opts = options or RayOptions()
    phase = phases or (lambda name, done, total: None)
    embedder = load_embedder(embedder_spec, purpose="build")  # a bad spec fails before Ray
    started_here = connect(ray, opts.address)
    outcomes: list[BuildOutcome] = []
    size = max(1, opts.round_size)
    try:
        for first in range(0, len(requests), size):
            chunk = list(requests[first : first + size])

            def read_phase(name: str, done: int, total: int, offset: int = first) -> None:
                phase(name, offset + done, len(requests))

            reads = read_on_ray(ray, chunk, read_phase)
            outcomes += _embed_and_publish(ray, reads, store, embedder, embedder_spec, opts, phase)
    finally:
        if started_here:
            ray.shutdown()
    return outcomes


def _embed_and_publish(
    ray: Any,
    reads: list[SourceRead],
    store: IndexStore,
    embedder: Embedder,
    embedder_spec: str,
    opts: RayOptions,
    phase: PhaseProgress,
) -> list[BuildOutcome]:
    """Embed the texts of one round's reads on Ray; publish each source once all its vectors
    are in (``opts.writers`` threads), while the cluster goes on embedding."""
    outcomes = {i: failed(r.request, r.error) for i, r in enumerate(reads) if r.error}
    good = [i for i, r in enumerate(reads) if not r.error]
    texts, rows_of = unique_texts([reads[i].records for i in good])
    publisher = _Publisher(store, embedder, embedder_spec, texts)
    waiting = {i: len(set(rows)) for i, rows in zip(good, rows_of, strict=True)}
    readers: list[list[int]] = [[] for _ in texts]
    for i, rows in zip(good, rows_of, strict=True):
        for row in set(rows):
            readers[row].append(i)
    done = 0
    phase("embed", 0, len(texts))
    writing = ThreadPoolExecutor(max(1, opts.writers), thread_name_prefix="publish")
    published: dict[int, Future[BuildOutcome]] = {}
    try:
        for keys, vectors in embed_on_ray(ray, texts, embedder_spec, opts):
            publisher.add(keys, vectors)
            done += len(keys)
            phase("embed", done, len(texts))
            for key in keys.tolist():
                for i in readers[key]:
                    waiting[i] -= 1
                    if waiting[i] == 0:  # its last vector: publish while Ray goes on
                        published[i] = writing.submit(publisher.publish, reads[i])
    except Exception as exc:  # the embedding stage failed: what is published stays
        why = f"embedding on Ray failed: {root_cause(exc)}"
        for i in good:
            if i not in published:
                read = reads[i]
                outcomes[i] = BuildOutcome(read.request, read.library, read.version, FAILED, why)
    finally:
        writing.shutdown(wait=True)
    outcomes.update((i, future.result()) for i, future in published.items())
    return [outcomes[i] for i in range(len(reads))]


def root_cause(exc: BaseException) -> str:
    """The user code's error inside what Ray raises (a remote traceback, many lines long):
    the last ``SomeError: message`` line that is not Ray's own, else the last line."""
    texts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(texts) < 10:
        texts.append(_ANSI.sub("", reason(seen)))
        inner = getattr(seen, "cause", None) or seen.__cause__
        seen = inner if isinstance(inner, BaseException) and inner is not seen else None
    lines = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if _ERROR_LINE.match(line) and not line.startswith("ray.")]
    found = errors[-1] if errors else (lines[-1] if lines else type(exc).__name__)
    return found[:300]


def build_jobs_on_ray(
    jobs: Sequence[BuildJob],
    store: IndexStore,
    *,
    embedder_spec: str,
    options: RayOptions | None = None,
    phases: PhaseProgress | None = None,
) -> list[DependencyOutcome]:
    """``index project --ray``: the pending dependency builds of a project, on Ray."""
    requests = [BuildRequest(job.source, job.library, job.version) for job in jobs]
    built = build_on_ray(
        requests, store, embedder_spec=embedder_spec, options=options, phases=phases
    )
    return [
        DependencyOutcome(job.name, job.library, job.version, o.status, o.detail, o.records)
        for job, o in zip(jobs, built, strict=True)
    ]


def connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at ``address`` (or ``$RAY_ADDRESS``), else start a local instance;
    True when this call started Ray (and the build shuts it down)."""
    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address is None and not os.environ.get("RAY_ADDRESS"):
        quiet["include_dashboard"] = False
    try:
        ray.init(address=address, **quiet)
    except Exception as exc:  # a wrong address, a cluster down, a missing ray[client]
        where = address or os.environ.get("RAY_ADDRESS") or "a local Ray instance"
        raise ConfigError(f"cannot start or join {where}: {reason(exc)}") from exc
    return True


def read_on_ray(ray: Any, requests: list[BuildRequest], phase: PhaseProgress) -> list[SourceRead]:
    """One Ray task per source; the reads in the requests' order."""
    task = ray.remote(num_cpus=1)(read_request)
    refs = [task.remote(request) for request in requests]
    position = {ref: i for i, ref in enumerate(refs)}
    reads: dict[int, SourceRead] = {}
    pending = list(refs)
    phase("read", 0, len(refs))
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            i = position[ref]
            try:
                reads[i] = ray.get(ref)
            except Exception as exc:  # the task's worker died (killed, out of memory)
                reads[i] = SourceRead(requests[i], error=f"read task failed: {reason(exc)}")
        phase("read", len(reads), len(refs))
    return [reads[i] for i in range(len(requests))]


def unique_texts(
    sources: Sequence[Sequence[ApiRecord]],
) -> tuple[list[str], list[list[int]]]:
    """Each distinct text to embed once, and for each source the rows of its texts."""
    rows: dict[str, int] = {}
    rows_of: list[list[int]] = []
    for records in sources:
        texts = (text for record in records for text in unit_texts(record))
        rows_of.append([rows.setdefault(text, len(rows)) for text in texts])
    return list(rows), rows_of


def embed_on_ray(
    ray: Any, texts: list[str], embedder_spec: str, options: RayOptions
) -> Iterator[tuple[npt.NDArray[np.int64], Vectors]]:
    """(row keys, vectors) batches as the actors finish them, in no particular order."""
    if not texts:
        return
    import ray.data

    with warnings.catch_warnings():  # Ray's own defaults set options it deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # apipilot prints its own progress
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    workers = options.workers or default_workers(ray)
    # small builds: batches small enough that every actor gets some
    batch = max(1, min(options.batch_size, math.ceil(len(texts) / workers)))
    gpus = ray.cluster_resources().get("GPU", 0) > 0
    items = [{"key": key, "text": text} for key, text in enumerate(texts)]
    dataset = ray.data.from_items(items, override_num_blocks=math.ceil(len(items) / batch))
    embedded = dataset.map_batches(
        EmbedBatches,
        fn_constructor_kwargs={"embedder_spec": embedder_spec},
        batch_size=batch,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_gpus=1 if gpus else None,
    )
    for out in embedded.iter_batches(batch_size=None, batch_format="numpy"):
        yield np.asarray(out["key"], dtype=np.int64), np.asarray(out["vector"], np.float32)


def default_workers(ray: Any) -> int:
    """One embedding actor per GPU of the cluster, else min(4, its CPUs)."""
    resources: dict[str, float] = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    cpus = int(resources.get("CPU", 1))
    return gpus if gpus > 0 else max(1, min(MAX_DEFAULT_WORKERS, cpus))


class _Publisher:
    """Collects the vectors of every text and publishes a source once all of its are in."""

    def __init__(
        self, store: IndexStore, embedder: Embedder, embedder_spec: str, texts: list[str]
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.embedder_spec = embedder_spec
        self.rows = {text: row for row, text in enumerate(texts)}
        self.count = len(texts)
        self.vectors: Vectors | None = None

    def add(self, keys: np.ndarray, vectors: Vectors) -> None:
        if self.vectors is None:
            self.vectors = np.zeros((self.count, vectors.shape[1]), dtype=np.float32)
        self.vectors[keys] = vectors

    def publish(self, read: SourceRead) -> BuildOutcome:
        """Publish one source's index through the store (never raises)."""
        assert self.vectors is not None
        embedder = PrecomputedEmbedder(self.embedder, self.vectors, self.rows)
        try:
            meta, stats = self.store.build(
                read.records,
                library=read.library,
                version=read.version,
                embedder=embedder,
                embedder_spec=self.embedder_spec,
                source=read.source,
                sources=[read.source],
            )
        except Exception as exc:  # e.g. the library@version's lock is held elsewhere
            return BuildOutcome(read.request, read.library, read.version, FAILED, reason(exc))
        summary = BuildResult(meta, stats, list(read.skipped)).summary()
        detail = summary.removeprefix(f"built {meta.ref}: ")
        if embedder.missed:
            detail += f"; {embedder.missed} texts embedded on the driver"
        return BuildOutcome(
            read.request, meta.library, meta.version, BUILT, detail, len(read.records)
        )
