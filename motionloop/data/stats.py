"""Foot and ground statistics of a clip, measured on the capsule body (body.py).

Pure functions of arrays or of a `Motion`; `motionloop data info`, the import reports and the
grounding pass (ground.py) all use them. "A foot" is its box geoms' 8 sole corners; its height is
the lowest of them above the floor z = 0, and its speed is the horizontal speed of that lowest
corner (a point fixed on the foot, followed to the next frame), so a foot rolling over its toes
counts as planted, not as sliding.
"""

from __future__ import annotations

import numpy as np

from motionloop import body
from motionloop import skeleton as sk
from motionloop.motion import Motion

GROUND_TOL_M = 0.02  # a foot within this of the floor counts as on the ground


def foot_tracks(
    positions: np.ndarray, glob: np.ndarray, fps: float, offsets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Height and horizontal speed of each foot's lowest sole corner.

    Args:
        positions: `(T, 24, 3)` joint positions, metres; glob: `(T, 24, 3, 3)` global rotations.
        fps: frames per second.
        offsets: `(24, 3)` rest offsets of the skeleton (default skeleton if None).
    Returns:
        heights `(T, 2)` in metres (left, right foot) and speeds `(T, 2)` in m/s; the speed of
        frame t is that corner's displacement to frame t + 1 (the last frame repeats the one
        before; a single frame has speed 0).
    """
    soles = body.sole_points(body.geometry(offsets), positions, glob)  # (T, 2, 8, 3)
    z = soles[..., 2]
    low = np.argmin(z, axis=-1)  # (T, 2) which corner is lowest
    heights = np.take_along_axis(z, low[..., None], -1)[..., 0]
    if len(positions) < 2:
        return heights, np.zeros_like(heights)
    here = np.take_along_axis(soles[:-1], low[:-1, :, None, None], -2)[..., 0, :2]  # (T-1, 2, 2)
    there = np.take_along_axis(soles[1:], low[:-1, :, None, None], -2)[..., 0, :2]
    speed = np.linalg.norm(there - here, axis=-1) * fps  # (T-1, 2)
    return heights, np.concatenate([speed, speed[-1:]], axis=0)


def lowest_points(positions: np.ndarray, glob: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """Height `(T,)` of the lowest point of the whole body per frame, metres."""
    return body.world_extremes(body.geometry(offsets), positions, glob).min(axis=-1)


def foot_ground_stats(motion: Motion, offsets: np.ndarray | None = None) -> dict:
    """Foot and ground statistics of a clip (floor at z = 0).

    Returns a dict of plain floats:
        frames, fps, duration_s;
        height_m: standing height of the skeleton (sole to head top);
        min_z_mm: lowest point of the body over the clip (negative = below the floor);
        median_lowest_mm: median over frames of the body's lowest point (floating if >> 0);
        foot_ground_share: share of frames with a foot within `GROUND_TOL_M` of the floor;
        planted_foot_speed_mps: mean horizontal speed of feet on the frames where they are
            within `GROUND_TOL_M` (0 if never), the sliding of planted feet.
    """
    positions, glob = motion.fk(offsets)
    heights, speeds = foot_tracks(positions, glob, motion.fps, offsets)
    lowest = lowest_points(positions, glob, offsets)
    near = np.abs(heights) <= GROUND_TOL_M  # (T, 2)
    return {
        "frames": int(motion.num_frames),
        "fps": float(motion.fps),
        "duration_s": float(motion.duration),
        "height_m": float(sk.height_of(offsets)),
        "min_z_mm": float(lowest.min() * 1000.0),
        "median_lowest_mm": float(np.median(lowest) * 1000.0),
        "foot_ground_share": float(near.any(axis=1).mean()),
        "planted_foot_speed_mps": float(speeds[near].mean()) if near.any() else 0.0,
    }
