"""Kinematic repair of a reference before tracking, in this order: grounding (here), foot
planting (plant.py), optionally steps of the planted feet towards the ZMP (step.py), balance
(balance.py), ballistic flight (flight.py), and optionally the whole-clip centroidal plan
(plan.py). Each makes the
reference something a body with only pushing contacts can follow, at a small cost in distance
from the input; the tracker then has less to depart from.

Grounding: a generated or damaged clip may hover or sink as a whole. A tracker that starts a
body 10 cm in the air, or inside the floor, spends its first second falling or being
ejected. We shift the clip vertically so that its support frames (a foot slow and near the
clip's own lowest level) stand on the floor: the offset is a low percentile of the lowest body
point over those frames, robust to a few frames of penetration or flight. Generated clips
also drift: the shipped model's samples often stand on the floor for a second and then sink
20 cm into it, or the reverse (the lowest points of the support frames spread over more than
5 cm in 44 % of bench_physics' 128 generated clips, in 2 of the 47 real ones). One offset
cannot put both halves on the floor: it lifts the clip by the sunk half's depth and leaves
the other half hovering, which the balance repair then reads as a body without support. So
the floor level is followed frame by frame (`ground_offsets`): the support frames' lowest
points, with rises shorter than `ground_window_s` (1 s) opened away (a morphological
opening), so that flights keep their height (a jump's flight lasts well under a second)
while a lasting step of the level stays where it happens. A clip whose level stays within
`DRIFT_TOL_M` (3 cm) of the one offset keeps the one offset: every real clip (the furthest,
dm_dance_b, 1.5 cm) and 12 of bench_physics' 13 copies of the real walks with every joint
jittered (up to 2 cm; dm_walker_walk's strays 3.5 cm); 52 of the 128 generated clips do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, grey_opening

from motionloop.errors import ConfigError, MotionloopError
from motionloop.motion import Motion
from motionloop.physics import metrics as pm
from motionloop.physics.balance import BalanceConfig, balance_repair
from motionloop.physics.flight import ballistic_repair
from motionloop.physics.model import Humanoid, default_humanoid
from motionloop.physics.plan import centroidal_repair
from motionloop.physics.plant import PlantConfig, plant_feet
from motionloop.physics.step import step_repair

SLOW_FOOT_MPS = 0.4  # horizontal foot speed below which a foot may be supporting
# a floor level within this of the one offset everywhere stays the one offset: the estimate's
# own noise (the real clips' levels stay within 1.5 cm of it, most jittered walks' within 2 cm)
DRIFT_TOL_M = 0.03
GROUND_SMOOTH_S = 0.1  # s: Gaussian smoothing of the per-frame floor level


class PlacementError(MotionloopError):
    """A clip is placed absurdly far from the floor to be corrected."""


@dataclass(frozen=True)
class RepairConfig:
    """Attributes:
    ground: shift the clip vertically onto the floor before tracking.
    percentile: which low percentile of support-frame heights is put at the floor.
    ground_window_s: follow the clip's floor level frame by frame, keeping rises of it
        shorter than this (flights) above the floor (`ground_offsets`), s; None: one offset
        for the whole clip.
    max_offset_m: a clip further than this from the floor is rejected (PlacementError).
    lock_feet: put planted feet flat (or on heel or toes) on the floor and hold them still (plant.py).
    pelvis_drop_m: with lock_feet, lower the pelvis by up to this much where a planted foot
        laid flat is out of the leg's reach (plant.PlantConfig.max_pelvis_drop_m; 0 = never), m.
    balance: shift the pelvis so the needed ZMP stays over the support (balance.py).
    balance_amount: share of that shift applied, in [0, 1].
    step_feet: with balance, first move each planted foot towards the ZMP it needs (step.py;
        off by default: generated outputs closer to their inputs, real ones a little further).
    ballistic: put the CoM of flight phases on their free-fall parabola (flight.py).
    plan: replace the CoM path by the whole-clip centroidal plan (plan.py). Off by default:
        on the bundled real clips it takes the reference's feasibility floor of walks from
        0.4-3.6 to 0.0-0.6 %BW, but generated clips' contact schedules are too unclear for it
        (bench_physics: assisted tracking of 128 generated clips ended with phys_err 40 mm
        with the plan, 18 mm without). `correct` tries the planned reference only where
        every other residual-free attempt fell (CorrectionConfig.planned).
    """

    ground: bool = True
    percentile: float = 10.0
    ground_window_s: float | None = 1.0
    max_offset_m: float = 1.0
    lock_feet: bool = True
    pelvis_drop_m: float = 0.0
    balance: bool = True
    balance_amount: float = 1.0
    step_feet: bool = False
    ballistic: bool = True
    plan: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.percentile <= 100.0:
            raise ConfigError(f"RepairConfig.percentile: must be in [0, 100], got {self.percentile}")
        if not 0.0 <= self.balance_amount <= 1.0:
            raise ConfigError(f"RepairConfig.balance_amount: must be in [0, 1], got {self.balance_amount}")
        if self.ground_window_s is not None and not self.ground_window_s > 0:
            raise ConfigError(f"RepairConfig.ground_window_s: must be > 0 or None, got {self.ground_window_s}")
        if self.max_offset_m <= 0:
            raise ConfigError(f"RepairConfig.max_offset_m: must be > 0, got {self.max_offset_m}")
        if not self.pelvis_drop_m >= 0:
            raise ConfigError(f"RepairConfig.pelvis_drop_m: must be >= 0, got {self.pelvis_drop_m}")


def _support_lows(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """The lowest body point's height `(T,)` and whether a foot may be supporting `(T,)`
    (slower than SLOW_FOOT_MPS horizontally; every frame, in a clip with no such frame)."""
    low = pm.lowest_points(motion)  # (T,)
    seg = pm.foot_segments(motion)  # (T, 4, 4, 3)
    centre = seg[..., :2].mean(axis=-2)  # (T, 4, 2)
    speed = np.zeros(centre.shape[:2])
    if motion.num_frames > 1:
        speed[1:] = np.linalg.norm(np.diff(centre, axis=0), axis=-1) * motion.fps
        speed[0] = speed[1]
    support = (speed < SLOW_FOOT_MPS).any(axis=-1)
    return low, support if support.any() else np.ones_like(support)


def _one_offset(low: np.ndarray, support: np.ndarray, percentile: float) -> float:
    """The one shift that puts the `percentile` of the support frames' lowest points on the floor."""
    return -float(np.percentile(low[support], percentile))


