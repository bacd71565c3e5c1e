"""The SMPL-24 skeleton: joint names, parents, rest offsets and forward kinematics.

Frames and units (the AMASS convention, so AMASS files load as they are):
- The rest skeleton lives in SMPL's canonical body frame: x = the body's left, y = up,
  z = forward; metres.
- The world is z-up. The root joint's rotation (pose slot 0) maps the canonical frame into the
  world, so a person standing upright has a root rotation of +90 degrees about x
  (`UPRIGHT`), and an all-zero pose lies on its back along world y.
- `trans` is the pelvis (joint 0) position in the world. The default skeleton has its pelvis
  at the origin of the canonical frame.

The default rest offsets are not SMPL's: they are built from anthropometric segment
proportions (Winter, "Biomechanics and Motor Control of Human Movement", table 4.1) for a
body 1.71 m tall, so no SMPL data is involved. With SMPL model files (`--body-model`), smplx
supplies the shape-specific offsets instead (`offsets` argument below).
"""

from __future__ import annotations

import numpy as np

from motionloop import rotations as rot

JOINTS: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)
NUM_JOINTS = len(JOINTS)
PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)

PELVIS = JOINTS.index("pelvis")
LEFT_HIP, RIGHT_HIP = JOINTS.index("left_hip"), JOINTS.index("right_hip")
SPINE1, SPINE2, SPINE3 = JOINTS.index("spine1"), JOINTS.index("spine2"), JOINTS.index("spine3")
LEFT_KNEE, RIGHT_KNEE = JOINTS.index("left_knee"), JOINTS.index("right_knee")
LEFT_ANKLE, RIGHT_ANKLE = JOINTS.index("left_ankle"), JOINTS.index("right_ankle")
LEFT_FOOT, RIGHT_FOOT = JOINTS.index("left_foot"), JOINTS.index("right_foot")
NECK, HEAD = JOINTS.index("neck"), JOINTS.index("head")
LEFT_COLLAR, RIGHT_COLLAR = JOINTS.index("left_collar"), JOINTS.index("right_collar")
LEFT_SHOULDER, RIGHT_SHOULDER = JOINTS.index("left_shoulder"), JOINTS.index("right_shoulder")
LEFT_ELBOW, RIGHT_ELBOW = JOINTS.index("left_elbow"), JOINTS.index("right_elbow")
LEFT_WRIST, RIGHT_WRIST = JOINTS.index("left_wrist"), JOINTS.index("right_wrist")
LEFT_HAND, RIGHT_HAND = JOINTS.index("left_hand"), JOINTS.index("right_hand")

FEET = (LEFT_ANKLE, RIGHT_ANKLE, LEFT_FOOT, RIGHT_FOOT)
LEGS = (LEFT_HIP, RIGHT_HIP, LEFT_KNEE, RIGHT_KNEE) + FEET

