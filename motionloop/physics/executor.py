"""Executors: how a batch of independent per-clip jobs runs.

`correct` hands every clip to an executor's `map`; results come back in input order. The
serial executor runs in-process; the process pool spreads clips over local cores (each worker
pins its BLAS to one thread, as two threads under load ran 3-5x slower than one); the Ray
executor spreads them over the CPUs of a Ray cluster (the `ray` extra) in batches, one Ray
task per batch.

`map(fn, items, fallback=None)`: `fn` must be a picklable (module-level) function for the
process pool and Ray. An exception raised by `fn` itself propagates, whatever the executor.
`fallback(item, error_text)` is what an item yields when the machinery lost it: a local worker
process that died (the process pool), a Ray batch whose worker or node died on every one of
its tries. Without a fallback such a loss raises.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Literal, Protocol, TypeVar, get_args

from motionloop.errors import ConfigError, MotionloopError

T = TypeVar("T")
R = TypeVar("R")

Fallback = Callable[[T, str], R]
ExecutorName = Literal["local", "ray"]  # make_executor's `executor`, CorrectionConfig.executor
EXECUTORS: tuple[str, ...] = get_args(ExecutorName)
BATCHES_PER_CPU = 4  # the Ray executor's default: about this many batches per cluster CPU


class Executor(Protocol):
    def map(self, fn: Callable[[T], R], items: Iterable[T], fallback: Fallback | None = None) -> Iterator[R]:
        """Apply `fn` to every item; yield results in input order. An item the executor lost
        (its worker died) yields `fallback(item, error_text)`, or raises without a fallback."""
        ...


def single_thread(torch_too: bool = False) -> None:
    """BLAS (and torch) at one thread in this process: what every worker process does first.

    threadpoolctl limits only the BLAS libraries already loaded: numpy's and scipy's are loaded
    first (a worker started by spawn has not). An OpenBLAS left with idle worker threads made a
    75 x 75 triangular solve take 20 ms instead of 0.05 ms when the machine was busy. torch is
    limited if it is loaded already, or imported for it with `torch_too` (importing it costs
    seconds, so only workers that will use it ask)."""
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if torch_too:
        import torch  # noqa: F401
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


class SerialExecutor:
    """Runs jobs one after another in this process (BLAS limited to one thread meanwhile).
    `fallback` is never used: nothing can be lost without losing this process."""

    def map(self, fn, items, fallback=None):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            for item in items:
                yield fn(item)


class ProcessPoolExecutor:
    """Runs jobs on `workers` local processes. A worker process that dies (a crash in native
    code, the OOM killer) breaks the pool: every job not finished by then yields `fallback`
    (or BrokenProcessPool propagates without one)."""

    def __init__(self, workers: int):
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        self.workers = workers

    def map(self, fn, items, fallback=None):
        items = list(items)
        with cf.ProcessPoolExecutor(
            max_workers=min(self.workers, max(1, len(items))), initializer=single_thread
        ) as pool:
            futures = [pool.submit(fn, item) for item in items]
            try:
                for item, fut in zip(items, futures):
                    try:
                        result = fut.result()
                    except BrokenProcessPool as e:
                        if fallback is None:
                            raise
                        result = fallback(item, f"a local worker process died (BrokenProcessPool: {e})")
                    yield result
            finally:
                for fut in futures:
                    fut.cancel()


# --------------------------------------------------------------------------- Ray
def plan_batches(n_items: int, cpus: float, batch_size: int | None = None) -> list[range]:
    """Consecutive index ranges covering `range(n_items)` in order, each at most `batch_size`
    long; by default `ceil(n_items / (BATCHES_PER_CPU * cpus))` (about 4 batches per cluster
    CPU, so a slow batch or a lost node delays little; at least 1 item)."""
    if batch_size is None:
        batch_size = math.ceil(n_items / (BATCHES_PER_CPU * max(1, int(cpus))))
    batch_size = max(1, int(batch_size))
    return [range(a, min(a + batch_size, n_items)) for a in range(0, n_items, batch_size)]


def gather_batches(
    batches: Sequence[Sequence[T]],
    result: Callable[[int], list[R]],
    failure: Callable[[BaseException], str | None],
    fallback: Fallback | None = None,
    what: str = "Ray batch",
) -> Iterator[R]:
    """Yield the results of `batches` in order: `result(i)` waits for batch `i`'s list. An
    exception for which `failure(e)` gives a text (a lost batch, not an error of the job)
    yields `fallback(item, text)` for each of the batch's items, or raises MotionloopError
    naming it without a fallback; any other exception propagates."""
    for i, batch in enumerate(batches):
        try:
            out = result(i)
        except Exception as e:
            text = failure(e)
            if text is None:
                raise
            if fallback is None:
                raise MotionloopError(f"{what} {i + 1}/{len(batches)} ({len(batch)} item(s)) was lost: {text}") from e
            out = [fallback(item, text) for item in batch]
        if len(out) != len(batch):
            raise MotionloopError(f"{what} {i + 1}/{len(batches)}: {len(out)} results for {len(batch)} items")
        yield from out


def _run_batch(fn, items: list) -> list:
    """One Ray task: `fn` on each item in turn, BLAS and torch at one thread."""
    single_thread()
    return [fn(item) for item in items]


def _ray_failure(ray, retries: int) -> Callable[[BaseException], str | None]:
    """The text of a Ray system failure (worker or node died, result lost), None for an
    exception raised by the job itself (RayTaskError: it propagates as its own type)."""

    def failure(e: BaseException) -> str | None:
        if not isinstance(e, ray.exceptions.RayError) or isinstance(e, ray.exceptions.RayTaskError):
            return None
        first = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
        return f"{type(e).__name__} after {retries} retries: {first[:300]}"

    return failure


class RayExecutor:
    """Runs jobs on a Ray cluster: `address` (`HOST:PORT` of a head node, or "auto") or, with
    None, a local Ray instance using every core of this machine (motionloop.raycluster).

    Items travel in consecutive batches, one Ray task (1 CPU, BLAS and torch at one thread)
    per batch that applies `fn` to its items one after another. Default batch size:
    `ceil(len(items) / (4 x cluster CPUs))`, at least 1 (`plan_batches`), i.e. about four
    batches per CPU. Every batch is submitted at once; results are fetched batch by batch in
    input order, so the first ones arrive while later batches run.

    A worker process or node that dies loses only its batch, which Ray runs again (up to
    `max_retries` times; only such system failures are retried, an exception raised by `fn`
    propagates at once). A batch lost on every try yields `fallback(item, error_text)` for each
    of its items, or raises MotionloopError without a fallback. `fn` and the items must be
    picklable, and motionloop importable on every node (same version).
    """

    def __init__(self, address: str | None = None, batch_size: int | None = None, max_retries: int = 3):
        from motionloop import raycluster

        self.address = raycluster.check_address(address)
        if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
            raise ConfigError(f"batch_size must be >= 1, got {batch_size!r}")
        if isinstance(max_retries, bool) or int(max_retries) < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries!r}")
        self.batch_size = batch_size
        self.max_retries = int(max_retries)
        raycluster.import_ray()  # fail now, with the install hint, if Ray is missing

    def map(self, fn, items, fallback=None):
        from motionloop import raycluster

        items = list(items)
        if not items:
            return
        ray = raycluster.connect(self.address)
        cpus = ray.cluster_resources().get("CPU", 0)
        if cpus < 1:
            raise MotionloopError(f"the Ray cluster at {self.address or 'this machine'} has no CPU to run tasks on")
        ranges = plan_batches(len(items), cpus, self.batch_size)
        batches = [items[r.start : r.stop] for r in ranges]
        task = ray.remote(num_cpus=1, max_retries=self.max_retries, retry_exceptions=False)(_run_batch)
        fn_ref = ray.put(fn)
        refs = [task.remote(fn_ref, batch) for batch in batches]
        finished = False
        try:
            yield from gather_batches(
                batches, lambda i: ray.get(refs[i]), _ray_failure(ray, self.max_retries), fallback
            )
            finished = True
        finally:
            if not finished:  # the consumer stopped early, or a batch raised: stop the rest
                for ref in refs:
                    try:
                        ray.cancel(ref)
                    except Exception:  # finished or gone already
                        pass


def make_executor(workers: int = 1, executor: ExecutorName = "local", address: str | None = None) -> Executor:
    """`executor="local"`: serial for `workers == 1`, else a local process pool (0 means one
    worker per core). `executor="ray"`: a RayExecutor on the cluster at `address` (None: a local
    Ray instance); `workers` is not used there (the cluster's CPUs decide)."""
    if executor == "ray":
        return RayExecutor(address)
    if executor != "local":
        raise ConfigError(f"executor must be one of {', '.join(map(repr, EXECUTORS))}, got {executor!r}")
    if workers == 0:
        workers = os.cpu_count() or 1
    return SerialExecutor() if workers == 1 else ProcessPoolExecutor(workers)
