"""Training set of the decomposer: (prompt, completion) pairs in the agent's own prompt formats.

For each library, groups of 2–4 APIs used together (one docstring example, or one module; see
``agents.demonstrations.api_groups``) become a requirement with its subtasks and skills:

* ``skills``: ``skills_prompt(requirement)`` -> `` skill, skill, ...\\n`` (general operations,
  no names), checked with ``valid_skills``;
* ``decompose``: ``decompose_prompt(requirement, shots)`` -> `` step\\n2. step\\n...\\n\\n``
  with 0–3 shots from the library's shipped example bank (never one of the same APIs), checked with
  ``parse_numbered_list`` and ``valid_subtasks`` as the agent checks the LM's output. A share
  (``COMPOUND``) joins two groups' requirements into one longer text of several sentences,
  as people write when one job needs two things done, and lists all their steps.

Deterministic given a seed. Examples containing an evaluation text are dropped and the result
is checked (``assert_clean``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from apipilot.agents.demonstrations import ApiGroup, api_groups, subtask_text
from apipilot.agents.examples import Demonstration, examples_dir
from apipilot.agents.prompts import decompose_prompt, skills_prompt
from apipilot.agents.text import MAX_LM_SUBTASKS, parse_numbered_list, valid_skills, valid_subtasks
from apipilot.evaluation.data import contaminated
from apipilot.indexes.record import ApiRecord
from apipilot.training.dataset import TRAINING_LIBRARIES, ContaminationError, forbidden_texts
from apipilot.training.decomposer_phrases import (
    context_sentence,
    requirement_text,
    skill_phrase,
    step_phrase,
)

Kind = Literal["skills", "decompose"]
MAX_PROMPT_CHARS = 1100  # ~300 SmolLM2 tokens: keeps a training step short on CPU
SHOT_WEIGHTS = (1, 1, 2, 4)  # P(k shots), k = 0..3; the agent shows 3 when the bank has them
MAX_SKILL_TEXT_WORDS = 24  # fits the agent's skills token limit (agents.nodes.SKILLS_MAX_TOKENS)
SINGLE_STEP = 0.15  # share of decompose examples that are one step (a one-API requirement)
COMPOUND = 0.3  # share of decompose examples that join two groups' requirements
MAX_COMPOUND_PROMPT_CHARS = 1700  # room for a long requirement and a shot or two
PART_STEPS = (1, 2, 2, 3)  # steps of each part: one job of a compound often needs one or two APIs
PART_BACKGROUND = 0.4  # chance of a background sentence before each part
PART_JOINERS = (" ", "Also, ", "After that, ", "Then ", ", then ")


@dataclass(frozen=True)
class DecomposerExample:
    library: str
    kind: Kind
    group: str  # the API group it was made from
    requirement: str
    prompt: str
    completion: str

    def text(self) -> str:
        """Everything the example holds (checked for evaluation text)."""
        return "\n".join((self.requirement, self.prompt, self.completion))


def bank_demonstrations(library: str) -> list[Demonstration]:
    """Every shipped demonstration of ``library`` (all its banks), each requirement once."""
    demos: dict[str, Demonstration] = {}
    for path in sorted(examples_dir().glob(f"{library}@*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                demo = Demonstration.from_dict(json.loads(line))
                demos.setdefault(demo.requirement, demo)
    return list(demos.values())


def numbered(steps: Sequence[str]) -> str:
    """The completion of a prompt ending in ``1.``: the rest of the list and a blank line."""
    return " " + "\n".join(f"{i}. {s}" if i > 1 else s for i, s in enumerate(steps, 1)) + "\n\n"


def skills_example(
    library: str, group: ApiGroup, steps: Sequence[str], rng: random.Random
) -> DecomposerExample | None:
    requirement = requirement_text(steps, rng, long_forms(group))
    phrases = [p for s in steps if (p := skill_phrase(s))]
    phrases = list(dict.fromkeys(phrases))
    while phrases and len(" ".join(phrases).split()) > MAX_SKILL_TEXT_WORDS:
        phrases.pop()
    skills = ", ".join(phrases)
    if not phrases or valid_skills(skills, requirement) != skills:
        return None
    return DecomposerExample(
        library, "skills", group.id, requirement, skills_prompt(requirement), f" {skills}\n"
    )


def decompose_example(
    library: str,
    group: ApiGroup,
    steps: Sequence[str],
    bank: Sequence[Demonstration],
    rng: random.Random,
) -> DecomposerExample | None:
    requirement = requirement_text(steps, rng, long_forms(group)[: len(steps)])
    return _decompose(library, [group], requirement, steps, bank, rng, MAX_PROMPT_CHARS)


def compound_example(
    library: str,
    parts: Sequence[tuple[ApiGroup, Sequence[str]]],
    bank: Sequence[Demonstration],
    rng: random.Random,
) -> DecomposerExample | None:
    """Two groups' requirements in one text (a joiner between them), each cut to 1–3 steps and
    often with a sentence of background; every step, in order."""
    parts = [(g, list(steps)[: rng.choice(PART_STEPS)]) for g, steps in parts]
    texts = [requirement_text(steps, rng, long_forms(g)[: len(steps)]) for g, steps in parts]
    backgrounds = [context_sentence(rng) if rng.random() < PART_BACKGROUND else "" for _ in parts]
    requirement = backgrounds[0] + join_parts(texts[0], texts[1], rng, backgrounds[1])
    steps = [s for _, part_steps in parts for s in part_steps]
    if len(steps) > MAX_LM_SUBTASKS or len({s.lower() for s in steps}) < len(steps):
        return None
    groups = [g for g, _ in parts]
    return _decompose(library, groups, requirement, steps, bank, rng, MAX_COMPOUND_PROMPT_CHARS)


def join_parts(first: str, second: str, rng: random.Random, background: str = "") -> str:
    """Two requirements as one text: a new sentence (after ``background``, if any), or the
    second run on after a joiner."""
    joiner = " " if background else rng.choice(PART_JOINERS)
    if joiner == " ":
        return f"{first} {background}{second}"
    second = second.removeprefix("First, ")
    if not second.startswith("I "):
        second = second[:1].lower() + second[1:]
    if joiner == ", then ":
        return f"{first.rstrip('.?')}, then {second}"
    return f"{first} {joiner}{second}"


def _decompose(
    library: str,
    groups: Sequence[ApiGroup],
    requirement: str,
    steps: Sequence[str],
    bank: Sequence[Demonstration],
    rng: random.Random,
    max_chars: int,
) -> DecomposerExample | None:
    """The decompose example for ``requirement`` -> ``steps`` with shots that share no API
    or step with it, fewest dropped to fit ``max_chars``; ``None`` if the agent would reject it."""
    names = {n for g in groups for r in g.records for n in (r.name, *r.aliases)}
    lowered = {s.lower() for s in steps}
    usable = [
        d for d in bank if not names & set(d.apis) and not lowered & {s.lower() for s in d.subtasks}
    ]
    k = rng.choices(range(len(SHOT_WEIGHTS)), weights=SHOT_WEIGHTS)[0]
    shots = rng.sample(usable, min(k, len(usable)))
    prompt = decompose_prompt(requirement, shots)
    while len(prompt) > max_chars and shots:
        shots.pop()
        prompt = decompose_prompt(requirement, shots)
    completion = numbered(steps)
    echoed = [s for d in shots for s in d.subtasks] + [d.requirement for d in shots]
    parsed = parse_numbered_list(completion)
    if valid_subtasks(parsed, requirement, echoed) != list(steps):
        return None
    group_id = "+".join(g.id for g in groups)
    return DecomposerExample(library, "decompose", group_id, requirement, prompt, completion)


def long_forms(group: ApiGroup) -> list[str]:
    """Each API's fuller summary (``subtask_text``), for a step spelled out at length."""
    return [subtask_text(r).replace("`", "") for r in group.records]