# Left/right partner of every joint (itself for the midline), for mirroring.
MIRROR: tuple[int, ...] = tuple(
    JOINTS.index(n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")) for n in JOINTS
)

# Rotation taking the canonical body frame (y up, z forward) into the z-up world.
UPRIGHT = rot.axis_rotation("X", np.pi / 2)

# Offset of each joint from its parent in the canonical frame, metres. Segment lengths:
# thigh 0.38, shank 0.41, ankle height 0.085, upper arm 0.26, forearm 0.25 (Winter's
# proportions of a 1.71 m body); the pelvis stands 0.965 m above the floor.
REST_OFFSETS = np.array(
    [
        [0.0, 0.0, 0.0],  # pelvis
        [0.075, -0.09, 0.0],  # left_hip
        [-0.075, -0.09, 0.0],  # right_hip
        [0.0, 0.11, -0.02],  # spine1
        [0.01, -0.38, 0.0],  # left_knee
        [-0.01, -0.38, 0.0],  # right_knee
        [0.0, 0.13, 0.01],  # spine2
        [0.0, -0.41, -0.03],  # left_ankle
        [0.0, -0.41, -0.03],  # right_ankle
        [0.0, 0.055, 0.0],  # spine3
        [0.02, -0.055, 0.125],  # left_foot (ball of the foot)
        [-0.02, -0.055, 0.125],  # right_foot
        [0.0, 0.215, -0.03],  # neck
        [0.075, 0.12, -0.01],  # left_collar
        [-0.075, 0.12, -0.01],  # right_collar
        [0.0, 0.09, 0.05],  # head
        [0.12, 0.04, -0.01],  # left_shoulder
        [-0.12, 0.04, -0.01],  # right_shoulder
        [0.26, 0.0, -0.015],  # left_elbow
        [-0.26, 0.0, -0.015],  # right_elbow
        [0.25, 0.0, 0.0],  # left_wrist
        [-0.25, 0.0, 0.0],  # right_wrist
        [0.085, -0.01, -0.01],  # left_hand
        [-0.085, -0.01, -0.01],  # right_hand
    ],
    dtype=np.float64,
)
ANKLE_HEIGHT = 0.085  # height of the ankle joint above a flat sole, metres
PELVIS_HEIGHT = -(REST_OFFSETS[LEFT_HIP, 1] + REST_OFFSETS[LEFT_KNEE, 1] + REST_OFFSETS[LEFT_ANKLE, 1]) + ANKLE_HEIGHT

# Where SMPL puts the pelvis relative to `trans` in an AMASS file (the rest pelvis joint of
# the neutral body, in the canonical frame; it is *not* rotated by the root orientation, as
# SMPL rotates the body about this joint). Used when a body model is not supplied.
SMPL_PELVIS_REST = np.array([0.0, -0.22, 0.03])


def children(j: int) -> list[int]:
    return [c for c, p in enumerate(PARENTS) if p == j]


def rest_joints(offsets: np.ndarray | None = None) -> np.ndarray:
    """Joint positions `(24, 3)` of the rest pose in the canonical frame, pelvis at 0."""
    off = REST_OFFSETS if offsets is None else np.asarray(offsets, dtype=np.float64)
    out = np.zeros((NUM_JOINTS, 3))
    for j in range(1, NUM_JOINTS):
        out[j] = out[PARENTS[j]] + off[j]
    return out


def fk_mats(rotmats: np.ndarray, trans: np.ndarray, offsets: np.ndarray | None = None):
    """Forward kinematics from local rotation matrices.

    Args:
        rotmats: `(..., 24, 3, 3)` local rotations (joint 0: root in world).
        trans: `(..., 3)` pelvis position in the world, metres.
        offsets: `(24, 3)` rest offsets in the canonical frame (default `REST_OFFSETS`).
    Returns:
        positions `(..., 24, 3)` in metres and global rotations `(..., 24, 3, 3)`.
    """
    off = REST_OFFSETS if offsets is None else np.asarray(offsets, dtype=np.float64)
    rotmats = np.asarray(rotmats, dtype=np.float64)
    glob = [rotmats[..., 0, :, :]]
    pos = [np.asarray(trans, dtype=np.float64)]
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        # p_j = p_parent + G_parent @ offset_j ; G_j = G_parent @ R_j
        pos.append(pos[p] + glob[p] @ off[j])
        glob.append(glob[p] @ rotmats[..., j, :, :])
    return np.stack(pos, axis=-2), np.stack(glob, axis=-3)


def local_rotations(glob: np.ndarray) -> np.ndarray:
    """Local rotations `(..., 24, 3, 3)` from global ones `(..., 24, 3, 3)`; inverse of `fk_mats`' second output."""
    glob = np.asarray(glob, dtype=np.float64)
    parent = glob[..., [max(p, 0) for p in PARENTS], :, :]
    # R_j = G_parent^T @ G_j ; the root's local rotation is its global one
    out = np.swapaxes(parent, -1, -2) @ glob
    out[..., 0, :, :] = glob[..., 0, :, :]
    return out


def fk(poses: np.ndarray, trans: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """Joint positions `(..., 24, 3)` from axis-angle `poses (..., 24, 3)` and `trans (..., 3)`."""
    return fk_mats(rot.aa_to_mat(poses), trans, offsets)[0]


def fk_t(rotmats, trans, offsets=None):
    """Torch twin of `fk_mats`: `(B, ..., 24, 3, 3)`, `(B, ..., 3)` -> positions `(..., 24, 3)`."""
    import torch

    off = torch.as_tensor(REST_OFFSETS if offsets is None else offsets, dtype=rotmats.dtype, device=rotmats.device)
    glob = [rotmats[..., 0, :, :]]
    pos = [trans]
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        pos.append(pos[p] + (glob[p] @ off[j].unsqueeze(-1)).squeeze(-1))
        glob.append(glob[p] @ rotmats[..., j, :, :])
    return torch.stack(pos, dim=-2)


def height_of(offsets: np.ndarray | None = None) -> float:
    """Standing height (sole to top of head) of a skeleton, metres (head top ~0.14 m above the head joint)."""
    j = rest_joints(offsets)
    return float(j[HEAD, 1] - j[LEFT_ANKLE, 1] + ANKLE_HEIGHT + 0.14)
