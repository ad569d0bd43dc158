"""Many-library builds: 1 and 2 workers, local processes against Ray, and per-package rates.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.build_many [--sources pkg:rich,...]
        [--repeats 3] [--embedder minilm] [--json OUT]

1. Per package, in this process, one at a time: read time (griffe, guides linked), texts
   embedded (head lines + passages), embedding time on one torch thread, write time (the
   store's atomic publish with those vectors), the index on disk, and the resident memory
   that opening it and one search add.
2. ``apipilot index build-many`` as a user runs it (a fresh process and a fresh index home
   each time): local processes with 1 and 2 workers, and ``--ray`` with 1 and 2 embedding
   actors (the command starts a local Ray instance of 2 CPUs and stops it).
3. The same Ray builds on an instance that is already running (a cluster's case), called
   in-process: Ray's start is left out, the read tasks' workers are warm, the embedding
   actors start with each build.

Medians of ``--repeats`` runs. Prints markdown tables (docs/scaling.md has them).

    .venv/bin/python -m benchmarks.build_many --census pkg:rich,pkg:click,...

only reads each package (no embedding): records, texts to embed and read time per package,
the sample that docs/scaling.md extrapolates from.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_SOURCES = "pkg:typer,pkg:httpx,pkg:platformdirs,pkg:tenacity"
REPO = Path(__file__).resolve().parent.parent
CLI = [str(Path(sys.executable).parent / "apipilot")]  # the venv's console script


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def per_package(sources: list[str], embedder_spec: str, home: Path) -> list[dict[str, Any]]:
    """Read, embed, write and open each package in turn, timing each stage."""
    import numpy as np

    from apipilot.indexes.build_ray import PrecomputedEmbedder, unit_texts
    from apipilot.indexes.building import read_sources
    from apipilot.indexes.store import IndexStore
    from apipilot.retrieval.embedder import load_embedder

    store = IndexStore(home)
    embedder = load_embedder(embedder_spec, purpose="build")
    embedder.encode(["warm up the model"])  # the load is not a per-package cost
    load_embedder(embedder_spec).encode(["and the query embedder"])  # what opening uses
    rows: list[dict[str, Any]] = []
    for source in sources:
        start, cpu = time.perf_counter(), time.process_time()
        read = read_sources([source])
        read_s, read_cpu = time.perf_counter() - start, time.process_time() - cpu
        texts = list(dict.fromkeys(t for r in read.records for t in unit_texts(r)))
        start, cpu = time.perf_counter(), time.process_time()
        vectors = np.concatenate(
            [embedder.encode(texts[i : i + 256]) for i in range(0, len(texts), 256)]
        )
        embed_s, embed_cpu = time.perf_counter() - start, time.process_time() - cpu
        table = PrecomputedEmbedder(embedder, vectors, {t: i for i, t in enumerate(texts)})
        start, cpu = time.perf_counter(), time.process_time()
        meta, _ = store.build(
            read.records,
            library=read.library,
            version=read.version,
            embedder=table,
            embedder_spec=embedder_spec,
            source=source,
        )
        write_s, write_cpu = time.perf_counter() - start, time.process_time() - cpu
        before = rss_bytes()
        index = store.open(meta.library, meta.version)
        index.search("read the file and parse each line", k=5)
        rows.append(
            {
                "source": source,
                "ref": meta.ref,
                "records": meta.record_count,
                "texts": len(texts),
                "read_s": read_s,
                "embed_s": embed_s,
                "write_s": write_s,
                "read_cpu": read_cpu,
                "embed_cpu": embed_cpu,
                "write_cpu": write_cpu,
                "disk_bytes": sum(meta.sizes.values()),
                "open_rss_bytes": rss_bytes() - before,
            }
        )
    return rows


def census(sources: list[str]) -> None:
    """Read each source; print records, texts and read seconds (a failure is listed)."""
    from apipilot.indexes.build_ray import unit_texts
    from apipilot.indexes.building import read_sources

    print("| source | library@version | records | texts | read s (CPU s) |")
    print("|---|---|---|---|---|")
    counts: list[tuple[int, int, float]] = []
    for source in sources:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            read = read_sources([source])
        except Exception as exc:  # reported: a share of real packages fails to read
            print(f"| {source} | failed: {str(exc)[:120]} | | | |")
            continue
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        texts = len({t for r in read.records for t in unit_texts(r)})
        counts.append((len(read.records), texts, cpu))
        print(f"| {source} | {read.library}@{read.version} | {len(read.records)} | {texts} "
              f"| {seconds:.2f} ({cpu:.2f}) |")  # fmt: skip
    if counts:
        sizes = [float(c[0]) for c in counts]
        cpus = [c[2] for c in counts]
        print(
            f"\n{len(counts)} of {len(sources)} read; records mean {statistics.mean(sizes):.0f}"
            f" median {statistics.median(sizes):.0f}; texts/record "
            f"{sum(c[1] for c in counts) / sum(sizes):.2f}; read CPU s mean "
            f"{statistics.mean(cpus):.2f} median {statistics.median(cpus):.2f}"
        )


def cli_build(sources: str, workers: int, ray: bool, embedder: str) -> float:
    """Wall seconds of one ``apipilot index build-many`` into a fresh home."""
    with tempfile.TemporaryDirectory(prefix="build-many-") as home:
        command = [*CLI, "index", "build-many", sources, "--workers", str(workers)]
        command += ["--embedder", embedder, "--home", home, "--json"]
        if ray:
            command.append("--ray")
        env = os.environ | {"OMP_NUM_THREADS": "1", "RAY_DISABLE_USAGE_STATS": "1"}
        env.pop("RAY_ADDRESS", None)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"build-many failed:\n{done.stdout}\n{done.stderr[-2000:]}")
        return seconds


def warm_ray_builds(
    sources: str, workers: list[int], repeats: int, embedder: str
) -> dict[int, list[float]]:
    """In-process builds on one running local Ray instance; the start is timed apart."""
    import ray

    from apipilot.indexes.build_many import read_build_list
    from apipilot.indexes.build_ray import RayOptions, build_on_ray
    from apipilot.indexes.store import IndexStore

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    print(f"Ray start (local instance, 2 CPUs): {time.perf_counter() - start:.1f} s")
    requests = read_build_list(sources)
    times: dict[int, list[float]] = {w: [] for w in workers}
    try:
        for _ in range(repeats):
            for w in workers:
                with tempfile.TemporaryDirectory(prefix="build-many-") as home:
                    start = time.perf_counter()
                    outcomes = build_on_ray(
                        requests,
                        IndexStore(Path(home)),
                        embedder_spec=embedder,
                        options=RayOptions(workers=w),
                    )
                    times[w].append(time.perf_counter() - start)
                    assert all(o.status == "built" for o in outcomes), outcomes
    finally:
        ray.shutdown()
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", default=DEFAULT_SOURCES)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--json", type=Path, help="Also write every measurement here.")
    parser.add_argument("--census", help="Only read these sources (comma-separated).")
    parser.add_argument("--stages-only", action="store_true", help="Only the per-package part.")
    args = parser.parse_args(argv)
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.census:
        census([s.strip() for s in args.census.split(",") if s.strip()])
        return

    with tempfile.TemporaryDirectory(prefix="build-many-") as home:
        packages = per_package(sources, args.embedder, Path(home))
    print("\nWall seconds (CPU seconds of this process in brackets: the machine is shared):\n")
    print("| package | records | texts | read s | embed s | texts per CPU s | write s | disk KiB "
          "| open RSS MiB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    totals = {k: sum(p[k] for p in packages) for k in packages[0] if k not in ("source", "ref")}
    for p in [*packages, {**totals, "ref": f"**all {len(packages)}**"}]:
        print(
            f"| {p['ref']} | {p['records']} | {p['texts']} | {p['read_s']:.2f} "
            f"({p['read_cpu']:.2f}) | {p['embed_s']:.1f} ({p['embed_cpu']:.1f}) | "
            f"{p['texts'] / p['embed_cpu']:.0f} | {p['write_s']:.2f} ({p['write_cpu']:.2f}) | "
            f"{p['disk_bytes'] / 1024:.0f} | {p['open_rss_bytes'] / 2**20:.1f} |"
        )
    if args.stages_only:
        return

    local, started = "local processes", "Ray (started by the command)"
    configs = [(local, 1, False), (local, 2, False), (started, 1, True), (started, 2, True)]
    cold: dict[tuple[str, int], list[float]] = {(name, w): [] for name, w, _ in configs}
    for _ in range(args.repeats):  # interleaved, so a burst of load hits every config alike
        for name, w, ray in configs:
            cold[(name, w)].append(cli_build(args.sources, w, ray, args.embedder))
    warm = warm_ray_builds(args.sources, [1, 2], args.repeats, args.embedder)

    records = totals["records"]
    print(f"\n`apipilot index build-many` of {len(sources)} packages ({records} records), "
          f"median of {args.repeats}:\n")  # fmt: skip
    print("| how | workers | wall s (median) | runs | records/s |")
    print("|---|---|---|---|---|")
    rows = [(name, w, times) for (name, w), times in cold.items()]
    rows += [("Ray (already running, in-process)", w, times) for w, times in warm.items()]
    for name, w, times in rows:
        median = statistics.median(times)
        runs = ", ".join(f"{t:.1f}" for t in times)
        print(f"| {name} | {w} | {median:.1f} | {runs} | {records / median:.0f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nload average at end: {os.getloadavg()[0]:.1f}; this process's peak RSS {peak:.0f} MiB"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "packages": packages,
                    "cli": {f"{n} / {w}": t for (n, w), t in cold.items()},
                    "warm_ray": warm,
                },
                indent=2,
            ),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
