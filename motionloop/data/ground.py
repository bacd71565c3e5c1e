"""Put a clip's feet on the floor (z = 0) without sinking the body into it.

Used by the retargeter and the AMASS importer. Steps, all on the capsule body (body.py):
1. Stance: a foot is in stance on frames where its lowest sole point is low (within
   `contact_height_m` of the floor estimate, a low percentile of the lower foot's height over
   the clip) and slow (horizontal speed below `contact_speed_mps`); single-frame gaps in a
   stance are closed (`stance_mask`).
2. One vertical offset for the whole clip, so that the median stance sole height is 0 (a clip
   without stance frames is shifted so that its lowest point over the clip touches the floor).
3. Per-frame corrections through the leg IK (ik.py): on stance frames the ankle moves
   vertically by exactly what puts the lowest sole point at 0; the correction fades out over
   `ramp_s` around each stance, so the swing leg does not jump; a swing foot below the floor
   (or below an optional per-frame clearance) is lifted to it. Only the hips and knees turn;
   the foot keeps its global orientation. Where a stance foot is out of the leg's reach (a
   straight leg), that frame's whole body first comes down just enough for it to reach (by
   at most `contact_height_m`).
4. Any frame whose body still dips below the floor (a knee or a hand on the ground) is
   lifted as a whole by its penetration, so nothing ends below z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionloop import ik
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data import stats
from motionloop.errors import ConfigError
from motionloop.motion import Motion


@dataclass(frozen=True)
class GroundConfig:
    """Stance detection and correction settings (metres, seconds).

    `swing_clearance` is read by the retargeter: lift swing feet to the source's clearance
    (`retarget.foot_clearance`); other callers pass no clearance.
    """

    contact_height_m: float = 0.05
    contact_speed_mps: float = 0.6
    floor_percentile: float = 10.0
    ramp_s: float = 0.1
    swing_clearance: bool = True

    def __post_init__(self) -> None:
        for name in ("contact_height_m", "contact_speed_mps", "ramp_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"GroundConfig.{name}: must be > 0, got {getattr(self, name)}")
        if not 0 <= self.floor_percentile <= 100:
            raise ConfigError(f"GroundConfig.floor_percentile: must be in [0, 100], got {self.floor_percentile}")


def stance_mask(heights: np.ndarray, speeds: np.ndarray, config: GroundConfig = GroundConfig()) -> np.ndarray:
    """Stance frames `(T, 2)` bool of each foot from sole heights and speeds `(T, 2)` (stats.foot_tracks).

    The floor estimate is a low percentile (`floor_percentile`) of the lower foot's height.
    """
    floor = np.percentile(heights.min(axis=1), config.floor_percentile)
    st = (heights - floor < config.contact_height_m) & (speeds < config.contact_speed_mps)
    # close single-frame gaps: a heel-strike transient is not a lift-off
    st[1:-1] |= ~st[1:-1] & st[:-2] & st[2:]
    return st


def _fade(values: np.ndarray, mask: np.ndarray, ramp: float) -> np.ndarray:
    """`values (T,)` on `mask` frames, elsewhere the nearest masked value fading linearly to 0 over `ramp` frames."""
    T = len(values)
    if not mask.any():
        return np.zeros(T)
    idx = np.arange(T)
    keys = np.flatnonzero(mask)
    right = np.clip(np.searchsorted(keys, idx), 0, len(keys) - 1)
    left = np.clip(right - 1, 0, len(keys) - 1)
    nearest = np.where(np.abs(idx - keys[left]) <= np.abs(keys[right] - idx), keys[left], keys[right])
    weight = np.clip(1.0 - np.abs(idx - nearest) / (ramp + 1.0), 0.0, 1.0)
    return weight * values[nearest]


def ground(
    glob: np.ndarray,
    trans: np.ndarray,
    fps: float,
    offsets: np.ndarray | None = None,
    config: GroundConfig = GroundConfig(),
    clearance: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Ground a pose sequence (see the module docstring).

    Args:
        glob: `(T, 24, 3, 3)` global joint rotations; trans: `(T, 3)` pelvis positions, metres.
        fps: frames per second. offsets: `(24, 3)` rest offsets (default skeleton if None).
        clearance: optional `(T, 2)` least height (metres) of each foot's lowest sole point on
            its swing (non-stance) frames; the retargeter passes how far the source's foot
            joints rise above their stance height, so a longer foot does not scrape the floor
            where the source's foot cleared it.
    Returns:
        new `glob (T, 24, 3, 3)`, new `trans (T, 3)`, and facts: offset_m (the clip's vertical
        shift), stance_share (frames with a foot in stance), drop_max_m and lift_max_m (the
        largest whole-body drop towards an unreachable stance foot and lift out of the floor).
    """
    glob = np.array(glob, dtype=np.float64)
    trans = np.array(trans, dtype=np.float64)
    pos, _ = sk.fk_mats(sk.local_rotations(glob), trans, offsets)
    heights, speeds = stats.foot_tracks(pos, glob, fps, offsets)
    stance = stance_mask(heights, speeds, config)
    if stance.any():
        offset = -float(np.median(heights[stance]))
    else:
        offset = -float(stats.lowest_points(pos, glob, offsets).min())
    trans[:, 2] += offset
    pos[..., 2] += offset
    heights = heights + offset
    up = np.array([0.0, 0.0, 1.0])
    # ankle corrections: stance feet onto the floor, faded around each stance
    dz = np.stack([_fade(-heights[:, f], stance[:, f], config.ramp_s * fps) for f in range(2)], axis=-1)  # (T, 2)
    stance_targets = [pos[:, leg[2]] + dz[:, f, None] * up for f, leg in enumerate(ik.LEGS)]
    # a stance foot the leg cannot reach (a straight leg): lower the whole body until it can,
    # by at most the stance band (more means the pose itself is wrong, not the height)
    drop = np.zeros(len(trans))
    for f, leg in enumerate(ik.LEGS):
        need = _drop_to_reach(pos[:, leg[0]], stance_targets[f], offsets, leg)
        drop = np.maximum(drop, np.where(stance[:, f], need, 0.0))
    drop = np.minimum(drop, config.contact_height_m)
    trans[:, 2] -= drop
    pos[..., 2] -= drop[:, None]
    for f, leg in enumerate(ik.LEGS):
        # swing feet move with the body, but not below the floor (or the given clearance)
        least = 0.0 if clearance is None else np.maximum(clearance[:, f], 0.0)
        swing_dz = dz[:, f] + np.maximum(0.0, least - (heights[:, f] - drop + dz[:, f]))
        target = np.where(stance[:, f, None], stance_targets[f], pos[:, leg[2]] + swing_dz[:, None] * up)
        if np.abs(target - pos[:, leg[2]]).max() > 1e-9:
            glob = ik.reach(glob, pos, leg, target, offsets)
            pos, _ = sk.fk_mats(sk.local_rotations(glob), trans, offsets)
    # whatever still dips below the floor (a knee or a hand on the ground) lifts its frame
    lift = np.maximum(0.0, -stats.lowest_points(pos, glob, offsets))
    trans[:, 2] += lift
    return (
        glob,
        trans,
        {
            "offset_m": offset,
            "stance_share": float(stance.any(axis=1).mean()),
            "drop_max_m": float(drop.max()),
            "lift_max_m": float(lift.max()),
        },
    )


