"""`correct(motions, config) -> (motions, reports)`: physics correction of a batch of clips.

Each clip is (1) repaired kinematically (grounded, feet planted, balanced: repair.py), (2)
tracked by the simulated humanoid with the whole-body controller, and (3) replaced by the
simulated trajectory. Tracking is tried first with no residual force at all (`free`). Where
that body falls, the simulation is wound back `rewind_s` and the stretch up to
`assist_after_s` past the fall is tracked with a bounded root residual, priced by
`strength`, before going on free (`assist = "local"`, tracker.py): the residual is spent
only where the body could not follow without it (`assist = "whole"`: no such stretches,
the free attempt is reset where it falls). Unless the body never fell and ended within
`verify_mpjpe_mm` of the input, the whole clip is then tracked again with the residual, and
of the attempts the output is a success before a failure (a reset or the budget broken),
then verified before not, then fewer resets, then the closer one. A clip that
cannot be corrected (bad values, absurd placement, time limit) comes back unchanged with a
report that says why; it never stops the batch.

What a report's verdicts mean (and what the field calls them):
- `success_free`: tracked to the end with no residual force and no reset: the number PHC
  and UHC report as success rate.
- `success`: no reset, and the residual stayed within its small budget: mean force at most
  `budget_bw` of body weight, no `budget_window_s` stretch above `budget_peak_bw`, the root
  torque (in body weight x 1 m) alike. A clip tracked free is a success.
- `verified`: success, and the tracked clip within `verify_mpjpe_mm` of the input: what a
  self-consuming loop may train on (Morph's filter).

The strength knob `s` in [0, 1]: s = 0 returns the clip unchanged (nothing is tracked: the
report says success, MPJPE 0, and `verified` False, since no physics checked it); above, the
residual (assisted stretches and the whole-clip attempt) is priced geometrically from 1e2
(s -> 0) to 1e5 (s = 1), and
the ZMP balance repair of the reference (balance.py) is applied at share 2 s - 1 above
s = 0.5.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from motionloop import raycluster
from motionloop.config import at_least, check_choices
from motionloop.errors import ConfigError, MotionloopError
from motionloop.motion import Motion
from motionloop.physics import metrics as pm
from motionloop.physics.config import FREE_TRACKER, AssistMode, TrackerConfig
from motionloop.physics.executor import ExecutorName, make_executor
from motionloop.physics.feasibility import feasibility_bw
from motionloop.physics.model import Humanoid
from motionloop.physics.repair import RepairConfig, repair
from motionloop.physics.tracker import TrackResult, track

log = logging.getLogger(__name__)

# strength -> price of the residual wrench relative to tracking, geometric in between:
# s = 0.25 / 0.5 / 0.75 / 1 give 5.6e2 / 3.2e3 / 1.8e4 / 1e5 (prices below ~1e3 all track
# about as closely, so the knob spends its range above)
_W_RESIDUAL = (1e2, 1e5)
MIN_FRAMES = 3  # a clip needs this many frames to have a velocity and an acceleration


@dataclass(frozen=True)
class CorrectionConfig:
    """Settings of `correct`.

    Attributes:
        strength: 0 = unchanged clip, 1 = full physics (see module docstring).
        tracker: controller of assisted tracking (local stretches and the whole-clip
            attempt); its `w_residual` is set by `strength`.
        free: controller of the first, residual-free attempt (its residual is off whatever
            it says); None skips that attempt.
        assist: "local" (falls of the free attempt are wound back and assisted locally) or
            "whole" (they are reset; only the whole-clip assisted attempt has a residual).
        rewind_s, assist_after_s: with "local", how far before a fall tracking is wound
            back, and how long after it the residual stays allowed, s. Chosen with local
            assistance alone (no whole-clip attempt after it) on bench_physics's 47 real and
            128 generated clips: 0.75 / 0.25 s gave 35 / 54 successes, 1.0 / 0.5 s 37 / 48,
            0.5 / 0.25 s 33 / 54, 1.5 / 0.5 s 34 / 44.
        repair: kinematic repair settings applied before tracking.
        budget_bw, budget_peak_bw, budget_window_s: the residual budget of `success` (module
            docstring), fractions of body weight and seconds.
        verify_mpjpe_mm: MPJPE bound of `verified`, mm.
        workers: 1 = serial, N = local process pool, 0 = one per core (executor "local"; with
            "ray" it must stay 1).
        executor: "local" (serial or process pool, by `workers`) or "ray" (batches of clips
            as Ray tasks on a cluster, physics.executor.RayExecutor; the `ray` extra).
        address: with executor "ray", `HOST:PORT` of the cluster's head node or "auto"; None
            starts a local Ray instance.
    """

    strength: float = 1.0
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    free: TrackerConfig | None = FREE_TRACKER
    assist: AssistMode = "local"  # Literal["local", "whole"]
    rewind_s: float = 0.75
    assist_after_s: float = 0.25
    repair: RepairConfig = field(default_factory=RepairConfig)
    budget_bw: float = 0.05
    budget_peak_bw: float = 0.2
    budget_window_s: float = 0.5
    verify_mpjpe_mm: float = 100.0
    workers: int = 1
    executor: ExecutorName = "local"  # Literal["local", "ray"]
    address: str | None = None

    def __post_init__(self) -> None:
        check_choices(self)
        try:
            raycluster.check_address(self.address)
        except ConfigError:
            raise ConfigError(
                f"CorrectionConfig.address {self.address!r}: expected HOST:PORT of a Ray head node or 'auto'"
            ) from None
        if self.address is not None and self.executor != "ray":
            raise ConfigError(f"CorrectionConfig.address {self.address!r}: a Ray address needs executor 'ray'")
        if self.executor == "ray" and self.workers != 1:
            raise ConfigError(
                f"CorrectionConfig.workers {self.workers}: only with executor 'local'; with 'ray' the cluster's CPUs decide"
            )
        if not 0.0 <= float(self.strength) <= 1.0:
            raise ConfigError(f"CorrectionConfig.strength: must be in [0, 1], got {self.strength}")
        if int(self.workers) < 0:
            raise ConfigError(f"CorrectionConfig.workers: must be >= 0, got {self.workers}")
        for name in ("rewind_s", "assist_after_s"):
            at_least(f"CorrectionConfig.{name}", getattr(self, name), 0, integer=False)
        for name in ("budget_bw", "budget_peak_bw", "budget_window_s", "verify_mpjpe_mm"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ConfigError(f"CorrectionConfig.{name}: must be a number > 0, got {v!r}")

    def tracker_for_strength(self) -> TrackerConfig:
        s = float(self.strength)
        w = _W_RESIDUAL[0] * (_W_RESIDUAL[1] / _W_RESIDUAL[0]) ** s
        return dataclasses.replace(self.tracker, w_residual=w)

    def free_tracker(self) -> TrackerConfig | None:
        return None if self.free is None else dataclasses.replace(self.free, residual_max_bw=0.0)

    def repair_for_strength(self) -> RepairConfig:
        share = min(1.0, max(0.0, 2.0 * float(self.strength) - 1.0))
        return dataclasses.replace(self.repair, balance_amount=share * self.repair.balance_amount)


@dataclass
class TrackingReport:
    """What happened to one clip (one JSON object per clip in a report file).

    Residuals are fractions of body weight (torques: body weight x 1 m); `*_peak_bw` is the
    largest mean over a `budget_window_s` stretch. `attempt` says which output the clip got:
    "free" (no residual), "local" (free with assisted stretches where it fell), "assisted"
    (the whole clip with the residual), "unchanged" (strength 0) or "failed" (error set).
    `free_fall_s` is when the residual-free body first fell (-1: it did not, or was not
    tracked); `assisted_share` the share of the output's control steps at which the residual
    was allowed (0 free, 1 whole-clip assisted).
    """

    clip: str
    success: bool
    resets: int
    residual_bw: float
    residual_bw_max: float
    mpjpe_mm: float
    feasibility_bw: float
    cpu_s: float
    before: dict
    after: dict
    error: str | None = None
    qp_failures: int = 0
    mpjpe_local_mm: float = 0.0
    feasibility_after_bw: float = 0.0
    strength: float = 1.0
    metrics_cpu_s: float = 0.0
    residual_torque_bw: float = 0.0
    success_free: bool = False
    verified: bool = False
    attempt: str = "assisted"
    free_fall_s: float = -1.0
    assisted_share: float = 0.0
    residual_peak_bw: float = 0.0
    residual_torque_peak_bw: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def failed_report(
    name: str,
    cfg: CorrectionConfig,
    error: str,
    before: dict,
    feasibility: float = float("nan"),
    cpu_s: float = 0.0,
    metrics_cpu_s: float = 0.0,
) -> TrackingReport:
    """The report of a clip that could not be corrected (it stays unchanged): `error` says why."""
    nan = float("nan")
    return TrackingReport(
        clip=name,
        success=False,
        resets=0,
        residual_bw=nan,
        residual_bw_max=nan,
        mpjpe_mm=nan,
        feasibility_bw=feasibility,
        cpu_s=cpu_s,
        before=before,
        after=before,
        error=error,
        strength=float(cfg.strength),
        metrics_cpu_s=metrics_cpu_s,
        attempt="failed",
    )


def _mpjpe(a: Motion, b: Motion) -> tuple[float, float]:
    """Global and pelvis-relative mean joint-position error in mm."""
    ja, jb = a.joints(), b.joints()
    glob = np.linalg.norm(ja - jb, axis=-1).mean()
    loc = np.linalg.norm((ja - ja[:, :1]) - (jb - jb[:, :1]), axis=-1).mean()
    return float(glob * 1000.0), float(loc * 1000.0)


def window_peak(values: np.ndarray, window: int) -> float:
    """Largest mean of `values (K,)` over `window` consecutive entries (the whole mean if
    shorter)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return 0.0
    if len(values) <= window:
        return float(values.mean())
    c = np.r_[0.0, np.cumsum(values)]
    return float(((c[window:] - c[:-window]) / window).max())


