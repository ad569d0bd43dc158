"""One ``apipilot train reranker`` run: queries, mined groups, training, validation, card."""

from __future__ import annotations

import json
import os
import platform
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from apipilot.training.dataset import TRAINING_LIBRARIES, assert_clean, read_pairs
from apipilot.training.pairs import TrainingPair
from apipilot.training.reranker import RerankConfig, RerankResult, train_reranker
from apipilot.training.reranker_data import (
    MINING_DEPTH,
    NEGATIVES,
    RerankGroup,
    assert_groups_clean,
    default_index_home,
    is_validation,
    mine_groups,
    pool_index,
    synthesise_queries,
    write_groups,
)
from apipilot.training.reranker_eval import validate

GROUPS_FILE = "groups.jsonl"


@dataclass(frozen=True)
class RerankData:
    libraries: tuple[str, ...] = TRAINING_LIBRARIES
    exclude: tuple[str, ...] = ()
    queries_per_record: int = 3
    max_records: int = 150
    negatives: int = NEGATIVES
    depth: int = MINING_DEPTH
    index_home: Path = field(default_factory=default_index_home)


def query_pairs(
    data: RerankData, seed: int, pairs_file: Path | None, log: Callable[[str], None]
) -> list[TrainingPair]:
    libraries = [lib for lib in data.libraries if lib not in data.exclude]
    if pairs_file is not None:
        pairs = [p for p in read_pairs(pairs_file) if p.library in libraries]
        assert_clean(pairs)
        log(f"read {len(pairs)} queries of {', '.join(libraries)} from {pairs_file}")
        return pairs
    start = time.perf_counter()
    pairs = synthesise_queries(
        libraries,
        seed=seed,
        queries_per_record=data.queries_per_record,
        max_records=data.max_records,
    )
    log(f"synthesised {len(pairs)} queries in {time.perf_counter() - start:.0f} s")
    return pairs


def build_groups(
    pairs: list[TrainingPair], data: RerankData, seed: int, log: Callable[[str], None]
) -> list[RerankGroup]:
    start = time.perf_counter()
    groups: list[RerankGroup] = []
    for library in sorted({p.library for p in pairs}):
        index = pool_index(data.index_home, library)
        mine = [p for p in pairs if p.library == library]
        groups += mine_groups(mine, index, seed=seed, negatives=data.negatives, depth=data.depth)
    assert_groups_clean(groups)
    log(f"mined {data.negatives} negatives for {len(groups)} queries in "
        f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    return groups


def run_reranker_training(
    out_dir: Path,
    data: RerankData,
    config: RerankConfig,
    *,
    pairs_file: Path | None = None,
    validate_after: bool = True,
    log: Callable[[str], None] = print,
) -> RerankResult:
    """Queries -> groups -> held-out split -> training -> validation -> card."""
    start = time.perf_counter()
    pairs = query_pairs(data, config.seed, pairs_file, log)
    if not pairs:
        raise ValueError("no training queries: every library was excluded")
    groups = build_groups(pairs, data, config.seed, log)
    write_groups(groups, out_dir / GROUPS_FILE)
    held = [g for g in groups if is_validation(g.library, g.name, config.seed)]
    train = [g for g in groups if not is_validation(g.library, g.name, config.seed)]
    log(f"training on {len(train)} groups; {len(held)} held out for validation")
    result = train_reranker(train, out_dir, config, log=log)
    log(f"trained {result.steps} steps in {result.seconds:.0f} s on {result.device}")
    prepared = time.perf_counter() - start - result.seconds
    validation = {}
    if validate_after and held:
        validation = validate(out_dir, held, data.index_home, log=log)
    write_card(out_dir, groups, held, data, config, result, prepared, validation)
    return result


def _command(out_dir: Path, data: RerankData, config: RerankConfig) -> str:
    exclude = "".join(f" --exclude {lib}" for lib in data.exclude)
    return (
        f"OMP_NUM_THREADS=1 apipilot train reranker --epochs {config.epochs} "
        f"--seed {config.seed} --loss {config.loss} --negatives {data.negatives}{exclude} "
        f"--out {out_dir}"
    )


def write_card(
    out_dir: Path,
    groups: list[RerankGroup],
    held: list[RerankGroup],
    data: RerankData,
    config: RerankConfig,
    result: RerankResult,
    prepared: float,
    validation: dict[str, dict[str, float]],
) -> None:
    """``README.md`` (model card) and ``training.json``; benchmark numbers are added later."""
    per_library = Counter(g.library for g in groups)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    command = _command(out_dir, data, config)
    meta_path = out_dir / "training.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta.update(
        {
            "command": command,
            "data": {**asdict(data), "index_home": str(data.index_home)},
            "groups_per_library": dict(per_library),
            "validation_groups": len(held),
            "validation": validation,
            "prepare_seconds": round(prepared, 1),
            "load_average_at_end": round(load, 2),
            "cpu": platform.processor() or platform.machine(),
        }
    )
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    rows = [
        f"| {rule} | {m['hit@5']:.3f} | {m['hit@1']:.3f} | {m['mrr']:.3f} |"
        for rule, m in validation.items()
    ]
    lines = [
        f"# {out_dir.name}: all-MiniLM-L6-v2 as a cross-encoder + LoRA, trained on documentation",
        "",
        "Load with `load_reranker('minilm-ce')` (this folder as `models/reranker-minilm-ce`) or",
        f"`load_reranker('{out_dir}')`; it reorders the top {data.depth} fused retrieval hits.",
        "",
        "## Data",
        "",
        f"- Libraries: {', '.join(sorted(per_library))}"
        + (f" (excluded: {', '.join(data.exclude)})" if data.exclude else ""),
        f"- {len(groups)} groups in `{GROUPS_FILE}` (query, API text, {data.negatives} hard "
        "negatives): " + ", ".join(f"{lib} {n}" for lib, n in sorted(per_library.items())),
        "- Queries synthesised from the shipped corpora (the embedder's pair synthesis, "
        "`training.pairs`), the API's own identifiers removed.",
        f"- Negatives: a seeded pick among the APIs the base fused retrieval (MiniLM + BM25 over "
        f"the library's pool) ranks in its top {data.depth} that are not the answer (other "
        "name and alias, summary not inside the answer's text).",
        f"- Validation: the queries of a seeded {len(held)}-group slice of APIs (by name, "
        "~10%) are held out; settings are chosen on them, never on evaluation tasks.",
        "- No evaluation query, requirement comment or solution occurs in any group "
        "(`training.reranker_data.assert_groups_clean`).",
        "",
        "## Training",
        "",
        f"- Command: `{command}`",
        f"- LoRA r={config.lora_rank}, alpha={config.lora_alpha}, dropout "
        f"{config.lora_dropout} on every layer (query/key/value/dense); pooler and the fresh "
        f"1-logit head trained in full and stored in the adapter; loss {config.loss}; "
        f"{config.groups_per_batch} groups a step, lr {config.learning_rate}, "
        f"{config.epochs} epoch(s), max_length {config.max_length}",
        f"- Seed {config.seed}; {result.steps} steps in {result.seconds:.0f} s on "
        f"{result.device} (torch 1 thread, 2 shared CPU cores, load average {load:.1f} at the "
        f"end); queries, mining and loading took {prepared:.0f} s more.",
        "",
    ]
    if rows:
        lines += [
            "## Validation (held-out doc-derived queries, fused top-30 reordered)",
            "",
            "| order | hit@5 | hit@1 | MRR |",
            "|---|---|---|---|",
            *rows,
            "",
            "",
        ]
    (out_dir / "README.md").write_text("\n".join(lines))
