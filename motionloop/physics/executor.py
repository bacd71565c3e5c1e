"""Executors: how a batch of independent per-clip jobs runs.

`correct` hands every clip to an executor's `map`; results come back in input order. The
serial executor runs in-process; the process pool spreads clips over local cores (each worker
pins its BLAS to one thread, as two threads under load ran 3-5x slower than one). A
distributed engine plugs in by implementing the same `map`.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

from motionloop.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Apply `fn` to every item; yield results in input order."""
        ...


def _single_thread() -> None:
    # threadpoolctl limits only the BLAS libraries already loaded: load numpy's and scipy's
    # first (a worker started by spawn has not). An OpenBLAS left with idle worker threads
    # made a 75 x 75 triangular solve take 20 ms instead of 0.05 ms when the machine was busy.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


class SerialExecutor:
    """Runs jobs one after another in this process (BLAS limited to one thread meanwhile)."""

    def map(self, fn, items):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            for item in items:
                yield fn(item)


class ProcessPoolExecutor:
    """Runs jobs on `workers` local processes."""

    def __init__(self, workers: int):
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        self.workers = workers

    def map(self, fn, items):
        items = list(items)
        with cf.ProcessPoolExecutor(
            max_workers=min(self.workers, max(1, len(items))), initializer=_single_thread
        ) as pool:
            yield from pool.map(fn, items)


def make_executor(workers: int = 1) -> Executor:
    """Serial for `workers == 1`, else a local process pool; 0 means one worker per core."""
    if workers == 0:
        workers = os.cpu_count() or 1
    return SerialExecutor() if workers == 1 else ProcessPoolExecutor(workers)
