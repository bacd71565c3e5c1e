"""The toy tasks: `gaussian` (multivariate Gaussian fitting) and `kde` (2-D kernel density).

Data are points `(N, d)` float64; a model is written to `gen_dir/model.npz`. The `ideal`
correction draws from the mixture p_model / (1 + gamma) + gamma p_true / (1 + gamma) of
Gillman et al., by `ideal_method`:
- "swap" (every toy task): each synthetic point is replaced, with probability
  gamma / (1 + gamma), by a fresh point of the true distribution.
- "rejection" (2-D gaussian only): a fresh set of the same size drawn by rejection sampling
  from the mixture with p_model read as the synthetic points' 10 x 10 histogram, as Gillman
  et al.'s toy script does (toymath.rejection_mixture_sample). Unlike "swap", gamma = 0 still
  redraws the set (from the histogram alone).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motionloop.errors import ConfigError, FormatError
from motionloop.io import NUMPY_READ_ERRORS, atomic_path, check_declared_sizes, numpy_error_text
from motionloop.loop import toymath
from motionloop.loop.config import ArmConfig, LoopConfig
from motionloop.loop.datasets import sample_dataset
from motionloop.loop.task import Stopwatch, rng_for

MODEL = "model.npz"


class ToyTask:
    """Shared parts of the toy tasks; subclasses define the true distribution and the model."""

    data_suffix = ".npy"

    def __init__(self, config: LoopConfig):
        self.config = config
        for arm in config.arms:
            if arm.correction == "ideal" and arm.ideal_method == "rejection":
                self._check_rejection(arm)

    def _check_rejection(self, arm: ArmConfig) -> None:
        """Raise ConfigError when this task cannot use the "rejection" ideal corrector."""
        raise ConfigError(
            f"arms.{arm.name}.ideal_method: 'rejection' samples a 2-D histogram mixed with N(0, I) "
            f"(Gillman et al.'s toy) and needs task 'gaussian' with gaussian.dim = 2, not task "
            f"{self.config.task!r}; use ideal_method 'swap'"
        )

    def true_sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def real(self, seed: int) -> np.ndarray:
        return self.true_sample(self.config.n, rng_for(seed, 0, "real"))

    def model_files(self, gen_dir: Path) -> list[Path]:
        return [gen_dir / MODEL]

    def _save_model(self, gen_dir: Path, **arrays: np.ndarray) -> None:
        with atomic_path(gen_dir / MODEL) as tmp:
            np.savez(tmp, **arrays)

    def _load_model(self, gen_dir: Path) -> dict[str, np.ndarray]:
        try:
            check_declared_sizes(gen_dir / MODEL)
            with np.load(gen_dir / MODEL, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except NUMPY_READ_ERRORS as e:
            raise FormatError(f"{gen_dir / MODEL}: cannot read the model ({numpy_error_text(e)})") from None

    def correct(self, data: np.ndarray, arm: ArmConfig, seed: int) -> tuple[np.ndarray, list[dict], dict]:
        """The "swap" ideal correction of `data` `(N, d)` (module docstring); seeded by `seed`."""
        if arm.correction != "ideal" or arm.gamma == 0:
            return data, [], {}
        rng = np.random.default_rng(seed)
        swap = rng.random(len(data)) < arm.gamma / (1.0 + arm.gamma)
        out = data.copy()
        out[swap] = self.true_sample(int(swap.sum()), rng)
        return out, [], {"replaced_share": float(swap.mean()) if len(data) else 0.0}

    def save_data(self, data: np.ndarray, path: Path) -> None:
        with open(path, "wb") as f:  # a file object: np.save would otherwise append ".npy" to the name
            np.save(f, data)

    def load_data(self, path: Path) -> np.ndarray:
        try:
            check_declared_sizes(path)
            return np.load(path, allow_pickle=False)
        except NUMPY_READ_ERRORS as e:
            raise FormatError(f"{path}: cannot read the samples ({numpy_error_text(e)})") from None

    def join(self, parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts, axis=0)

    def take(self, data: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return data[idx]

    def size(self, data: np.ndarray) -> int:
        return int(data.shape[0])


class GaussianTask(ToyTask):
    """Fit N(mean, cov) by the sample mean and covariance (config.GaussianConfig); target N(0, I_dim)."""

    summary_metrics = ("w2", "trace_ratio")

    def true_sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((k, self.config.gaussian.dim))

    def _check_rejection(self, arm: ArmConfig) -> None:
        if self.config.gaussian.dim != 2:
            raise ConfigError(
                f"arms.{arm.name}.ideal_method: 'rejection' samples a 2-D histogram (Gillman et al.'s "
                f"toy) and needs gaussian.dim = 2, got {self.config.gaussian.dim}; use ideal_method "
                "'swap'"
            )

    def correct(self, data: np.ndarray, arm: ArmConfig, seed: int) -> tuple[np.ndarray, list[dict], dict]:
        """The arm's ideal correction of `data` `(N, d)`, "swap" or "rejection"; seeded by `seed`."""
        if arm.correction != "ideal" or arm.ideal_method != "rejection" or len(data) == 0:
            return super().correct(data, arm, seed)
        t = arm.gamma / (1.0 + arm.gamma)
        out, stats = toymath.rejection_mixture_sample(data, t, len(data), np.random.default_rng(seed))
        return out, [], stats

    def fit(self, train: np.ndarray, prev, gen_dir: Path, seed: int, watch: Stopwatch) -> tuple[dict, dict]:
        # "mle" is the fit of Gillman et al.'s script (sklearn GaussianMixture, 1 component: one
        # EM step gives the same mean and covariance) except for its reg_covar, 1e-6 added to
        # the covariance's diagonal; that moves W2 by about 1e-6 (tests/loop/test_loop_scsc.py),
        # far below the seed noise, so no preset adds it.
        mean, cov = toymath.fit_gaussian(train, unbiased=self.config.gaussian.estimator == "unbiased")
        self._save_model(gen_dir, mean=mean, cov=cov)
        return {"mean": mean, "cov": cov}, {}

    def load_model(self, gen_dir: Path) -> dict:
        return self._load_model(gen_dir)

    def sample(self, model: dict, k: int, seed: int) -> np.ndarray:
        return toymath.sample_gaussian(model["mean"], model["cov"], k, np.random.default_rng(seed))

    def evaluate(self, model: dict, gen_dir: Path, seed: int, watch: Stopwatch) -> dict:
        with watch("evaluate"):
            return toymath.gaussian_metrics(model["mean"], model["cov"])


class KDETask(ToyTask):
    """Gaussian KDE with a fixed bandwidth on a 2-D toy dataset; metric: held-out NLL."""

    summary_metrics = ("nll",)

    def true_sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return sample_dataset(self.config.kde.dataset, k, rng, self.config.kde.noise)

    def fit(self, train: np.ndarray, prev, gen_dir: Path, seed: int, watch: Stopwatch) -> tuple[np.ndarray, dict]:
        self._save_model(gen_dir, points=train)
        return train, {}

    def load_model(self, gen_dir: Path) -> np.ndarray:
        return self._load_model(gen_dir)["points"]

    def sample(self, model: np.ndarray, k: int, seed: int) -> np.ndarray:
        return toymath.sample_kde(model, self.config.kde.bandwidth, k, np.random.default_rng(seed))

    def evaluate(self, model: np.ndarray, gen_dir: Path, seed: int, watch: Stopwatch) -> dict:
        held_out = self.true_sample(self.config.kde.eval_points, rng_for(seed, 0, "evaluate"))
        with watch("evaluate"):
            return {"nll": toymath.kde_nll(model, self.config.kde.bandwidth, held_out)}
