"""Concurrent ``recommend`` requests with the embedded LM: one lock around each whole request
(how the MCP server served them before) against the shared, batched LM (``agents.lm.shared``).

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.lm_concurrency [--repeats 3] [--clients 1 4 6]

Builds the torchdata@0.7.1 index from ``corpus:torchdata@0.7.1`` into a temporary home, loads the
LM once, runs every requirement once untimed (loads the embedder and example bank, fills the
per-record rerank priors), then for each repeat and client count runs both modes on the same
requirements. Prints the median wall time, from the common start, of the first and the last
answer, and the LM batch sizes the shared mode saw.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.lm.shared import SharedLM
from apipilot.agents.recommend import recommend
from apipilot.indexes.store import IndexStore

LIBRARY, VERSION = "torchdata", "0.7.1"
REQUIREMENTS = [
    "Load text data from a CSV file, then batch and shuffle it",
    "List the files in a folder, open them and read each line",
    "Read JSON files from a directory and parse every record",
    "Zip two datapipes together and map a function over the pairs",
    "Filter out empty lines and then group the rest into batches of ten",
    "Decompress a tar archive and iterate over the files inside",
]


def run_clients(
    clients: int,
    lm: LanguageModel,
    store: IndexStore,
    guard: Callable[[], AbstractContextManager[object]],
) -> tuple[float, float]:
    """Seconds from the common start to the first and to the last of ``clients`` answers."""
    barrier = threading.Barrier(clients + 1)
    done: list[float] = []
    errors: list[BaseException] = []

    def client(requirement: str) -> None:
        barrier.wait()
        try:
            with guard():
                recommend(requirement, LIBRARY, VERSION, store=store, llm=lm, k=10)
            done.append(time.perf_counter())
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=client, args=(REQUIREMENTS[i % len(REQUIREMENTS)],))
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return min(done) - start, max(done) - start


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 6])
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--gather-ms", type=float, default=10.0)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    import apipilot
    from apipilot.agents.lm.spec import load_lm

    with tempfile.TemporaryDirectory() as home:
        t = time.perf_counter()
        apipilot.build_index(f"corpus:{LIBRARY}@{VERSION}", home=home)
        built = time.perf_counter() - t
        store = IndexStore(Path(home))
        t = time.perf_counter()
        backend = load_lm("embedded")  # the raw backend, not the shared one
        loaded = time.perf_counter() - t
        t = time.perf_counter()
        for requirement in REQUIREMENTS:
            recommend(requirement, LIBRARY, VERSION, store=store, llm=backend, k=10)
        warm = (time.perf_counter() - t) / len(REQUIREMENTS)
        lock = threading.Lock()
        results: dict[tuple[str, int], list[tuple[float, float]]] = {}
        batches: dict[int, list[int]] = {}
        for _ in range(args.repeats):
            for clients in args.clients:
                results.setdefault(("lock", clients), []).append(
                    run_clients(clients, backend, store, lambda: lock)
                )
                shared = SharedLM(backend, max_batch=args.max_batch, gather_s=args.gather_ms / 1000)
                results.setdefault(("shared", clients), []).append(
                    run_clients(clients, shared, store, nullcontext)
                )
                shared.close()
                batches.setdefault(clients, []).extend(shared.batch_sizes)
    print(
        f"## Shared LM: {LIBRARY}@{VERSION}, {backend.name}, median of {args.repeats}\n\n"
        f"Index build {built:.1f} s, LM load {loaded:.1f} s, "
        f"one request alone (warm, sequential) {warm:.1f} s.\n"
    )
    print(
        "| clients | lock: first s | lock: last s | shared: first s | shared: last s | "
        "last: lock / shared | LM calls per batch (shared) |"
    )
    print("|---|---|---|---|---|---|---|")
    for clients in args.clients:
        lock_first, lock_last = medians(results[("lock", clients)])
        sh_first, sh_last = medians(results[("shared", clients)])
        sizes = batches[clients]
        mean = sum(sizes) / len(sizes) if sizes else 0.0
        print(
            f"| {clients} | {lock_first:.1f} | {lock_last:.1f} | {sh_first:.1f} | "
            f"{sh_last:.1f} | {lock_last / sh_last:.2f}x | mean {mean:.2f}, max {max(sizes)} |"
        )


if __name__ == "__main__":
    main()
