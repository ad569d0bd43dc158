"""Timings of the embedded LM backend: first load (GGUF conversion), cached load, generation
speed, and scoring 20 candidates. Run: ``OMP_NUM_THREADS=1 python -m benchmarks.lm_backend``.

Each load is timed in a fresh process against an empty temporary ``APIPILOT_HOME``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

CANDIDATE = " {name}: {what}. Returns the result as a new object; raises an error on bad input."
APIS = [
    ("pandas.read_csv", "read a comma-separated values file into a DataFrame"),
    ("os.remove", "delete a file from the file system"),
    ("math.sqrt", "return the square root of x"),
    ("json.dumps", "serialize an object to a JSON formatted string"),
    ("requests.get", "send an HTTP GET request to a URL"),
]


def _load_phase() -> dict[str, float]:
    t0 = time.perf_counter()
    import torch
    import transformers  # noqa: F401

    torch.set_num_threads(1)
    t1 = time.perf_counter()
    from apipilot.agents.lm.transformers_lm import load_embedded

    load_embedded()
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"import_torch_transformers_s": t1 - t0, "load_s": t2 - t1, "peak_rss_mib": rss}


def _run_phase() -> dict[str, float]:
    import torch

    torch.set_num_threads(1)
    from apipilot.agents.lm.transformers_lm import load_embedded

    lm = load_embedded()
    tok = lm._tokenizer
    prompt = "Requirement: read a CSV file and plot one column as a line chart\nSubtasks:\n1."
    lm.complete(prompt, max_tokens=4)  # warm-up
    t = time.perf_counter()
    out = lm.complete(prompt, max_tokens=64)
    gen_s = time.perf_counter() - t
    n_gen = len(tok(out, add_special_tokens=False)["input_ids"])
    conts = [CANDIDATE.format(name=n, what=w) for n, w in APIS] * 4
    task = "# Python: read a CSV file into a table\nimport"
    lm.score(task, conts[:2])  # warm-up
    times = []
    for _ in range(3):
        t = time.perf_counter()
        lm.score(task, conts)
        times.append(time.perf_counter() - t)
    lens = [len(tok(c, add_special_tokens=False)["input_ids"]) for c in conts]
    return {
        "generated_tokens": n_gen,
        "generate_s": gen_s,
        "tokens_per_s": n_gen / gen_s,
        "score_candidates": len(conts),
        "score_mean_candidate_tokens": sum(lens) / len(lens),
        "score_prompt_tokens": len(tok(task)["input_ids"]),
        "score_s_best_of_3": min(times),
    }


def main() -> None:
    if len(sys.argv) > 1:
        result = _load_phase() if sys.argv[1] == "load" else _run_phase()
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "APIPILOT_HOME": home, "OMP_NUM_THREADS": "1"}
        report = {}
        for label, phase in (("first", "load"), ("cached", "load"), ("run", "run")):
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.lm_backend", phase],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            report[label] = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
