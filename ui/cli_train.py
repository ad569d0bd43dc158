"""``apipilot train``: fine-tune models on documentation (issue 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ui.cli_errors import err, user_errors

DEFAULT_OUT = Path("models/embedder-minilm-ft")


def embedder(
    library: Annotated[
        list[str] | None,
        typer.Option("--libraries", "-l", help="Libraries to train on (repeatable; default: all)."),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Leave this library out (repeatable): held-out tests."),
    ] = None,
    epochs: Annotated[int, typer.Option(help="Passes over the pairs.", min=1)] = 1,
    seed: Annotated[int, typer.Option(help="Seed of data synthesis, batching and init.")] = 0,
    out: Annotated[Path, typer.Option(help="Adapter directory to write.")] = DEFAULT_OUT,
    pairs: Annotated[
        Path | None,
        typer.Option(help="Reuse the pairs.jsonl of an earlier run instead of mining anew."),
    ] = None,
    max_records: Annotated[
        int, typer.Option(help="APIs sampled per library for queries.", min=1)
    ] = 150,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop after this many steps (smoke tests).", min=1)
    ] = None,
) -> None:
    """Contrastive LoRA fine-tuning of MiniLM on (query, API) pairs from documentation."""
    import torch

    from training.dataset import TRAINING_LIBRARIES
    from training.lora import TrainConfig
    from training.run import DataConfig, run_training

    torch.set_num_threads(1)
    libraries = tuple(library) if library else TRAINING_LIBRARIES
    unknown = sorted((set(libraries) | set(exclude or ())) - set(TRAINING_LIBRARIES))
    if unknown:
        err.print(f"[bold red]error:[/] unknown libraries {', '.join(unknown)}")
        raise typer.Exit(2)
    data = DataConfig(libraries=libraries, exclude=tuple(exclude or ()), max_records=max_records)
    config = TrainConfig(epochs=epochs, seed=seed, max_steps=max_steps)
    with user_errors(ValueError):
        run_training(out, data, config, pairs_file=pairs, log=err.print)
    err.print(f"adapter written to {out}")


def register(app: typer.Typer) -> None:
    train_app = typer.Typer(help="Fine-tune apipilot's models on documentation.")
    train_app.command("embedder")(embedder)
    app.add_typer(train_app, name="train")