def _drop_to_reach(
    hip: np.ndarray, target: np.ndarray, offsets: np.ndarray | None, leg: tuple[int, int, int]
) -> np.ndarray:
    """How far `(T,)` the hip `(T, 3)` must come down for the leg to reach `target (T, 3)`, metres (>= 0)."""
    off = sk.REST_OFFSETS if offsets is None else np.asarray(offsets, dtype=np.float64)
    reach = float(np.linalg.norm(off[leg[1]]) + np.linalg.norm(off[leg[2]])) - 1e-5
    d = target - hip
    horizontal = np.minimum(np.linalg.norm(d[:, :2], axis=-1), reach)
    # |d + drop * z| = reach with the ankle below the hip: drop = -d_z - sqrt(reach^2 - |d_xy|^2)
    return np.maximum(0.0, -d[:, 2] - np.sqrt(reach * reach - horizontal * horizontal))


def ground_motion(motion: Motion, config: GroundConfig = GroundConfig()) -> tuple[Motion, dict]:
    """`ground` applied to a Motion on the default skeleton; returns the new clip and the facts."""
    _, glob = motion.fk()
    glob, trans, info = ground(glob, motion.trans, motion.fps, None, config)
    return motion.replace(trans=trans, poses=rot.mat_to_aa(sk.local_rotations(glob))), info