def within_budget(result: TrackResult, cfg: CorrectionConfig, control_dt: float) -> tuple[bool, float, float]:
    """Whether a tracking result is a `success` (module docstring), and its force and torque
    peaks over `budget_window_s`."""
    window = max(1, round(cfg.budget_window_s / control_dt))
    peak = window_peak(result.residual_bw, window)
    peak_t = window_peak(result.residual_torque_bw, window)
    mean = float(result.residual_bw.mean()) if len(result.residual_bw) else 0.0
    mean_t = float(result.residual_torque_bw.mean()) if len(result.residual_torque_bw) else 0.0
    ok = (
        result.resets == 0
        and mean <= cfg.budget_bw
        and mean_t <= cfg.budget_bw
        and peak <= cfg.budget_peak_bw
        and peak_t <= cfg.budget_peak_bw
    )
    return ok, peak, peak_t


@dataclass
class Attempt:
    """One tracking of a clip, with what choosing among attempts needs (best_attempt).

    Attributes:
        name: "free", "local" or "assisted" (TrackingReport.attempt).
        result: the tracker's result; share: share of its control steps with the residual.
        out: the tracked clip; mpjpe: its global and pelvis-relative MPJPE to the input, mm.
        ok, verified: the report's `success` and `verified` for this attempt.
        peak, peak_t: its residual force and torque peaks over the budget window.
    """

    name: str
    result: TrackResult
    share: float
    out: Motion
    mpjpe: tuple[float, float]
    ok: bool
    verified: bool
    peak: float
    peak_t: float


