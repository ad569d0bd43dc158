"""``apipilot train decomposer``: a LoRA adapter of SmolLM2-135M that writes skills and subtasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from apipilot.ui.cli_errors import err, user_errors
from apipilot.ui.cli_train import ExcludeOption, LibrariesOption, MaxStepsOption, training_libraries
from apipilot.ui.progress import PhaseProgress, logging_progress

DECOMPOSER_OUT = Path("models/decomposer-smollm2")


def decomposer(
    library: LibrariesOption = None,
    exclude: ExcludeOption = None,
    epochs: Annotated[int, typer.Option(help="Passes over the examples.", min=1)] = 1,
    seed: Annotated[int, typer.Option(help="Seed of data synthesis, batching and init.")] = 0,
    out: Annotated[Path, typer.Option(help="Adapter directory to write.")] = DECOMPOSER_OUT,
    examples: Annotated[
        int, typer.Option(help="Examples per library (half skills, half decompose).", min=2)
    ] = 160,
    max_steps: MaxStepsOption = None,
) -> None:
    """LoRA fine-tuning of the embedded SmolLM2-135M on skills/decompose demonstrations."""
    import torch

    from apipilot.training.decomposer import DecomposerConfig
    from apipilot.training.decomposer_run import DecomposerData, run_decomposer_training

    torch.set_num_threads(1)
    libraries = training_libraries(library, exclude)
    data = DecomposerData(libraries=libraries, exclude=tuple(exclude or ()), per_library=examples)
    config = DecomposerConfig(epochs=epochs, seed=seed, max_steps=max_steps)
    with user_errors(ValueError), PhaseProgress() as progress:
        log = logging_progress(progress, err.print, "train decomposer")
        run_decomposer_training(out, data, config, log=log)
    err.print(f"decomposer adapter written to {out}")
