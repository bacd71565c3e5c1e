"""Training sets of a generation, per workflow (config.py's glossary has the definitions).

`synthetic` holds the (corrected) synthetic sets S_1 .. S_g in order: S_k was sampled from
generation k-1's model. Generation 0 trains on the real data alone.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from motionloop.errors import ConfigError
from motionloop.loop.task import Task


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
    pool = task.join([real, *synthetic])
    if workflow == "accumulate":
        return pool
    if workflow == "accumulate-subsample":
        size = task.size(pool)
        return task.take(pool, np.sort(rng.choice(size, min(n, size), replace=False)))
    raise ConfigError(f"workflow: {workflow!r} is not one of 'replace', 'accumulate', 'accumulate-subsample', 'mix'")


def needed_sets(workflow: str) -> str:
    """Which synthetic sets a workflow reads: "last" (mix, replace) or "all" (accumulate*)."""
    return "last" if workflow in ("mix", "replace") else "all"