def _attempt(
    name: str, result: TrackResult, share: float, h: Humanoid, motion: Motion, cfg: CorrectionConfig
) -> Attempt:
    out = h.motion_from_qpos(result.qpos, motion)
    mpjpe = _mpjpe(out, motion)
    ok, peak, peak_t = within_budget(result, cfg, result.control_dt)
    return Attempt(name, result, share, out, mpjpe, ok, ok and mpjpe[0] <= cfg.verify_mpjpe_mm, peak, peak_t)


def best_attempt(attempts: list[Attempt]) -> Attempt:
    """The output among tracked attempts: a success before a failure, then verified before
    not, then fewer resets, then the smaller MPJPE (the first of equals)."""
    return max(attempts, key=lambda a: (a.ok, a.verified, -a.result.resets, -a.mpjpe[0]))


def correct_one(job: tuple[str, Motion, CorrectionConfig]) -> tuple[Motion, TrackingReport]:
    """Correct one clip; never raises for a bad clip (the report says what failed).

    `cpu_s` counts the correction itself (repair and tracking, both attempts); the metrics
    of the report (physics metrics, feasibility floors before and after) are timed apart in
    `metrics_cpu_s`.
    """
    name, motion, cfg = job
    t_metrics = time.process_time()
    before = pm.physics_metrics(motion)
    try:
        feas = feasibility_bw(motion)
    except Exception as e:
        feas = float("nan")
        log.warning("%s: feasibility failed: %s", name, e)
    metrics_cpu = time.process_time() - t_metrics
    if cfg.strength == 0.0:
        return motion, TrackingReport(
            clip=name,
            success=True,
            resets=0,
            residual_bw=0.0,
            residual_bw_max=0.0,
            mpjpe_mm=0.0,
            feasibility_bw=feas,
            cpu_s=0.0,
            before=before,
            after=before,
            strength=0.0,
            feasibility_after_bw=feas,
            metrics_cpu_s=metrics_cpu,
            attempt="unchanged",
        )
    t0 = time.process_time()
    try:
        if motion.num_frames < MIN_FRAMES:
            raise MotionloopError(f"{name}: {motion.num_frames} frame(s); tracking needs at least {MIN_FRAMES}")
        h = Humanoid()
        fixed = repair(motion, cfg.repair_for_strength(), h)
        free_cfg, assist_cfg = cfg.free_tracker(), cfg.tracker_for_strength()
        attempts: list[Attempt] = []
        success_free, free_fall_s = False, -1.0
        if free_cfg is not None:
            first = track(
                h,
                fixed,
                free_cfg,
                assist=assist_cfg if cfg.assist == "local" else None,
                rewind_s=cfg.rewind_s,
                assist_after_s=cfg.assist_after_s,
            )
            fell = first.falls or first.reset_steps
            success_free = not fell
            free_fall_s = round(fell[0] * first.control_dt, 4) if fell else -1.0
            share = float(first.assisted.mean())
            attempts.append(_attempt("local" if first.falls else "free", first, share, h, motion, cfg))
        if not any(a.verified and a.name == "free" for a in attempts):
            attempts.append(_attempt("assisted", track(h, fixed, assist_cfg), 1.0, h, motion, cfg))
        best = best_attempt(attempts)
        result, out, (glob, loc) = best.result, best.out, best.mpjpe
        cpu = time.process_time() - t0
        t_metrics = time.process_time()
        after = pm.physics_metrics(out)
        feas_after = feasibility_bw(out, h)
        report = TrackingReport(
            clip=name,
            success=best.ok,
            resets=result.resets,
            residual_bw=float(result.residual_bw.mean()),
            residual_bw_max=float(result.residual_bw.max()),
            residual_torque_bw=float(result.residual_torque_bw.mean()),
            mpjpe_mm=glob,
            feasibility_bw=feas,
            cpu_s=cpu,
            before=before,
            after=after,
            qp_failures=result.qp_failures,
            mpjpe_local_mm=loc,
            feasibility_after_bw=feas_after,
            strength=float(cfg.strength),
            metrics_cpu_s=metrics_cpu + time.process_time() - t_metrics,
            success_free=success_free,
            attempt=best.name,
            free_fall_s=free_fall_s,
            assisted_share=best.share,
            residual_peak_bw=best.peak,
            residual_torque_peak_bw=best.peak_t,
            verified=best.verified,
        )
        return out, report
    except Exception as e:
        msg = str(e) if isinstance(e, MotionloopError) else f"{type(e).__name__}: {e}"
        log.warning("%s: correction failed: %s", name, msg)
        return motion, failed_report(name, cfg, msg, before, feas, time.process_time() - t0, metrics_cpu)


