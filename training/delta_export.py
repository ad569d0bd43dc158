"""Write what ships of a fully fine-tuned MiniLM: its changed weights as a float16 delta.

    python -m apipilot.training.delta_export MODEL_DIR models/embedder-minilm-api

``MODEL_DIR`` is a model (or checkpoint) written by :mod:`training.full_run`; the delta is
loaded on the base package's MiniLM by ``load_embedder('minilm-api')`` or ``load_embedder(DIR)``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from apipilot.retrieval.finetuned import save_delta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    target = save_delta(args.model_dir, args.out_dir)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
