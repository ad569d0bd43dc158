"""Train the whole MiniLM (or ``--base``: another sentence-transformers model, e.g. the e5-small
folder of ``retrieval.e5``) on a pairs file (e.g. from :mod:`training.doc_data`).

    OMP_NUM_THREADS=1 nice -n 10 python -m apipilot.training.full_run \
        --pairs /tmp/doc-pairs/train.jsonl --out /tmp/minilm-api --max-steps 2000 \
        [--extra-pairs models/embedder-minilm-ft/pairs.jsonl] [--base DIR] [--checkpoint 1000]

``--extra-pairs`` adds another pairs file (the shipped corpora's pairs: in-library training);
``--base`` starts from that model instead (one this command wrote, or e5-small: its
query/passage prompts are put before the texts, as search does). Pairs are shuffled with the
seed and cut to ``--max-steps`` batches.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from apipilot.training.dataset import assert_clean, read_pairs
from apipilot.training.full_finetune import FullTrainConfig, train_full
from apipilot.ui.progress import PhaseProgress


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=Path, action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--base", type=Path, default=None)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-5)
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--checkpoint", type=int, action="append", default=[])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    pairs = [pair for path in args.pairs for pair in read_pairs(path)]
    assert_clean(pairs)
    config = FullTrainConfig(
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_seq_length=args.max_seq_length,
        max_steps=args.max_steps,
        max_minutes=args.max_minutes,
        checkpoints=tuple(args.checkpoint),
    )
    print(f"training on {len(pairs)} pairs from {', '.join(map(str, args.pairs))}", flush=True)
    with PhaseProgress() as progress:
        result = train_full(
            pairs,
            args.out,
            config,
            base_dir=args.base,
            log=lambda line: print(line, file=sys.stdout, flush=True),
            progress=progress,
        )
    print(f"trained {result.steps} steps in {result.seconds:.0f} s on {result.device}")


if __name__ == "__main__":
    main()
