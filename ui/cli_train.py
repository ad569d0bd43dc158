"""``apipilot train``: fine-tune models on documentation (issue 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from apipilot.ui.cli_errors import err, user_errors
from apipilot.ui.progress import PhaseProgress, logging_progress

DEFAULT_OUT = Path("models/embedder-minilm-ft")

# Options every ``apipilot train`` command takes.
LibrariesOption = Annotated[
    list[str] | None,
    typer.Option("--libraries", "-l", help="Libraries to train on (repeatable; default: all)."),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="Leave this library out (repeatable): held-out tests."),
]
MaxStepsOption = Annotated[
    int | None, typer.Option(help="Stop after this many steps (smoke tests).", min=1)
]


def training_libraries(library: list[str] | None, exclude: list[str] | None) -> tuple[str, ...]:
    """The ``--libraries`` chosen (default: all trainable ones); exit 2 naming unknown ones."""
    from apipilot.training.dataset import TRAINING_LIBRARIES

    libraries = tuple(library) if library else TRAINING_LIBRARIES
    unknown = sorted((set(libraries) | set(exclude or ())) - set(TRAINING_LIBRARIES))
    if unknown:
        err.print(
            f"[bold red]error:[/] unknown libraries {', '.join(unknown)}; "
            f"trainable: {', '.join(TRAINING_LIBRARIES)}"
        )
        raise typer.Exit(2)
    return libraries


def embedder(
    library: LibrariesOption = None,
    exclude: ExcludeOption = None,
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
    max_steps: MaxStepsOption = None,
) -> None:
    """Contrastive LoRA fine-tuning of MiniLM on (query, API) pairs from documentation."""
    import torch

    from apipilot.training.lora import TrainConfig
    from apipilot.training.run import DataConfig, run_training

    torch.set_num_threads(1)
    libraries = training_libraries(library, exclude)
    data = DataConfig(libraries=libraries, exclude=tuple(exclude or ()), max_records=max_records)
    config = TrainConfig(epochs=epochs, seed=seed, max_steps=max_steps)
    with user_errors(ValueError), PhaseProgress() as progress:
        log = logging_progress(progress, err.print, "train embedder")
        run_training(out, data, config, pairs_file=pairs, log=log)
    err.print(f"adapter written to {out}")


RERANKER_OUT = Path("models/reranker-minilm-ce")


def reranker(
    library: LibrariesOption = None,
    exclude: ExcludeOption = None,
    epochs: Annotated[int, typer.Option(help="Passes over the groups.", min=1)] = 1,
    seed: Annotated[int, typer.Option(help="Seed of queries, negatives, batches, init.")] = 0,
    out: Annotated[Path, typer.Option(help="Adapter directory to write.")] = RERANKER_OUT,
    pairs: Annotated[
        Path | None,
        typer.Option(help="Take the queries from a pairs.jsonl instead of synthesising them."),
    ] = None,
    negatives: Annotated[int, typer.Option(help="Hard negatives per query.", min=1)] = 5,
    loss: Annotated[str, typer.Option(help="listwise (softmax over a group) or bce.")] = (
        "listwise"
    ),
    index_home: Annotated[
        Path | None,
        typer.Option(help="Where the base pool indexes for mining are kept (built if absent)."),
    ] = None,
    max_steps: MaxStepsOption = None,
    validate: Annotated[
        bool, typer.Option(help="Score the held-out queries after training.")
    ] = True,
) -> None:
    """Cross-encoder LoRA training of MiniLM on doc-derived queries with mined negatives."""
    import torch

    from apipilot.training.reranker import LOSSES, RerankConfig
    from apipilot.training.reranker_data import default_index_home
    from apipilot.training.reranker_run import RerankData, run_reranker_training

    torch.set_num_threads(1)
    libraries = training_libraries(library, exclude)
    if loss not in LOSSES:
        err.print(f"[bold red]error:[/] unknown loss {loss!r}; valid: {', '.join(LOSSES)}")
        raise typer.Exit(2)
    data = RerankData(
        libraries=libraries,
        exclude=tuple(exclude or ()),
        negatives=negatives,
        index_home=index_home or default_index_home(),
    )
    config = RerankConfig(epochs=epochs, seed=seed, loss=loss, max_steps=max_steps)
    with user_errors(ValueError), PhaseProgress() as progress:
        log = logging_progress(progress, err.print, "train reranker")
        run_reranker_training(out, data, config, pairs_file=pairs, validate_after=validate, log=log)
    err.print(f"reranker adapter written to {out}")


def register(app: typer.Typer) -> None:
    from apipilot.ui.cli_train_decomposer import decomposer

    train_app = typer.Typer(help="Fine-tune apipilot's models on documentation.")
    train_app.command("embedder")(embedder)
    train_app.command("reranker")(reranker)
    train_app.command("decomposer")(decomposer)
    app.add_typer(train_app, name="train")
