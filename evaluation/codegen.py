"""Code generation with recommended APIs (LOCG-style), checked by running the tasks' tests.

For each task of a fine-grained set, the APIs a method recommends for the task's query are
written above the task's prompt in the APICoder format (``# [start]`` / ``# <signature>:
<summary>`` / ``# [end]``), the LM completes the prompt, and prompt + completion + test +
``check(...)`` runs in the sandbox; pass@1 is the share that runs to the end (greedy decoding,
one sample). MonkeyEval and BeatNumEval rename pandas and numpy; their programs are mapped back
to the real names with the shipped keyword mappings before they run, because their tests call
the real libraries and the real names (``check(compute_mean_along_rows)`` for a prompt that
defines ``compute_average_along_rows``): so the mapping replaces substrings, longest first, in
one pass, not whole identifiers. ``canonical`` runs the reference solutions the
same way: it checks the harness (it should pass nearly every task), not a model.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from apipilot.agents.lm.base import LanguageModel
from apipilot.agents.quoting import quote_doc
from apipilot.evaluation.data import eval_dir
from apipilot.evaluation.methods import Env, Method
from apipilot.evaluation.naming import ranked_names
from apipilot.evaluation.sandbox import Limits, run_program
from apipilot.evaluation.suites import fine_suite
from apipilot.retrieval.errors import ConfigError

RENAMED = {"monkey": "pandas", "beatnum": "numpy"}  # private library -> the real one
STOPS = ("\n\n", "\n#", "\ndef ", "\nclass ", "\nprint(", "\nif __name__")
PROMPT_APIS = 3
MAX_TOKENS = 128
HEADER_DOC_CHARS = 1000  # well above a first doc line: pass@1 numbers stay comparable
_DEF = re.compile(r"^def (\w+)\(", re.MULTILINE)


@dataclass(frozen=True)
class CodeTask:
    task_id: str
    prompt: str
    solutions: tuple[str, ...]  # the reference solutions (torchdata lists two spellings)
    test: str
    entry_point: str

    @property
    def canonical(self) -> str:
        return self.solutions[0]


@dataclass
class CodegenResult:
    library: str
    source: str  # "canonical" or "lm+<method>"
    tasks: int
    passed: int
    seconds: float
    generate_p50_s: float = 0.0
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pass_at_1(self) -> float:
        return self.passed / self.tasks if self.tasks else 0.0


def load_code_tasks(library: str) -> list[CodeTask]:
    path = eval_dir() / "private-library-eval" / f"real_{library}_eval_v3.jsonl.gz"
    tasks = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            solutions = row["canonical_solution"]
            if isinstance(solutions, str):
                solutions = [solutions]
            tasks.append(
                CodeTask(
                    row["task_id"], row["prompt"], tuple(solutions), row["test"], row["entry_point"]
                )
            )
    return tasks


@cache
def _reverse_mapping(library: str) -> tuple[re.Pattern[str], dict[str, str]] | None:
    real = RENAMED.get(library)
    if real is None:
        return None
    path = eval_dir() / "private-library-eval" / f"{real}_keywords.jsonl"
    forward: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))  # real -> renamed
    back = {renamed: name for name, renamed in forward.items()}
    names = sorted(back, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, names))), back


def to_real_library(library: str, code: str) -> str:
    """``code`` written against a renamed library, with the real library's names."""
    mapping = _reverse_mapping(library)
    if mapping is None:
        return code
    pattern, back = mapping
    return pattern.sub(lambda m: back[m.group(0)], code)


def program(library: str, task: CodeTask, completion: str) -> str:
    code = to_real_library(library, task.prompt + completion)
    entry = task.entry_point
    if entry != "none" and f"def {entry}(" not in code:
        # the mapping back from a renamed library is lossy: check the function the prompt defines
        defined = _DEF.findall(to_real_library(library, task.prompt))
        entry = defined[-1] if defined else entry
    call = "check()" if entry == "none" else f"check({entry})"
    return f"{code}\n{task.test}\n{call}\n"


def api_header(docs: Sequence[str]) -> str:
    """The APICoder block; each doc's first line quoted (``quote_doc``): documentation is data."""
    first_lines = (quote_doc(d.splitlines()[0], limit=HEADER_DOC_CHARS) for d in docs if d.strip())
    lines = ["# [start]", *(f"# {line}" for line in first_lines), "# [end]"]
    return "\n".join(lines) + "\n"


def run_codegen(
    library: str,
    *,
    env: Env,
    lm: LanguageModel | None,
    method: Method | None,
    limit: int | None = None,
    limits: Limits | None = None,
    progress: Callable[[str], None] | None = None,
) -> CodegenResult:
    """pass@1 of ``lm`` given ``method``'s top APIs; with no ``lm``, of the reference solutions."""
    if library == "torchdata" and importlib.util.find_spec("torchdata") is None:
        raise ConfigError("code generation for torchdata needs `pip install torchdata==0.7.1`")
    tasks = load_code_tasks(library)[:limit]
    queries = {t.task_id: t for t in fine_suite(library).tasks}
    docs: dict[str, list[str]] = {}
    if lm is not None and method is not None:
        suite = fine_suite(library)
        index = env.index(suite)
        asked = [queries[t.task_id] for t in tasks if t.task_id in queries]
        for query, ranking in zip(asked, method.rank(suite, asked, env), strict=True):
            names = ranked_names(ranking.items, ())[:PROMPT_APIS]
            docs[query.task_id] = [
                r.doc or r.search_text() for n in names for r in index.find(n)[:1]
            ]
    source = "canonical" if lm is None else f"lm+{method.name if method else 'none'}"
    result = CodegenResult(library, source, len(tasks), 0, 0.0)
    start = time.perf_counter()
    generate: list[float] = []
    for task in tasks:
        if lm is None:
            # the reference passes when any of its spellings does
            for completion in task.solutions:
                outcome = run_program(program(library, task, completion), limits)
                if outcome.passed:
                    break
        else:
            prompt = api_header(docs.get(task.task_id, [])) + task.prompt
            began = time.perf_counter()
            completion = lm.complete(prompt, stop=STOPS, max_tokens=MAX_TOKENS)
            generate.append(time.perf_counter() - began)
            outcome = run_program(program(library, task, completion), limits)
        result.passed += outcome.passed
        result.samples.append(
            {"task_id": task.task_id, "completion": completion, "status": outcome.status}
            | ({} if outcome.passed else {"output": outcome.output[-300:]})
        )
    result.seconds = time.perf_counter() - start
    result.generate_p50_s = statistics.median(generate) if generate else 0.0
    if progress:
        progress(f"codegen {library} {source}: pass@1 {result.pass_at_1:.3f} on {len(tasks)}")
    return result
