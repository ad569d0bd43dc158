"""The fine-grained evaluation tasks shipped in ``corpora/eval``: queries and gold API names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from apipilot.indexes.corpora import corpora_dir

LIBRARIES = ("torchdata", "monkey", "beatnum", "pandas", "numpy")
SUITE_NAMES = {
    "torchdata": "TorchDataEval",
    "monkey": "MonkeyEval",
    "beatnum": "BeatNumEval",
    "pandas": "PandasEval",
    "numpy": "NumpyEval",
}

# ../shared/data/README.md, "Baselines measured on this data" (single query, de-duplicated names)
PUBLISHED_R5 = {  # library: (BM25 R@5, all-MiniLM-L6-v2 R@5, APIRetriever R@5)
    "torchdata": (0.673, 0.677, 0.816),
    "monkey": (0.397, 0.408, 0.827),
    "beatnum": (0.472, 0.577, 0.814),
    "pandas": (0.245, 0.423, 0.738),
    "numpy": (0.276, 0.423, 0.620),
}
APIRETRIEVER_P5 = {"torchdata": 0.220, "monkey": 0.207, "beatnum": 0.187, "pandas": 0.184,
                   "numpy": 0.138}  # fmt: skip


@dataclass(frozen=True)
class EvalTask:
    task_id: str
    query_id: str  # the id APIRetriever's run files use
    query: str
    gold: tuple[str, ...]


def eval_dir() -> Path:
    return corpora_dir() / "eval"


def load_tasks(library: str) -> list[EvalTask]:
    """Tasks of ``library`` that have a non-empty gold list (the ones that are scored)."""
    if library not in LIBRARIES:
        raise ValueError(f"unknown evaluation library {library!r}; valid: {', '.join(LIBRARIES)}")
    gold = json.loads((eval_dir() / "private-library-eval" / "gold_apis.json").read_text())[library]
    tasks = []
    for line in (eval_dir() / "queries" / f"{library}_comment.json").read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        names = tuple(gold.get(row["task_id"], ()))
        if names:
            tasks.append(EvalTask(row["task_id"], str(row["text_id"]), row["text"], names))
    return tasks


def load_trec_run(library: str) -> dict[str, list[str]]:
    """APIRetriever's released ranking: query id -> doc ids (pool ``text_id``s) by rank."""
    runs: dict[str, list[tuple[int, str]]] = {}
    path = eval_dir() / "apiretriever-runs" / f"{library}_id_score.trec"
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4:
            runs.setdefault(parts[0], []).append((int(parts[3]), parts[2]))
    return {q: [doc for _, doc in sorted(ranked)] for q, ranked in runs.items()}


def normalise(text: str) -> str:
    return " ".join(text.split()).lower()


def evaluation_texts(min_chars: int = 20) -> list[str]:
    """Every evaluation query, requirement comment, canonical solution and realistic question
    (``realistic/*.jsonl``), normalised.

    Training data and example banks must contain none of them (``contaminated``). Solutions
    shorter than 40 characters (``dp.cycle(6)``) are left out: such a call is in any manual.
    """
    import gzip

    texts: list[str] = []
    for library in LIBRARIES:
        for line in (eval_dir() / "queries" / f"{library}_comment.json").read_text().splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    for path in sorted((eval_dir() / "private-library-eval").glob("*_eval_v3*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                task = json.loads(line)
                texts += [c.lstrip("# ") for c in task["prompt"].splitlines() if c.startswith("#")]
                solutions = task["canonical_solution"]
                for solution in [solutions] if isinstance(solutions, str) else solutions:
                    if len(solution.strip()) >= 40:
                        texts.append(solution)
    for path in sorted((eval_dir() / "realistic").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["question"])
    normalised = {normalise(t) for t in texts}
    return sorted(t for t in normalised if len(t) >= min_chars)


def contaminated(text: str, forbidden: list[str]) -> list[str]:
    """The evaluation texts that occur in ``text``."""
    content = normalise(text)
    return [t for t in forbidden if t in content]
