"""The realistic suite: everyday questions about installed libraries, written by hand.

``corpora/eval/realistic/<library>.jsonl`` holds one question a line: ``id``, ``library`` (the
index's library name, as ``apipilot index build pkg:NAME`` reads it from the package metadata:
``rich``, ``PyYAML``), ``question``, ``gold`` (accepted API names, qualified as the ``pkg:``
reader writes them; any one of them counts as a hit) and ``split`` (``dev`` or ``test``, which
must equal :func:`apipilot.evaluation.splits.split_of` of the id). The questions are scored
against ``<library>@<installed version>``, built from ``pkg:<module>`` on first use; the module
is the top-level package every gold name starts with. See corpora/eval/realistic/README.md.

Which documentation the indexes hold is the ``sources`` setting (``apipilot eval
--realistic-sources``): ``pkg`` (the default) reads the installed package and its README;
``sdist`` reads the distribution's source archive of the installed version
(``sdist:NAME==VERSION``: its ``docs/`` folder as guides, with the same API), into the index
``<library>@<version>-sdist`` so both kinds live side by side in one home (a label that is not
a PEP 440 version sorts below the releases, so it never becomes a library's default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from apipilot.evaluation.data import eval_dir
from apipilot.evaluation.splits import Split, split_of
from apipilot.retrieval.errors import ConfigError

FIELDS = ("id", "library", "question", "gold", "split")
SOURCE_KINDS = ("pkg", "sdist")
DEFAULT_SOURCES = "pkg"


@dataclass(frozen=True)
class RealisticQuestion:
    id: str
    library: str
    question: str
    gold: tuple[str, ...]
    split: Split


def realistic_dir() -> Path:
    return eval_dir() / "realistic"


def realistic_libraries(folder: Path | None = None) -> list[str]:
    """The libraries that have a question file, in name order (case-insensitive)."""
    folder = folder or realistic_dir()
    return sorted((p.stem for p in folder.glob("*.jsonl")), key=str.lower)


def load_questions(library: str, folder: Path | None = None) -> list[RealisticQuestion]:
    """The questions of ``library``, checked line by line (errors name ``file:line``)."""
    folder = folder or realistic_dir()
    path = folder / f"{library}.jsonl"
    if not path.is_file():
        valid = ", ".join(realistic_libraries(folder)) or "none"
        raise ConfigError(f"no realistic questions for {library!r}; valid: {valid}")
    questions: list[RealisticQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        question = _question(_json_object(line, where), library, where)
        if question.id in seen:
            raise ConfigError(f"{where}: id {question.id!r} is used twice")
        seen.add(question.id)
        questions.append(question)
    return questions


def _json_object(line: str, where: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise ConfigError(f"{where}: a line must be a JSON object with {', '.join(FIELDS)}")
    return row


def _question(row: dict[str, Any], library: str, where: str) -> RealisticQuestion:
    missing = [f for f in FIELDS if f not in row]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)} (fields: {', '.join(FIELDS)})")
    task_id, question, gold, split = row["id"], row["question"], row["gold"], row["split"]
    if not isinstance(task_id, str) or not task_id:
        raise ConfigError(f"{where}: id must be a non-empty string, not {task_id!r}")
    if row["library"] != library:
        raise ConfigError(f"{where}: library {row['library']!r} in the file of {library!r}")
    if not isinstance(question, str) or not question.strip():
        raise ConfigError(f"{where}: question must be a non-empty string, not {question!r}")
    if not isinstance(gold, list) or not gold or not all(isinstance(g, str) and g for g in gold):
        raise ConfigError(f"{where}: gold must be a non-empty list of API names, not {gold!r}")
    expected = split_of(task_id)
    if split != expected:
        raise ConfigError(
            f"{where}: split {split!r} for {task_id!r}; the split rule gives {expected!r} "
            "(evaluation/splits.py)"
        )
    return RealisticQuestion(task_id, library, question.strip(), tuple(gold), expected)


def package_of(questions: list[RealisticQuestion]) -> str:
    """The import name the questions' gold names start with (``yaml`` for PyYAML)."""
    tops = {name.split(".", 1)[0] for q in questions for name in q.gold}
    if len(tops) != 1:
        library = questions[0].library if questions else "?"
        raise ConfigError(
            f"the gold names of {library!r} start with {sorted(tops)}; they must all be "
            "qualified names of one top-level package"
        )
    return tops.pop()


def installed_version(library: str) -> str:
    """The installed version of the distribution ``library``; ConfigError when it is missing."""
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError as exc:
        raise ConfigError(
            f"the realistic suite of {library!r} needs it installed (pip install {library})"
        ) from exc


def check_sources(sources: str) -> str:
    """``sources`` if it is a known kind of realistic index; ConfigError naming them if not."""
    if sources not in SOURCE_KINDS:
        raise ConfigError(
            f"unknown realistic sources {sources!r}; valid: {', '.join(SOURCE_KINDS)}"
        )
    return sources


def realistic_index(
    questions: list[RealisticQuestion], library: str, version: str, sources: str = DEFAULT_SOURCES
) -> tuple[str, str]:
    """``(source, index version)`` of the index the questions of ``library@version`` are
    scored on: ``("pkg:yaml", "6.0.4")``, or ``("sdist:PyYAML==6.0.4", "6.0.4-sdist")``."""
    if check_sources(sources) == "sdist":
        return f"sdist:{library}=={version}", f"{version}-sdist"
    return f"pkg:{package_of(questions)}", version
