"""`correct(motions, config) -> (motions, reports)`: physics correction of a batch of clips.

Each clip is (1) repaired kinematically (grounded, see repair.py), (2) tracked by the simulated
humanoid with the whole-body controller, and (3) replaced by the simulated trajectory. A clip
that cannot be corrected (bad values, absurd placement, time limit) comes back unchanged with
a report that says why; it never stops the batch.

The strength knob `s` in [0, 1] prices the root residual force ("hand of god"): at s = 0 the
clip is returned unchanged; small s lets the tracker lean on a large, cheap residual and stay
close to the reference; s = 1 makes residual force expensive, so physics wins and the motion
departs from the reference where the reference is infeasible. The balance repair of the
reference (a pelvis shift that keeps the needed ZMP over the feet, balance.py) is only worth
its departure when the residual is dear: it is applied in part above s = 0.5 and in full at
s = 1 (share 2 s - 1).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from motionloop.errors import ConfigError, MotionloopError
from motionloop.motion import Motion
from motionloop.physics import metrics as pm
from motionloop.physics.config import TrackerConfig
from motionloop.physics.executor import make_executor
from motionloop.physics.feasibility import feasibility_bw
from motionloop.physics.model import Humanoid
from motionloop.physics.repair import RepairConfig, repair
from motionloop.physics.tracker import track

log = logging.getLogger(__name__)

# strength -> price of the residual wrench relative to tracking, geometric in between:
# s = 0.25 / 0.5 / 0.75 / 1 give 5.6e2 / 3.2e3 / 1.8e4 / 1e5 (prices below ~1e3 all track
# about as closely, so the knob spends its range above)
_W_RESIDUAL = (1e2, 1e5)


@dataclass(frozen=True)
class CorrectionConfig:
    """Settings of `correct`.

    Attributes:
        strength: 0 = unchanged clip, 1 = full physics (see module docstring).
        tracker: controller gains and weights; its `w_residual` is set by `strength`.
        repair: kinematic repair settings applied before tracking.
        workers: 1 = serial, N = local process pool, 0 = one per core.
    """

    strength: float = 1.0
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    repair: RepairConfig = field(default_factory=RepairConfig)
    workers: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.strength) <= 1.0:
            raise ConfigError(f"CorrectionConfig.strength: must be in [0, 1], got {self.strength}")
        if int(self.workers) < 0:
            raise ConfigError(f"CorrectionConfig.workers: must be >= 0, got {self.workers}")

    def tracker_for_strength(self) -> TrackerConfig:
        s = float(self.strength)
        w = _W_RESIDUAL[0] * (_W_RESIDUAL[1] / _W_RESIDUAL[0]) ** s
        return dataclasses.replace(self.tracker, w_residual=w)

    def repair_for_strength(self) -> RepairConfig:
        share = min(1.0, max(0.0, 2.0 * float(self.strength) - 1.0))
        return dataclasses.replace(self.repair, balance_amount=share * self.repair.balance_amount)


@dataclass
class TrackingReport:
    """What happened to one clip (one JSON object per clip in a report file)."""

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

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _mpjpe(a: Motion, b: Motion) -> tuple[float, float]:
    """Global and pelvis-relative mean joint-position error in mm."""
    ja, jb = a.joints(), b.joints()
    glob = np.linalg.norm(ja - jb, axis=-1).mean()
    loc = np.linalg.norm((ja - ja[:, :1]) - (jb - jb[:, :1]), axis=-1).mean()
    return float(glob * 1000.0), float(loc * 1000.0)


def correct_one(job: tuple[str, Motion, CorrectionConfig]) -> tuple[Motion, TrackingReport]:
    """Correct one clip; never raises for a bad clip (the report says what failed).

    `cpu_s` counts the correction itself (repair and tracking); the metrics of the report
    (physics metrics, feasibility floors before and after) are timed apart in `metrics_cpu_s`.
    """
    name, motion, cfg = job
    t_metrics = time.process_time()
    before = pm.physics_metrics(motion)
    try:
        feas = feasibility_bw(motion)
    except Exception as e:  # noqa: BLE001 - a bad clip must not stop the batch
        feas = float("nan")
        log.warning("%s: feasibility failed: %s", name, e)
    metrics_cpu = time.process_time() - t_metrics
    if cfg.strength == 0.0:
        return motion, TrackingReport(name, True, 0, 0.0, 0.0, 0.0, feas, 0.0, before, before, strength=0.0,
                                      feasibility_after_bw=feas, metrics_cpu_s=metrics_cpu)
    t0 = time.process_time()
    try:
        h = Humanoid()
        fixed = repair(motion, cfg.repair_for_strength(), h)
        result = track(h, fixed, cfg.tracker_for_strength())
        out = h.motion_from_qpos(result.qpos, motion)
        cpu = time.process_time() - t0
        t_metrics = time.process_time()
        after = pm.physics_metrics(out)
        glob, loc = _mpjpe(out, motion)
        feas_after = feasibility_bw(out, h)
        report = TrackingReport(
            clip=name, success=result.resets == 0, resets=result.resets,
            residual_bw=float(result.residual_bw.mean()), residual_bw_max=float(result.residual_bw.max()),
            residual_torque_bw=float(result.residual_torque_bw.mean()),
            mpjpe_mm=glob, feasibility_bw=feas, cpu_s=cpu, before=before, after=after,
            qp_failures=result.qp_failures, mpjpe_local_mm=loc, feasibility_after_bw=feas_after,
            strength=float(cfg.strength), metrics_cpu_s=metrics_cpu + time.process_time() - t_metrics,
        )
        return out, report
    except Exception as e:  # noqa: BLE001 - report, keep the batch going
        msg = str(e) if isinstance(e, MotionloopError) else f"{type(e).__name__}: {e}"
        log.warning("%s: correction failed: %s", name, msg)
        return motion, TrackingReport(name, False, 0, float("nan"), float("nan"), float("nan"), feas,
                                      time.process_time() - t0, before, before, error=msg,
                                      strength=float(cfg.strength), metrics_cpu_s=metrics_cpu)


def correct(motions: list[Motion], config: CorrectionConfig = CorrectionConfig(),
            names: list[str] | None = None) -> tuple[list[Motion], list[TrackingReport]]:
    """Physics-correct every clip. Returns corrected clips and reports, in input order.

    A clip that fails comes back unchanged with `success=False` and `error` set.
    """
    names = names or [m.source or f"clip_{i:04d}" for i, m in enumerate(motions)]
    jobs = [(n, m, config) for n, m in zip(names, motions)]
    out_m, out_r = [], []
    for m, r in make_executor(config.workers).map(correct_one, jobs):
        out_m.append(m)
        out_r.append(r)
    return out_m, out_r
