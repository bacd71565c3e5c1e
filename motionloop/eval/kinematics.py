"""Kinematic statistics of motion windows: the part of the evaluator embedding that sees artefacts.

A learned embedding trained to recognise actions is nearly blind to high-frequency jitter,
over-smoothing and floating (a prototype's FID did not move up to pose noise 0.5), because
none of them changes the action. These hand-made statistics do: joint speed and acceleration
(jitter raises accelerations, smoothing lowers them), pelvis height and sole heights
(floating, sinking), foot contact share and the sole's speed while in contact (skating).
Every statistic is invariant to heading and horizontal position. Positive, heavy-tailed
quantities enter as logarithms (heights as asinh, which also takes negative values) so that
their spread across real windows is roughly Gaussian, as the Frechet distance assumes.
"""

from __future__ import annotations

import functools

import numpy as np

from motionloop import body
from motionloop import skeleton as sk

CONTACT_HEIGHT = 0.03  # a sole lower than this (m) counts as touching the floor
_EPS_SPEED = 0.01  # m/s; keeps the log finite for still joints
_EPS_ACC = 0.1  # m/s^2
_EPS_HEIGHT = 0.005  # m
# Heights h enter as asinh(h / _HEIGHT_SCALE): linear within a centimetre of the floor, log-like
# above, signed below, so 2 cm of floating or sinking is as visible as the difference between
# 0.5 m and 1.4 m of a jump, and one hanging clip does not swamp the scale of the rest.
_HEIGHT_SCALE = 0.01  # m

KIN_NAMES: tuple[str, ...] = (
    tuple(f"log_speed_mean:{j}" for j in sk.JOINTS)
    + tuple(f"log_speed_std:{j}" for j in sk.JOINTS)
    + tuple(f"log_acc_mean:{j}" for j in sk.JOINTS)
    + tuple(f"log_acc_std:{j}" for j in sk.JOINTS)
    + ("pelvis_height_mean", "log_pelvis_height_std", "asinh_lowest_point_min", "asinh_lowest_point_mean")
    + tuple(
        f"{stat}:{side}"
        for side in ("left", "right")
        for stat in ("asinh_sole_height_min", "asinh_sole_height_mean", "contact_share", "log_contact_slide_speed")
    )
)


def _std_floor(name: str) -> float:
    if name.startswith("asinh_"):
        return 0.3  # 3 mm near the floor
    return {"pelvis_height_mean": 0.01, "contact_share": 0.05}.get(name.split(":")[0], 0.1)  # logs: 10 %


# The smallest spread each statistic is standardised by (in its own units): a difference of
# this size weighs one standard deviation even where every real window agrees, e.g. the
# lowest point of perfectly grounded data, which would otherwise make 1 mm look enormous.
KIN_STD_FLOOR = np.array([_std_floor(n) for n in KIN_NAMES])


@functools.lru_cache(maxsize=1)
def _geometry() -> list:
    return body.geometry()


def _height(h: np.ndarray) -> np.ndarray:
    return np.arcsinh(h / _HEIGHT_SCALE)


def kinematic_stats(positions: np.ndarray, glob: np.ndarray, fps: float) -> np.ndarray:
    """Statistics `(W, K)` of W windows, K = len(KIN_NAMES), in the order of KIN_NAMES.

    Args:
        positions: `(W, L, 24, 3)` world joint positions, metres, z up; L >= 3 frames.
        glob: `(W, L, 24, 3, 3)` global joint rotations (for the sole geometry).
        fps: frames per second of the windows.
    Returns:
        float64 array; speeds in m/s and accelerations in m/s^2 enter as natural logs,
        heights as asinh(h / 1 cm) except the pelvis mean height (metres), contact share in [0, 1].
    """
    p = np.asarray(positions, dtype=np.float64)
    vel = np.diff(p, axis=1) * fps  # (W, L-1, 24, 3)
    acc = np.diff(p, n=2, axis=1) * fps**2  # (W, L-2, 24, 3)
    speed = np.linalg.norm(vel, axis=-1)  # (W, L-1, 24)
    acc_norm = np.linalg.norm(acc, axis=-1)  # (W, L-2, 24)
    joint_stats = [
        np.log(speed.mean(1) + _EPS_SPEED),
        np.log(speed.std(1) + _EPS_SPEED),
        np.log(acc_norm.mean(1) + _EPS_ACC),
        np.log(acc_norm.std(1) + _EPS_ACC),
    ]  # each (W, 24)
    pelvis_z = p[:, :, sk.PELVIS, 2]  # (W, L)
    geoms = _geometry()
    glob = np.asarray(glob, dtype=np.float64)
    lowest = body.world_extremes(geoms, p, glob).min(-1)  # (W, L): lowest body point, as physics float_mm
    soles = body.sole_points(geoms, p, glob)  # (W, L, 2, 8, 3)
    sole_z = soles[..., 2].min(-1)  # (W, L, 2)
    # a foot's horizontal position: the mean of its sole corners
    sole_xy = soles[..., :2].mean(-2)  # (W, L, 2, 2)
    slide = np.linalg.norm(np.diff(sole_xy, axis=1), axis=-1) * fps  # (W, L-1, 2)
    # a foot slides only if it touches the floor in both frames (PhysDiff's skate definition)
    contact = sole_z < CONTACT_HEIGHT  # (W, L, 2)
    both = contact[:, 1:] & contact[:, :-1]  # (W, L-1, 2)
    slide_speed = (slide * both).sum(1) / np.maximum(both.sum(1), 1)  # (W, 2)
    feet = np.stack(
        [_height(sole_z.min(1)), _height(sole_z.mean(1)), contact.mean(1), np.log(slide_speed + _EPS_SPEED)], axis=-1
    )  # (W, 2 sides, 4 stats)
    whole = np.stack(
        [pelvis_z.mean(1), np.log(pelvis_z.std(1) + _EPS_HEIGHT), _height(lowest.min(1)), _height(lowest.mean(1))],
        axis=-1,
    )  # (W, 4)
    out = np.concatenate(joint_stats + [whole, feet.reshape(len(p), -1)], axis=1)
    assert out.shape[1] == len(KIN_NAMES)
    return out
