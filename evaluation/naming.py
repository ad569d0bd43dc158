"""Reduce a ranked list of records to the API names the metrics compare with the gold list.

Gold names are API short names (``Shuffler``, ``batch``, ``read_csv``, ``incontain``). A record
matches a gold name when its ``name`` or one of its ``aliases`` equals it (exact,
case-sensitive). This matters for torchdata: the gold lists mix class names (``Sampler``,
``IterableWrapper``) and functional names (``shuffle``, ``batch``); the ``pool`` corpus has a
record under each spelling, while a documentation index (``torchdata@0.7.1``) has one record per
DataPipe named by its class with the functional name as an alias, and then matches either.
A record that matches no gold name counts under its own ``name``. Repeats are dropped keeping the
first, so a method is not rewarded for listing one API twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from apipilot.evaluation.metrics import unique_names

Identity = tuple[str, ...]  # a record's name, then its aliases


def resolve(item: Identity, gold: Sequence[str]) -> str:
    for name in item:
        if name in gold:
            return name
    return item[0]


def ranked_names(items: Iterable[Identity], gold: Sequence[str]) -> list[str]:
    """The de-duplicated names of ``items`` in rank order, spelled as in ``gold`` on a match."""
    return unique_names(resolve(item, gold) for item in items if item)