def ground_offset(motion: Motion, percentile: float = 10.0) -> float:
    """Vertical shift in metres that puts the clip's support frames on the floor."""
    return _one_offset(*_support_lows(motion), percentile)


def ground_offsets(motion: Motion, percentile: float = 10.0, window_s: float | None = 1.0) -> np.ndarray:
    """Vertical shift `(T,)` in metres per frame that puts the clip's floor level on the
    floor. The level is the lowest body point over the support frames (interpolated between
    them), opened over `window_s` (a rise shorter than that is a flight: the level stays
    below it; a lasting step of the level stays where it happens), then smoothed over
    GROUND_SMOOTH_S. One shift (`ground_offset`, the `percentile` of the support frames'
    lowest points) for every frame where `window_s` is None or the level stays within
    DRIFT_TOL_M of it."""
    low, support = _support_lows(motion)
    one = _one_offset(low, support, percentile)
    T = motion.num_frames
    if window_s is None or T < 3:
        return np.full(T, one)
    frames = np.arange(T)
    level = np.interp(frames, frames[support], low[support])
    level = grey_opening(level, size=max(1, round(window_s * motion.fps)), mode="nearest")
    offsets = -gaussian_filter1d(level, GROUND_SMOOTH_S * motion.fps, mode="nearest")
    if np.abs(offsets - one).max() < DRIFT_TOL_M:
        return np.full(T, one)
    return offsets


def repair(motion: Motion, cfg: RepairConfig = RepairConfig(), h: Humanoid | None = None) -> Motion:
    """The clip grounded, its feet locked and balanced, as `cfg` says; raises PlacementError
    for absurd placement."""
    if cfg.ground:
        motion = ground(motion, cfg)
    if cfg.lock_feet and motion.num_frames > 1:
        plant = PlantConfig(max_pelvis_drop_m=cfg.pelvis_drop_m)
        motion = plant_feet(motion, plant, offsets=(h or default_humanoid()).spec.offsets_array())
    if cfg.step_feet and cfg.balance and cfg.balance_amount > 0 and motion.num_frames > 2:
        motion, _ = step_repair(h or default_humanoid(), motion)
    if cfg.balance and cfg.balance_amount > 0 and motion.num_frames > 2:
        motion, _ = balance_repair(h or default_humanoid(), motion, BalanceConfig(amount=cfg.balance_amount))
    if cfg.ballistic and motion.num_frames > 2:
        motion, _ = ballistic_repair(h or default_humanoid(), motion)
    if cfg.plan and motion.num_frames > 2:
        motion, _ = centroidal_repair(h or default_humanoid(), motion)
    return motion


def ground(motion: Motion, cfg: RepairConfig = RepairConfig()) -> Motion:
    """The clip shifted vertically onto the floor, frame by frame (`ground_offsets`); raises
    PlacementError for absurd placement."""
    off = ground_offsets(motion, cfg.percentile, cfg.ground_window_s)
    worst = int(np.argmax(np.abs(off)))
    if abs(off[worst]) > cfg.max_offset_m:
        where = "below" if off[worst] > 0 else "above"
        at = f" at frame {worst}" if np.ptp(off) > 0 else ""
        raise PlacementError(
            f"{motion.source or 'clip'}: its support frames are {abs(off[worst]):.2f} m {where} the floor{at} "
            f"(limit {cfg.max_offset_m} m); not correcting it"
        )
    if np.ptp(off) == 0:
        return motion.replace(trans=motion.trans + np.array([0.0, 0.0, off[0]], dtype=np.float32))
    trans = motion.trans.copy()
    trans[:, 2] += off.astype(trans.dtype)
    return motion.replace(trans=trans)