def group_steps(records: Sequence[ApiRecord]) -> list[str] | None:
    steps = [step_phrase(r) for r in records]
    if not all(steps) or len({s.lower() for s in steps if s}) < len(steps):
        return None  # every API has a step, so long_forms line up with the steps
    return [s for s in steps if s]


def library_examples(
    library: str, records: Sequence[ApiRecord], count: int, seed: int
) -> list[DecomposerExample]:
    """``count`` examples of ``library`` (half of each kind), deterministic for ``seed``."""
    rng = random.Random(f"decomposer:{seed}:{library}")
    groups = [
        (g, steps)
        for g in api_groups(records, seed=seed, composed=count * 4)
        if (steps := group_steps(g.records))
    ]
    rng.shuffle(groups)
    bank = bank_demonstrations(library)
    out: list[DecomposerExample] = []
    for i, (group, steps) in enumerate(groups):
        if len(out) >= count:
            break
        if i % 2 == 0:
            example = skills_example(library, group, steps, rng)
        elif len(groups) > 1 and rng.random() < COMPOUND:
            other, other_steps = groups[(i + 1 + rng.randrange(len(groups) - 1)) % len(groups)]
            example = compound_example(library, [(group, steps), (other, other_steps)], bank, rng)
        else:
            if rng.random() < SINGLE_STEP:
                steps = steps[:1]
            example = decompose_example(library, group, steps, bank, rng)
        if example is not None:
            out.append(example)
    return out


def build_decomposer_set(
    libraries: Iterable[str] = TRAINING_LIBRARIES,
    *,
    seed: int = 0,
    per_library: int = 200,
    forbidden: list[str] | None = None,
) -> list[DecomposerExample]:
    """Examples of every library, evaluation texts removed, then checked."""
    from apipilot.training.dataset import library_records

    forbidden = forbidden_texts() if forbidden is None else forbidden
    examples: list[DecomposerExample] = []
    for library in libraries:
        made = library_examples(library, library_records(library), per_library, seed)
        examples += [e for e in made if not contaminated(e.text(), forbidden)]
    assert_clean(examples, forbidden)
    return examples


def assert_clean(examples: Iterable[DecomposerExample], forbidden: list[str]) -> None:
    """Raise ``ContaminationError`` naming the first example that holds an evaluation text."""
    for example in examples:
        leaked = contaminated(example.text(), forbidden)
        if leaked:
            raise ContaminationError(
                f"decomposer example {example.library}/{example.group} holds eval text "
                f"{leaked[0][:60]!r}"
            )


def write_examples(examples: Sequence[DecomposerExample], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")


def read_examples(path: Path) -> list[DecomposerExample]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [DecomposerExample(**row) for row in rows]