def lost_one(job: tuple[str, Motion, CorrectionConfig], error: str) -> tuple[Motion, TrackingReport]:
    """The executor's fallback for a clip whose worker died (every Ray retry, or a local worker
    process): the clip unchanged, with a failed report whose `error` is the executor's text
    (feasibility not computed: NaN)."""
    name, motion, cfg = job
    log.warning("%s: correction lost: %s", name, error)
    try:
        before = pm.physics_metrics(motion)
    except Exception as e:
        before = {}
        log.warning("%s: physics metrics failed: %s", name, e)
    return motion, failed_report(name, cfg, error, before)


def correct(
    motions: list[Motion], config: CorrectionConfig = CorrectionConfig(), names: list[str] | None = None
) -> tuple[list[Motion], list[TrackingReport]]:
    """Physics-correct every clip. Returns corrected clips and reports, in input order.

    A clip that fails comes back unchanged with `success=False` and `error` set; so does one
    whose worker died (on every Ray retry, or a broken local process pool: `lost_one`).
    """
    names = names or [m.source or f"clip_{i:04d}" for i, m in enumerate(motions)]
    jobs = [(n, m, config) for n, m in zip(names, motions)]
    out_m, out_r = [], []
    executor = make_executor(config.workers, config.executor, config.address)
    for m, r in executor.map(correct_one, jobs, fallback=lost_one):
        out_m.append(m)
        out_r.append(r)
    return out_m, out_r
