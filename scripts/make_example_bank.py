"""Write the Skill-KNN example banks ``corpora/examples/<library>@<version>.jsonl``.

    .venv/bin/python scripts/make_example_bank.py [--llm SPEC] [--composed N] [--seed S] [REF ...]

Demonstrations come from the shipped documentation corpora only (see agents/demonstrations.py);
with ``--llm`` the skill descriptions are written by that LM (checked, with the deterministic
method as fallback), otherwise by the deterministic method.
"""

from __future__ import annotations

import argparse
import json

from apipilot.agents.demonstrations import make_demonstrations
from apipilot.agents.examples import examples_dir
from apipilot.agents.text import fallback_skills, valid_skills
from apipilot.evaluation.data import contaminated, evaluation_texts
from apipilot.indexes.corpora import shipped_corpora
from apipilot.indexes.sources import read_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("refs", nargs="*", help="library@version (default: every shipped corpus)")
    parser.add_argument("--llm", help="LM spec that writes the skill descriptions")
    parser.add_argument("--composed", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    writer = None
    if args.llm:
        from apipilot.agents import prompts
        from apipilot.agents.lm import load_lm

        lm = load_lm(args.llm)

        def writer(requirement: str) -> str:
            text = lm.complete(prompts.skills_prompt(requirement), stop=["\n"], max_tokens=40)
            return valid_skills(text, requirement) or fallback_skills(requirement)

    forbidden = evaluation_texts()
    refs = args.refs or [c.ref for c in shipped_corpora()]
    out = examples_dir()
    out.mkdir(parents=True, exist_ok=True)
    for ref in refs:
        records = read_source(f"corpus:{ref}").report.records
        demos = make_demonstrations(
            records, seed=args.seed, composed=args.composed, skill_writer=writer
        )
        kept = [d for d in demos if not contaminated(json.dumps(d.to_dict()), forbidden)]
        dropped, demos = len(demos) - len(kept), kept
        path = out / f"{ref}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for demo in demos:
                handle.write(json.dumps(demo.to_dict(), ensure_ascii=False) + "\n")
        print(f"{path.name}: {len(demos)} demonstrations ({dropped} dropped: evaluation text)")


if __name__ == "__main__":
    main()
