"""Physics metrics of a clip (PhysDiff definitions), pure functions of the clip's geometry.

All are computed on the capsule body (body.py), not only on joint centres, with the floor at
z = 0 and a contact tolerance of 5 mm:
- penetrate_mm: depth of the lowest body point below the floor, mean over frames.
- float_mm: height of the lowest body point above the tolerance, mean over frames.
- skate_mm: horizontal displacement of sole corners that touch the floor (within the
  tolerance) in two adjacent frames, mean over such (corner, frame pair) events. Corners, not
  segment centres: a heel rising about a planted ball rotates the foot without sliding it.
  It is expressed per 1/20 s (HumanML3D's frame period, the rate PhysDiff reports at), so clips
  of any fps compare.
- phys_err_mm: the sum of the three.

Posture of a corrected clip against its input (`trunk_pitch_deg`, `pitch_change_deg`): the
trunk's forward lean in the body's facing direction. The facing is HumanML3D's (Guo et al.
2022): horizontal, square to the across vector of the hips plus the shoulders. The pelvis's
own forward axis projected on the floor, which this replaces, shrinks and flips whenever the
pelvis faces the floor or the sky (a crawl, a roll, a getup): on the bundled real clips it
made a corrected crawl 71 mm from its input lean 32 degrees "back" on average.
"""

from __future__ import annotations

import numpy as np

from motionloop import body as bd
from motionloop import skeleton as sk
from motionloop.motion import Motion

CONTACT_TOL = 0.005  # m
SKATE_PERIOD = 1.0 / 20.0  # s
METRIC_KEYS = ("penetrate_mm", "float_mm", "skate_mm", "phys_err_mm")
# the facing is undefined where the across vector is this close to vertical (its horizontal
# part below this share of its length: within about 15 degrees, a body lying on its side)
MIN_ACROSS_SHARE = 0.25


def lowest_points(motion: Motion, offsets: np.ndarray | None = None) -> np.ndarray:
    """Height `(T,)` in metres of the lowest point of the body in each frame."""
    pos, glob = motion.fk(offsets)
    return bd.world_extremes(bd.geometry(offsets), pos, glob).min(axis=-1)


def foot_segments(motion: Motion, offsets: np.ndarray | None = None) -> np.ndarray:
    """Sole corners `(T, 4, 4, 3)` of the four foot segments (L rear, L toes, R rear, R toes)."""
    pos, glob = motion.fk(offsets)
    soles = bd.sole_points(bd.geometry(offsets), pos, glob)  # (T, 2, 8, 3)
    return soles.reshape(len(pos), 4, 4, 3)


def penetrate_mm(lowest: np.ndarray) -> float:
    """Mean depth below the floor of the lowest body point, mm; `lowest (T,)` in metres."""
    return float(np.mean(np.maximum(0.0, -lowest)) * 1000.0)


def float_mm(lowest: np.ndarray, tol: float = CONTACT_TOL) -> float:
    """Mean height of the lowest body point above the contact tolerance, mm."""
    return float(np.mean(np.maximum(0.0, lowest - tol)) * 1000.0)


def skate_mm(segments: np.ndarray, fps: float, tol: float = CONTACT_TOL) -> float:
    """Mean horizontal slide (mm per 1/20 s) of sole corners in contact in adjacent frames.

    Args:
        segments: `(T, S, C, 3)` corner positions of S foot segments with C corners, metres.
        fps: frame rate of the clip.
    """
    if len(segments) < 2:
        return 0.0
    z = segments[..., 2]  # (T, S, C)
    contact = (z[:-1] <= tol) & (z[1:] <= tol)  # (T-1, S, C)
    if not contact.any():
        return 0.0
    step = np.linalg.norm(segments[1:, ..., :2] - segments[:-1, ..., :2], axis=-1)  # (T-1, S, C), m per frame
    per_period = step * fps * SKATE_PERIOD
    return float(per_period[contact].mean() * 1000.0)


def physics_metrics(motion: Motion, offsets: np.ndarray | None = None) -> dict[str, float]:
    """penetrate_mm, float_mm, skate_mm and phys_err_mm of one clip."""
    low = lowest_points(motion, offsets)
    out = {
        "penetrate_mm": penetrate_mm(low),
        "float_mm": float_mm(low),
        "skate_mm": skate_mm(foot_segments(motion, offsets), motion.fps),
    }
    out["phys_err_mm"] = out["penetrate_mm"] + out["float_mm"] + out["skate_mm"]
    return out


def facing(pos: np.ndarray) -> np.ndarray:
    """Unit horizontal facing direction `(T, 3)` of a body from its joint positions `(T, 24,
    3)` (z up): square to the across vector (left minus right hip, plus left minus right
    shoulder), as HumanML3D computes it; NaN where the across vector is within about 15
    degrees of vertical (MIN_ACROSS_SHARE)."""
    across = (pos[:, sk.LEFT_HIP] - pos[:, sk.RIGHT_HIP]) + (pos[:, sk.LEFT_SHOULDER] - pos[:, sk.RIGHT_SHOULDER])
    fwd = np.stack([across[:, 1], -across[:, 0], np.zeros(len(across))], axis=1)  # across x up
    horiz = np.linalg.norm(fwd, axis=1)
    ok = horiz > MIN_ACROSS_SHARE * np.linalg.norm(across, axis=1)
    return np.where(ok[:, None], fwd / np.maximum(horiz, 1e-12)[:, None], np.nan)


def trunk_pitch_deg(motion: Motion, offsets: np.ndarray | None = None) -> np.ndarray:
    """Forward lean `(T,)` of the trunk (pelvis -> neck) from vertical in the body's facing
    direction (`facing`), degrees in (-180, 180]: 0 upright, 90 prone (head forward), -90
    supine; NaN where the facing is undefined."""
    pos, _ = motion.fk(offsets)
    trunk = pos[:, sk.NECK] - pos[:, sk.PELVIS]
    return np.rad2deg(np.arctan2(np.sum(trunk * facing(pos), axis=1), trunk[:, 2]))


def pitch_change_deg(before: Motion, after: Motion) -> np.ndarray:
    """Change `(T,)` of trunk pitch from `before` to `after` (same frames), degrees wrapped to
    [-180, 180) (a body upside down pitches across +-180); NaN where either facing is
    undefined."""
    if before.num_frames != after.num_frames:
        raise ValueError(f"pitch_change_deg: {before.num_frames} frames before, {after.num_frames} after")
    d = trunk_pitch_deg(after) - trunk_pitch_deg(before)
    return (d + 180.0) % 360.0 - 180.0


def pitch_change_stats(change: np.ndarray) -> tuple[float, float]:
    """Mean absolute and mean signed value of pitch changes `change (...)` (pitch_change_deg,
    of one clip or of many concatenated) over the frames where they are defined; NaN, NaN
    where none is."""
    defined = change[np.isfinite(change)]
    if not len(defined):
        return float("nan"), float("nan")
    return float(np.abs(defined).mean()), float(defined.mean())
