"""Validation of a reranker on held-out doc-derived queries: which order rule to use."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from apipilot.evaluation.metrics import reciprocal_rank, unique_names
from apipilot.indexes.api_index import SearchHit
from apipilot.retrieval.cross_encoder import RERANK_DEPTH, CrossEncoderReranker, order_from_scores
from apipilot.training.reranker_data import RerankGroup, is_validation, pool_index

# order rule -> (fuse with retrieval, weight of the cross-encoder's ranking)
RULES: dict[str, tuple[bool, float] | None] = {
    "retrieval": None,
    "cross-encoder": (False, 1.0),
    "rrf(ce, retrieval)": (True, 1.0),
    "rrf(2 ce, retrieval)": (True, 2.0),
}


def _gold(hit: SearchHit, names: set[str]) -> str:
    """The name the metric sees: the group's own name when ``hit`` is its API (alias too)."""
    record = hit.record
    own = {n.lower() for n in (record.name, *record.aliases)}
    return "\0gold" if own & names else record.name


def validate(
    adapter_dir: Path,
    held: list[RerankGroup],
    index_home: Path,
    *,
    depth: int = RERANK_DEPTH,
    quantize: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, float]]:
    """hit@1, hit@5 and MRR (de-duplicated names) of every rule in ``RULES`` on ``held``."""
    start = time.perf_counter()
    reranker = CrossEncoderReranker(adapter_dir, quantize=quantize)
    totals = {rule: {"hit@1": 0.0, "hit@5": 0.0, "mrr": 0.0} for rule in RULES}
    for library in sorted({g.library for g in held}):
        mine = [g for g in held if g.library == library]
        index = pool_index(index_home, library)
        ranked = index.search_batch([g.query for g in mine], depth, "fused")
        for group, hits in zip(mine, ranked, strict=True):
            names = {n.lower() for n in (group.name, *group.aliases)}
            scores = reranker.scores(group.query, [h.record.search_text() for h in hits])
            for rule, setting in RULES.items():
                order = (
                    list(range(len(hits)))
                    if setting is None
                    else order_from_scores(scores, fuse=setting[0], weight=setting[1])
                )
                found = unique_names(_gold(hits[i], names) for i in order)
                totals[rule]["hit@1"] += float("\0gold" in found[:1])
                totals[rule]["hit@5"] += float("\0gold" in found[:5])
                totals[rule]["mrr"] += reciprocal_rank(found, ["\0gold"])
    out = {rule: {k: round(v / len(held), 4) for k, v in m.items()} for rule, m in totals.items()}
    for rule, metrics in out.items():
        log(f"validation {rule}: {metrics}")
    log(f"validated {len(held)} queries in {time.perf_counter() - start:.0f} s")
    return out


def main() -> None:
    """Re-run the validation of a trained adapter (its held-out groups), fp32 or int8."""
    import argparse

    import torch

    from apipilot.training.reranker_data import default_index_home, read_groups

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("adapter", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quantize", action="store_true", help="int8 linear layers (CPU)")
    parser.add_argument("--index-home", type=Path, default=default_index_home())
    args = parser.parse_args()
    torch.set_num_threads(1)
    groups = read_groups(args.adapter / "groups.jsonl")
    held = [g for g in groups if is_validation(g.library, g.name, args.seed)]
    validate(args.adapter, held, args.index_home, quantize=args.quantize)


if __name__ == "__main__":
    main()
