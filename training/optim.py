"""The optimiser every training run uses: AdamW with linear warm-up, then linear decay to 0."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

B = TypeVar("B")


def adamw_with_warmup(
    params: Iterable[Any],
    *,
    learning_rate: float,
    weight_decay: float,
    warmup_fraction: float,
    total_steps: int,
) -> tuple[Any, Any]:
    """``(optimiser, scheduler)``; call ``scheduler.step()`` after every ``optimiser.step()``.

    Unlike ``transformers.get_linear_schedule_with_warmup`` the first step already has a
    non-zero rate (``1 / warmup``): with ~100-step CPU runs a step at rate 0 is a waste.
    """
    import torch

    optimiser = torch.optim.AdamW(list(params), lr=learning_rate, weight_decay=weight_decay)
    warmup = max(1, int(warmup_fraction * total_steps))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return optimiser, torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)


def optimisation_step(loss: Any, params: list[Any], optimiser: Any, scheduler: Any) -> float:
    """Back-propagate ``loss``, clip the gradient norm of ``params`` to 1, step the optimiser
    and the schedule; the loss as a float."""
    import torch

    optimiser.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimiser.step()
    scheduler.step()
    return float(loss.detach())


def epoch_batches(
    make: Callable[[int], list[B]], *, epochs: int, seed: int, max_steps: int | None
) -> list[B]:
    """The batches of every epoch (``make(seed + epoch)``), cut to ``max_steps`` when given."""
    batches: list[B] = []
    for epoch in range(epochs):
        batches += make(seed + epoch)
    return batches if max_steps is None else batches[:max_steps]
