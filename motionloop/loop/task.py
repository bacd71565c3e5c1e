"""The task protocol the loop engine drives, seed derivation and stage timing.

A task owns its data type `D` (toy points `(N, d)` arrays, or lists of Motions) and model
type. The engine only builds training sets from pieces (`join`, `take`, `size`), and calls:
`real` (generation 0's data), `fit` (from scratch or from the previous model), `sample`,
`correct` (per arm), `evaluate` (metrics of a model), and the save/load pairs that make a
run resumable. Every method gets an explicit seed: nothing depends on call order.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from motionloop.loop.config import ArmConfig

STAGES = ("real", "fit", "sample", "correct", "evaluate", "subsample", "eval-sample")


def derive_seed(seed: int, generation: int, stage: str) -> int:
    """A 31-bit seed for (run seed, generation, stage), independent of arm and lambda.

    Arms share it on purpose (common random numbers): at a given generation every arm draws
    its samples and batches from the same streams, so differences come from the models.
    """
    state = np.random.SeedSequence([int(seed), int(generation), STAGES.index(stage)]).generate_state(1)[0]
    return int(state) & 0x7FFFFFFF


def rng_for(seed: int, generation: int, stage: str) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, generation, stage))


@dataclass(frozen=True)
class CorrectionContext:
    """What a correction may need beyond its data: the run seed of the unit (the oracle's
    held-out real data depends on it) and `more(k, seed)`, which samples k further items of
    the same model (a filtering arm draws from it to keep its count)."""

    run_seed: int
    more: Callable[[int, int], Any] | None = None


class Stopwatch:
    """Wall seconds per stage: `with watch("sample"): ...`; `watch.seconds` maps stage -> s."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - t0


class Task(Protocol):
    """What the engine needs of a task (see the module docstring)."""

    summary_metrics: tuple[str, ...]  # shown on the progress bar
    data_suffix: str  # a data set is one file or directory named KIND + data_suffix

    def real(self, seed: int) -> Any:
        """The n real training items of this seed."""

    def fit(self, train: Any, prev: Any | None, gen_dir: Path, seed: int, watch: Stopwatch) -> tuple[Any, dict]:
        """Fit a model on `train` (from scratch when `prev` is None, else continuing `prev`);
        write it into `gen_dir`. Returns the model and extra record fields (e.g. loss)."""

    def load_model(self, gen_dir: Path) -> Any: ...

    def model_files(self, gen_dir: Path) -> list[Path]:
        """Files `fit` wrote (deleted with keep_checkpoints = "last")."""

    def sample(self, model: Any, k: int, seed: int) -> Any: ...

    def correct(
        self, data: Any, arm: ArmConfig, seed: int, ctx: CorrectionContext | None = None
    ) -> tuple[Any, list[dict], dict]:
        """The arm's correction of `data`: corrected data, per-item reports, record fields."""

    def evaluate(self, model: Any, gen_dir: Path, seed: int, watch: Stopwatch) -> dict:
        """Metrics of `model` (may write artifacts such as probe clips into `gen_dir`)."""

    def save_data(self, data: Any, path: Path) -> None:
        """Write `data` as exactly one file or directory at `path` (the engine renames it)."""

    def load_data(self, path: Path) -> Any: ...

    def join(self, parts: list[Any]) -> Any: ...

    def take(self, data: Any, idx: np.ndarray) -> Any: ...

    def size(self, data: Any) -> int: ...
