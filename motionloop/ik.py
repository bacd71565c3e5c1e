"""Analytic two-bone leg IK (hip -> knee -> ankle) on global joint rotations.

The retargeter and the grounding pass (data/retarget.py, data/ground.py) and the physics
reference (physics/plant.py, balance.py, plan.py) move an ankle to a target point without
touching anything else: the knee stays in the plane spanned by the hip->target line and the
current bend direction (the "knee plane"), and the ankle keeps its global rotation
(so the foot keeps its orientation and its sole moves by exactly the ankle's displacement).
"""

from __future__ import annotations

import numpy as np

from motionloop import rotations as rot
from motionloop import skeleton as sk

_EPS = 1e-9
# Reach is clamped a hair inside [|l1 - l2|, l1 + l2]: at full extension the knee plane (and
# with it the hip's twist) becomes undefined.
_REACH_MARGIN = 1e-6

LEGS: tuple[tuple[int, int, int], ...] = (
    (sk.LEFT_HIP, sk.LEFT_KNEE, sk.LEFT_ANKLE),
    (sk.RIGHT_HIP, sk.RIGHT_KNEE, sk.RIGHT_ANKLE),
)


def two_bone_ik(
    root: np.ndarray, target: np.ndarray, bend: np.ndarray, l1: float, l2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Place the middle and end joints of a two-bone chain so that the end reaches `target`.

    Args:
        root: `(..., 3)` fixed first joint (hip), metres.
        target: `(..., 3)` where the end joint (ankle) should go, metres.
        bend: `(..., 3)` direction the middle joint (knee) bends towards; only its part
            perpendicular to root->target counts. Where that part vanishes, any perpendicular.
        l1, l2: lengths of the first (thigh) and second (shank) bone, metres.
    Returns:
        `mid (..., 3)` and `end (..., 3)`: `end == target` where the target lies within reach
        `[|l1 - l2|, l1 + l2]`, else the reachable point nearest it on the root->target line.
    """
    root = np.asarray(root, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    to = target - root
    dist = np.linalg.norm(to, axis=-1, keepdims=True)
    u = to / np.maximum(dist, _EPS)
    # a target on the root gives no line: reach |l1 - l2| along a direction perpendicular to the bend
    hint = np.broadcast_to(np.asarray(bend, dtype=np.float64), u.shape)
    side = np.cross(
        hint,
        np.where(
            np.abs(hint[..., :1]) < 0.9 * np.linalg.norm(hint, axis=-1, keepdims=True), [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
        ),
    )
    side = side / np.maximum(np.linalg.norm(side, axis=-1, keepdims=True), _EPS)
    u = np.where(dist < 1e-9, np.where(np.linalg.norm(side, axis=-1, keepdims=True) > 0.5, side, [1.0, 0.0, 0.0]), u)
    d = np.clip(dist, abs(l1 - l2) + _REACH_MARGIN, l1 + l2 - _REACH_MARGIN)
    b = np.asarray(bend, dtype=np.float64)
    b = b - np.sum(b * u, axis=-1, keepdims=True) * u
    # a bend hint along the line (or none): fall back to any direction perpendicular to u
    fallback = np.cross(u, np.where(np.abs(u[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]))
    b = np.where(np.linalg.norm(b, axis=-1, keepdims=True) < 1e-9, fallback, b)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), _EPS)
    # law of cosines: angle at the root between root->target and root->mid
    cos_a = np.clip((l1 * l1 + d * d - l2 * l2) / (2.0 * l1 * d), -1.0, 1.0)
    mid = root + l1 * (cos_a * u + np.sqrt(1.0 - cos_a * cos_a) * b)
    return mid, root + d * u


def reach(
    glob: np.ndarray, pos: np.ndarray, leg: tuple[int, int, int], target: np.ndarray, offsets: np.ndarray | None = None
) -> np.ndarray:
    """Turn the hip and knee of one leg so that its ankle lands on `target`.

    Args:
        glob: `(T, 24, 3, 3)` global joint rotations; pos: `(T, 24, 3)` joint positions (metres)
            of the same pose.
        leg: (hip, knee, ankle) joint indices, one of `LEGS`.
        target: `(T, 3)` ankle targets, metres.
        offsets: `(24, 3)` rest offsets (default skeleton if None).
    Returns:
        New global rotations `(T, 24, 3, 3)`: only the hip and knee change, each by the
        smallest rotation that takes its bone onto the new direction, so a target moved inside
        the knee plane keeps the knee a pure hinge and the leg's twist unchanged. Positions of
        the knee and ankle follow by forward kinematics.
    """
    off = sk.REST_OFFSETS if offsets is None else np.asarray(offsets, dtype=np.float64)
    hip, knee, ankle = leg
    l1, l2 = float(np.linalg.norm(off[knee])), float(np.linalg.norm(off[ankle]))
    h, k, a = pos[:, hip], pos[:, knee], pos[:, ankle]
    # bend hint: where the knee sits off the hip->ankle line now; for a straight leg, the
    # knee's forward axis (a knee bends forward)
    line = (a - h) / np.maximum(np.linalg.norm(a - h, axis=-1, keepdims=True), _EPS)
    off_line = (k - h) - np.sum((k - h) * line, axis=-1, keepdims=True) * line
    straight = np.linalg.norm(off_line, axis=-1, keepdims=True) < 1e-3 * l1
    bend = np.where(straight, glob[:, knee, :, 2], off_line)
    k_new, a_new = two_bone_ik(h, target, bend, l1, l2)
    out = glob.copy()
    turn_hip = rot.rotation_between(k - h, k_new - h)  # (T, 3, 3)
    g_hip = turn_hip @ glob[:, hip]
    g_knee = turn_hip @ glob[:, knee]  # the shank first rides along with the thigh
    g_knee = rot.rotation_between(g_knee @ off[ankle], a_new - k_new) @ g_knee
    out[:, hip], out[:, knee] = g_hip, g_knee
    return out
