"""Training sets of a generation, per workflow (config.py's glossary has the definitions).

`synthetic` holds the (corrected) synthetic sets S_1 .. S_g in order: S_k was sampled from
generation k-1's model. Generation 0 trains on the real data alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from motionloop.errors import ConfigError
from motionloop.loop.task import Task

WORKFLOWS = ("replace", "accumulate", "accumulate-subsample", "mix", "accumulate-schedule")


def schedule_counts(sizes: list[int]) -> list[int]:
    """Items taken from each of S_1 .. S_g (sizes `sizes`) by `accumulate-schedule`.

    S_k contributes its first floor(k / g * |S_k|) items: the newest set (k = g) counts whole,
    older ones fade linearly. Gillman et al.'s toy script stores the corrected set of its step
    j = 0..i and takes int((j + 1) / (i + 1) * m) of it: the same with k = j + 1, g = i + 1.
    The integer floor here is exact; the script's float product can fall one short of an
    integer (m = 22, g = 22, k = 15 gives 14), but never does for its m = 25 and g <= 500.
    """
    g = len(sizes)
    return [k * size // g for k, size in enumerate(sizes, start=1)]


def training_set(task: Task, workflow: str, real: Any, synthetic: list[Any], n: int, rng: np.random.Generator) -> Any:
    """The training data of the generation after `synthetic` (see the module docstring).

    Args:
        real: the n real items. synthetic: S_1 .. S_g (may be empty: lambda = 0).
        n: the accumulate-subsample size. rng: its draw (without replacement).
    """
    if workflow == "mix":
        return task.join([real, synthetic[-1]]) if synthetic else real
    if workflow == "replace":
        if not synthetic:
            raise ConfigError("workflow 'replace' needs synthetic data (lambda > 0)")
        return synthetic[-1]
    if workflow == "accumulate-schedule":
        counts = schedule_counts([task.size(s) for s in synthetic])
        return task.join([real, *(task.take(s, np.arange(c)) for s, c in zip(synthetic, counts))])
    pool = task.join([real, *synthetic])
    if workflow == "accumulate":
        return pool
    if workflow == "accumulate-subsample":
        size = task.size(pool)
        return task.take(pool, np.sort(rng.choice(size, min(n, size), replace=False)))
    raise ConfigError(f"workflow: {workflow!r} is not one of {', '.join(map(repr, WORKFLOWS))}")


def needed_sets(workflow: str) -> str:
    """Which synthetic sets a workflow reads: "last" (mix, replace) or "all" (accumulate*)."""
    return "last" if workflow in ("mix", "replace") else "all"
