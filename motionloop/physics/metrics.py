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
"""

from __future__ import annotations

import numpy as np

from motionloop import body as bd
from motionloop.motion import Motion

CONTACT_TOL = 0.005  # m
SKATE_PERIOD = 1.0 / 20.0  # s
METRIC_KEYS = ("penetrate_mm", "float_mm", "skate_mm", "phys_err_mm")


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
