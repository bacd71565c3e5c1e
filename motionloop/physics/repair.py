"""Kinematic repair of a reference before tracking, in this order: grounding (here), foot
planting (plant.py), balance (balance.py), ballistic flight (flight.py), and optionally the
whole-clip centroidal plan (plan.py). Each makes the
reference something a body with only pushing contacts can follow, at a small cost in distance
from the input; the tracker then has less to depart from.

Grounding: a generated or damaged clip may hover or sink as a whole. A tracker that starts a
body 10 cm in the air, or inside the floor, spends its first second falling or being
ejected. We shift the clip vertically so that its support frames (a foot slow and near the
clip's own lowest level) stand on the floor: the offset is a low percentile of the lowest body
point over those frames, robust to a few frames of penetration or flight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionloop.errors import ConfigError, MotionloopError
from motionloop.motion import Motion
from motionloop.physics import metrics as pm
from motionloop.physics.balance import BalanceConfig, balance_repair
from motionloop.physics.flight import ballistic_repair
from motionloop.physics.model import Humanoid, default_humanoid
from motionloop.physics.plan import centroidal_repair
from motionloop.physics.plant import PlantConfig, plant_feet

SLOW_FOOT_MPS = 0.4  # horizontal foot speed below which a foot may be supporting


class PlacementError(MotionloopError):
    """A clip is placed absurdly far from the floor to be corrected."""


@dataclass(frozen=True)
class RepairConfig:
    """Attributes:
    ground: shift the clip vertically onto the floor before tracking.
    percentile: which low percentile of support-frame heights is put at the floor.
    max_offset_m: a clip further than this from the floor is rejected (PlacementError).
    lock_feet: put planted feet flat (or on heel or toes) on the floor and hold them still (plant.py).
    pelvis_drop_m: with lock_feet, lower the pelvis by up to this much where a planted foot
        laid flat is out of the leg's reach (plant.PlantConfig.max_pelvis_drop_m; 0 = never), m.
    balance: shift the pelvis so the needed ZMP stays over the support (balance.py).
    balance_amount: share of that shift applied, in [0, 1].
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
    max_offset_m: float = 1.0
    lock_feet: bool = True
    pelvis_drop_m: float = 0.0
    balance: bool = True
    balance_amount: float = 1.0
    ballistic: bool = True
    plan: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.percentile <= 100.0:
            raise ConfigError(f"RepairConfig.percentile: must be in [0, 100], got {self.percentile}")
        if not 0.0 <= self.balance_amount <= 1.0:
            raise ConfigError(f"RepairConfig.balance_amount: must be in [0, 1], got {self.balance_amount}")
        if self.max_offset_m <= 0:
            raise ConfigError(f"RepairConfig.max_offset_m: must be > 0, got {self.max_offset_m}")
        if not self.pelvis_drop_m >= 0:
            raise ConfigError(f"RepairConfig.pelvis_drop_m: must be >= 0, got {self.pelvis_drop_m}")


def ground_offset(motion: Motion, percentile: float = 10.0) -> float:
    """Vertical shift in metres that puts the clip's support frames on the floor."""
    low = pm.lowest_points(motion)  # (T,)
    seg = pm.foot_segments(motion)  # (T, 4, 4, 3)
    centre = seg[..., :2].mean(axis=-2)  # (T, 4, 2)
    speed = np.zeros(centre.shape[:2])
    if motion.num_frames > 1:
        speed[1:] = np.linalg.norm(np.diff(centre, axis=0), axis=-1) * motion.fps
        speed[0] = speed[1]
    support = (speed < SLOW_FOOT_MPS).any(axis=-1)
    heights = low[support] if support.any() else low
    return -float(np.percentile(heights, percentile))


def repair(motion: Motion, cfg: RepairConfig = RepairConfig(), h: Humanoid | None = None) -> Motion:
    """The clip grounded, its feet locked and balanced, as `cfg` says; raises PlacementError
    for absurd placement."""
    if cfg.ground:
        motion = ground(motion, cfg)
    if cfg.lock_feet and motion.num_frames > 1:
        plant = PlantConfig(max_pelvis_drop_m=cfg.pelvis_drop_m)
        motion = plant_feet(motion, plant, offsets=(h or default_humanoid()).spec.offsets_array())
    if cfg.balance and cfg.balance_amount > 0 and motion.num_frames > 2:
        motion, _ = balance_repair(h or default_humanoid(), motion, BalanceConfig(amount=cfg.balance_amount))
    if cfg.ballistic and motion.num_frames > 2:
        motion, _ = ballistic_repair(h or default_humanoid(), motion)
    if cfg.plan and motion.num_frames > 2:
        motion, _ = centroidal_repair(h or default_humanoid(), motion)
    return motion


def ground(motion: Motion, cfg: RepairConfig = RepairConfig()) -> Motion:
    """The clip shifted vertically onto the floor; raises PlacementError for absurd placement."""
    off = ground_offset(motion, cfg.percentile)
    if abs(off) > cfg.max_offset_m:
        where = "below" if off > 0 else "above"
        raise PlacementError(
            f"{motion.source or 'clip'}: its support frames are {abs(off):.2f} m {where} the floor "
            f"(limit {cfg.max_offset_m} m); not correcting it"
        )
    return motion.replace(trans=motion.trans + np.array([0.0, 0.0, off], dtype=np.float32))
