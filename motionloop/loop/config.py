"""The configuration of a self-consuming loop run (frozen, validated; TOML in configio.py).

A run is `generations` rounds of: build the training set (workflow), fit a model, sample from
it, correct the samples, evaluate. Several arms (correction settings, optionally their own
workflow and lambdas) run side by side, each for every lambda and every seed.

Glossary (the papers are in README's loop section):
- `n`: real training items (toy points, or motion windows of `motion.window` frames).
- `lambda`: synthetic ratio; each generation draws m = round(lambda * n) fresh samples.
- workflows: `replace` fits on the newest m samples only; `accumulate` on the real data
  plus every synthetic sample so far; `accumulate-subsample` on n drawn without replacement
  from that pool (Kazdan et al.); `mix` on all n real plus the newest m (Gillman et al.);
  `accumulate-schedule` on all n real plus, of every earlier synthetic set S_j (j = 1..g), its
  first floor(j / g * m) items: the schedule of Gillman et al.'s own toy script, where the
  newest set counts whole and older ones fade.
- training: `retrain` fits every generation the way generation 0 was fitted; `finetune`
  continues the previous generation's model (motion only).
- correction: `none`, `physics` (MuJoCo tracking at `strength`, motion only), `kinematic`
  (motion only: the physics arm's repaired reference without the simulation, a control for
  what the tracking adds), `ideal`
  (toy tasks only: the mixture of the samples' distribution and the true one, weights
  1/(1+gamma) and gamma/(1+gamma); `ideal_method` "swap" replaces each sample by a true
  sample with probability gamma/(1+gamma), "rejection" draws the corrected set by rejection
  sampling from that mixture with the samples' 10-bin histogram density, as Gillman et al.'s
  script does), `oracle` (motion only: the motion analogue of `ideal`, each synthetic clip
  replaced with probability gamma/(1+gamma) by a held-out real window of its label).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from motionloop.config import at_least, choice
from motionloop.errors import ConfigError
from motionloop.physics.config import FREE_TRACKER, AssistMode, TrackerConfig

Task = Literal["gaussian", "kde", "motion"]
Workflow = Literal["replace", "accumulate", "accumulate-subsample", "mix", "accumulate-schedule"]
Training = Literal["retrain", "finetune"]
Correction = Literal["none", "physics", "kinematic", "ideal", "oracle"]
IdealMethod = Literal["swap", "rejection"]
Dataset = Literal["blobs", "circles", "moons", "swiss-roll"]
Keep = Literal["all", "last"]
Estimator = Literal["mle", "unbiased"]
Projection = Literal["none", "static", "range"]

TOY_TASKS = ("gaussian", "kde")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# Bounds that keep a typo from asking for terabytes (toy tasks hold every point in memory).
MAX_GENERATIONS = 100_000
MAX_TOY_BYTES = 4 * 2**30
MAX_DIM = 4096


@dataclass(frozen=True)
class ArmConfig:
    """One arm: how its synthetic samples are corrected (and optionally its own workflow/lambdas).

    Attributes:
        name: directory-safe name (letters, digits, `_ . -`), unique in the run.
        correction: "none", "physics" (motion), "kinematic" (motion), "ideal" (toy tasks) or
            "oracle" (motion).
        strength: physics correction strength in [0, 1] (see physics.correct).
        gamma: ideal/oracle corrector strength >= 0 (0 = no correction).
        ideal_method: how the ideal corrector draws ("swap" or "rejection", module docstring).
        filter: train only on corrected clips the tracker verified (physics correction);
            more clips are sampled to keep lambda * n (motion_task.py).
        sampling_physics: physics projections inside the sampler for this arm's synthetic
            clips (model.sample's physics_steps; motion only, 0 = none).
        workflow: overrides the run's workflow for this arm (None = the run's).
        lambdas: overrides the run's lambdas for this arm (None = the run's), e.g. [0.0]
            for the baseline arm that trains on real data only.
    """

    name: str
    correction: Correction = "none"
    strength: float = 1.0
    gamma: float = 1.0
    workflow: Workflow | None = None
    lambdas: tuple[float, ...] | None = None
    ideal_method: IdealMethod = "swap"
    filter: bool = False
    sampling_physics: int = 0

    def __post_init__(self) -> None:
        where = f"arms.{self.name}"
        choice(f"{where}.ideal_method", self.ideal_method, IdealMethod)
        if not isinstance(self.filter, bool):
            raise ConfigError(f"{where}.filter: must be true or false, got {self.filter!r}")
        at_least(f"{where}.sampling_physics", self.sampling_physics, 0)
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(f"arms: name {self.name!r} must be letters, digits, '_', '.', '-' (a directory name)")
        choice(f"{where}.correction", self.correction, Correction)
        if self.workflow is not None:
            choice(f"{where}.workflow", self.workflow, Workflow)
        if not 0.0 <= self.strength <= 1.0:
            raise ConfigError(f"{where}.strength: must be in [0, 1], got {self.strength}")
        at_least(f"{where}.gamma", self.gamma, 0, integer=False)
        if self.lambdas is not None:
            _check_lambdas(f"{where}.lambdas", self.lambdas)


def _check_lambdas(where: str, lambdas: tuple[float, ...]) -> None:
    if len(lambdas) == 0:
        raise ConfigError(f"{where}: give at least one lambda")
    for lam in lambdas:
        if not (isinstance(lam, (int, float)) and math.isfinite(lam)) or not 0 <= lam <= 1000:
            raise ConfigError(f"{where}: lambda must be a number in [0, 1000], got {lam!r}")
    if len(set(lambdas)) != len(lambdas):
        raise ConfigError(f"{where}: repeated lambda in {list(lambdas)}")


@dataclass(frozen=True)
class GaussianConfig:
    """Multivariate Gaussian fitting (Kazdan et al.; the 2-D toy of Gillman et al.).

    The target is N(0, I_dim); a model is the sample mean and covariance. `estimator`:
    "mle" (maximum likelihood, divides by N: the variance shrinks by (N-1)/N per replace
    generation on average) or "unbiased" (N - 1: the variance is a martingale under replace
    and still collapses almost surely, only more slowly and erratically).
    """

    dim: int = 2
    estimator: Estimator = "mle"

    def __post_init__(self) -> None:
        at_least("gaussian.dim", self.dim, 1)
        if self.dim > MAX_DIM:
            raise ConfigError(f"gaussian.dim: at most {MAX_DIM} (a covariance of {self.dim}^2 numbers), got {self.dim}")
        choice("gaussian.estimator", self.estimator, Estimator)


@dataclass(frozen=True)
class KDEConfig:
    """Gaussian kernel density estimation on a 2-D toy dataset (datasets.py).

    Attributes:
        dataset: "blobs", "circles", "moons" or "swiss-roll".
        bandwidth: kernel standard deviation, in the dataset's units.
        noise: the dataset's noise (None = its default, see datasets.DEFAULT_NOISE).
        eval_points: held-out real points whose mean negative log-likelihood is `nll`.
    """

    dataset: Dataset = "moons"
    bandwidth: float = 0.1
    noise: float | None = None
    eval_points: int = 500

    def __post_init__(self) -> None:
        choice("kde.dataset", self.dataset, Dataset)
        if not (isinstance(self.bandwidth, (int, float)) and self.bandwidth > 0 and math.isfinite(self.bandwidth)):
            raise ConfigError(f"kde.bandwidth: must be a finite number > 0, got {self.bandwidth!r}")
        if self.noise is not None:
            at_least("kde.noise", self.noise, 0, integer=False)
        at_least("kde.eval_points", self.eval_points, 1)


@dataclass(frozen=True)
class MotionConfig:
    """The motion task: diffusion model, physics corrector, evaluator.

    Attributes:
        data: real clips: "bundled" (the shipped set without object interaction) or a clip
            file/directory. The real training set is `n` non-overlapping windows of it.
        reference: evaluation reference clips ("bundled" or a clip file/directory).
        window: frames per real window (20 fps); must equal the model's training window.
        init: generation 0's starting point: "base" (the shipped base model), "scratch",
            or a checkpoint path.
        model: the denoiser preset when training from scratch ("cpu-small", "mdm").
        init_steps: training steps of generation 0 on the n real windows (from scratch, or
            fine-tuning `init`; 0 = use `init` as it is). "retrain" repeats this every generation.
        finetune_steps: steps per generation with training "finetune".
        batch_size, train_lr: batch and peak learning rate of training from scratch.
        finetune_lr: fine-tuning learning rate (None = the checkpoint's own).
        sampler, guidance: how clips are sampled (model.sample).
        eval_clips: clips sampled per generation for evaluation (one fixed noise seed per
            run seed, so generations and arms are compared on the same noise).
        eval_n: windows compared by `evaluate` (FID depends on it; keep it fixed).
        eval_draws: evaluations per generation with different window draws, averaged.
        evaluator: evaluator file (None = the shipped one).
        probe_clips: evaluation clips tracked by the physics corrector (strength
            `probe_strength`) in every arm, for the residual/success/MPJPE curves.
        project: how corrected training clips are mapped back onto the real data's joint
            usage: "none", "static" (joints that never rotate in the real data keep the
            generated rotation) or "range" (also clip every joint to the real data's range);
            motion_task.py says why and what each costs.
        tracker, free_tracker: the physics tracker's settings (physics.config.TrackerConfig)
            in every correction of the run, training and probes: `tracker` for the attempt
            with a bounded residual, `free_tracker` for the first, residual-free attempt
            (default FREE_TRACKER). A table sets some keys and keeps the rest, e.g.
            `[motion.tracker]` `trunk_weight_scale = 5.0` (and the same in
            `[motion.free_tracker]`).
        assist: physics.correct.CorrectionConfig.assist: "local" (the residual-free attempt
            gets the residual over the stretches where it fell) or "whole" (falls are reset).
        firm: physics.correct.CorrectionConfig.firm on (the default FIRM_TRACKER) or off: a
            second residual-free controller where both residual-free attempts fell.
        unbalanced: physics.correct.CorrectionConfig.unbalanced: where both residual-free
            attempts fell, one more on the reference without the balance shift (default off).
        planned: physics.correct.CorrectionConfig.planned: where every residual-free
            attempt fell, two more on the reference with the centroidal plan, and where no
            attempt is a success one with the residual on it (default on).
        search: physics.correct.CorrectionConfig.search on (the default SearchConfig) or
            off: where every residual-free attempt fell (the smoothed free one at most
            twice: SearchConfig.max_falls), the residual-free search.
        sparing: physics.correct.CorrectionConfig.sparing at SPARING_PRICE (10) or off:
            where the closest success is not verified, the whole clip once more with the
            residual priced that many times higher (default off).
        step_feet: physics.repair.RepairConfig.step_feet: before the balance shift, move each
            planted foot towards the ZMP the reference needs (step.py; default off).
        ground_drift: ground the clips to be corrected frame by frame, following a drifting
            floor level (physics.repair.RepairConfig.ground_window_s 1 s; default on), or
            with one offset per clip (off: the corrector before it).
        unsmoothed_first, close_mpjpe_mm: physics.correct.CorrectionConfig's: each kind of
            attempt on the unsmoothed reference before the smoothed one; the MPJPE within
            which a residual-free attempt ends the ladder (and a verified one ends the
            assisted attempts).
        workers: correction worker processes (0 = one per core).
        device: "auto" (CUDA when present), "cpu" or "cuda".
    """

    data: str = "bundled"
    reference: str = "bundled"
    window: int = 40
    init: str = "base"
    model: str = "cpu-small"
    init_steps: int = 0
    finetune_steps: int = 150
    batch_size: int = 32
    train_lr: float = 5e-4
    finetune_lr: float | None = None
    sampler: str = "ddim:50"
    guidance: float = 1.0
    eval_clips: int = 128
    eval_n: int = 128
    eval_draws: int = 1
    evaluator: str | None = None
    probe_clips: int = 8
    probe_strength: float = 1.0
    project: Projection = "range"
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    free_tracker: TrackerConfig = FREE_TRACKER
    assist: AssistMode = "local"
    unsmoothed_first: bool = True
    firm: bool = True
    unbalanced: bool = False
    planned: bool = True
    search: bool = True
    sparing: bool = False
    step_feet: bool = False
    ground_drift: bool = True
    close_mpjpe_mm: float = 40.0
    workers: int = 2
    device: str = "auto"

    def __post_init__(self) -> None:
        for name, low in (
            ("window", 2),
            ("init_steps", 0),
            ("finetune_steps", 1),
            ("batch_size", 1),
            ("eval_clips", 1),
            ("eval_n", 4),
            ("eval_draws", 1),
            ("probe_clips", 0),
            ("workers", 0),
        ):
            at_least(f"motion.{name}", getattr(self, name), low)
        for name in ("train_lr", "finetune_lr"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0 < value < math.inf):
                raise ConfigError(f"motion.{name}: must be a finite number > 0, got {value!r}")
        at_least("motion.guidance", self.guidance, 0, integer=False)
        if not 0.0 <= self.probe_strength <= 1.0:
            raise ConfigError(f"motion.probe_strength: must be in [0, 1], got {self.probe_strength}")
        choice("motion.project", self.project, Projection)
        choice("motion.assist", self.assist, AssistMode)
        for name in (
            "unsmoothed_first",
            "firm",
            "unbalanced",
            "planned",
            "search",
            "sparing",
            "step_feet",
            "ground_drift",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"motion.{name}: must be true or false, got {getattr(self, name)!r}")
        close = self.close_mpjpe_mm
        if isinstance(close, bool) or not (isinstance(close, (int, float)) and 0 < close < math.inf):
            raise ConfigError(f"motion.close_mpjpe_mm: must be a finite number > 0, got {self.close_mpjpe_mm!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"motion.device: {self.device!r} is not one of 'auto', 'cpu', 'cuda'")
        if self.init == "scratch" and self.init_steps < 1:
            raise ConfigError("motion.init_steps: init 'scratch' needs init_steps >= 1")


@dataclass(frozen=True)
class LoopConfig:
    """A whole run (see the module docstring for the terms).

    Attributes:
        name: the run's title (plots, report).
        task: "gaussian", "kde" or "motion"; its section (`gaussian`, `kde`, `motion`) applies.
        generations: generations after generation 0 (the fit on real data only).
        n: real training items. seeds: one replicate per seed.
        workflow, training, lambdas: defaults of every arm.
        keep_checkpoints: "all", or "last" (delete a generation's model once the next one
            is complete; a resume needs only the last).
        arms: the arms, run side by side.
    """

    name: str
    task: Task
    generations: int
    n: int
    arms: tuple[ArmConfig, ...]
    seeds: tuple[int, ...] = (0,)
    workflow: Workflow = "mix"
    training: Training = "retrain"
    lambdas: tuple[float, ...] = (1.0,)
    keep_checkpoints: Keep = "all"
    gaussian: GaussianConfig = field(default_factory=GaussianConfig)
    kde: KDEConfig = field(default_factory=KDEConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)

    def __post_init__(self) -> None:
        choice("task", self.task, Task)
        choice("workflow", self.workflow, Workflow)
        choice("training", self.training, Training)
        choice("keep_checkpoints", self.keep_checkpoints, Keep)
        at_least("generations", self.generations, 1)
        if self.generations > MAX_GENERATIONS:
            raise ConfigError(f"generations: at most {MAX_GENERATIONS}, got {self.generations}")
        at_least("n", self.n, 2)
        if len(self.seeds) == 0 or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds: give one or more distinct seeds, got {list(self.seeds)}")
        for s in self.seeds:
            at_least("seeds", s, 0)
        _check_lambdas("lambdas", self.lambdas)
        if not self.arms:
            raise ConfigError("arms: give at least one [[arms]] table")
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ConfigError(f"arms: repeated arm name in {names}")
        toy = self.task in TOY_TASKS
        if toy and self.training == "finetune":
            raise ConfigError(
                f"training: 'finetune' needs a trainable model; task {self.task!r} fits in closed form, use 'retrain'"
            )
        if self.task == "motion" and self.training == "retrain" and self.motion.init_steps < 1:
            raise ConfigError(
                "training: 'retrain' repeats generation 0's training every generation; "
                "set motion.init_steps >= 1 or use training = 'finetune'"
            )
        for arm in self.arms:
            if arm.correction in ("physics", "kinematic") and toy:
                raise ConfigError(
                    f"arms.{arm.name}.correction: {arm.correction!r} needs task 'motion'; toy tasks use 'ideal'"
                )
            if arm.correction == "oracle" and toy:
                raise ConfigError(
                    f"arms.{arm.name}.correction: 'oracle' draws held-out real motion; toy tasks use 'ideal'"
                )
            if arm.sampling_physics and toy:
                raise ConfigError(f"arms.{arm.name}.sampling_physics: physics inside the sampler needs task 'motion'")
            if arm.filter and arm.correction != "physics":
                raise ConfigError(f"arms.{arm.name}.filter: verification needs correction 'physics'")
            if arm.correction == "ideal" and not toy:
                raise ConfigError(
                    f"arms.{arm.name}.correction: 'ideal' needs the true distribution (tasks "
                    "'gaussian', 'kde'); the motion task uses 'physics'"
                )
            if self.workflow_of(arm) == "replace" and 0.0 in self.lambdas_of(arm):
                raise ConfigError(
                    f"arms.{arm.name}: workflow 'replace' with lambda 0 leaves no training data; "
                    "use lambda > 0 or workflow 'mix'"
                )
        if toy:
            self._check_toy_memory()

    def _check_toy_memory(self) -> None:
        """ConfigError when an accumulating toy arm's pool would outgrow MAX_TOY_BYTES."""
        dim = self.gaussian.dim if self.task == "gaussian" else 2
        lam = max(max(self.lambdas_of(a)) for a in self.arms)
        pool = self.n * (1.0 + lam * (self.generations + 1)) * dim * 8.0  # bytes, accumulate's last pool
        if pool > MAX_TOY_BYTES:
            raise ConfigError(
                f"n = {self.n}, lambda {lam:g}, {self.generations} generations, dim {dim}: an accumulating "
                f"pool would hold {pool / 2**30:.3g} GiB of points (at most {MAX_TOY_BYTES // 2**30} GiB); "
                "lower n, lambda or generations"
            )

    def workflow_of(self, arm: ArmConfig) -> str:
        return arm.workflow or self.workflow

    def lambdas_of(self, arm: ArmConfig) -> tuple[float, ...]:
        return arm.lambdas if arm.lambdas is not None else self.lambdas

    def units(self) -> list[tuple[ArmConfig, float]]:
        """(arm, lambda) pairs in run order."""
        return [(arm, float(lam)) for arm in self.arms for lam in self.lambdas_of(arm)]

    def synthetic_count(self, lam: float) -> int:
        """m = round(lambda * n): fresh synthetic items per generation."""
        return round(lam * self.n)
