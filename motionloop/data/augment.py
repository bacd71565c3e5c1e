"""Augmentation of clips: left/right mirror and rotation of the heading.

Mirror: the world is reflected across its x = 0 plane (x -> -x) and the body across its
sagittal plane (canonical x = the body's left -> -x), and every left joint trades places
with its right partner (`skeleton.MIRROR`). The default skeleton is left/right symmetric,
so the FK positions of the mirrored clip are exactly the reflected positions of the
original with the joints swapped. For a local rotation `R` the mirror is `M R M` with
`M = diag(-1, 1, 1)`, which in axis-angle is `(ax, ay, az) -> (ax, -ay, -az)`; the root
gets the same map because world and body are reflected along the same axis. Only signs
and joint order change, so mirroring twice gives the clip back bit for bit.

Labels are kept: the action classes here are not side-specific ("wave" stays "wave"). A
label set with "wave left hand" would need a label map, which this module does not have.

The features of `data/features.py` do not change under `rotate_heading` (they live in
the heading frame); it matters for consumers of world coordinates (viz, physics tests).
"""

from __future__ import annotations

import numpy as np

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.motion import Motion

_AA_MIRROR = np.array([1.0, -1.0, -1.0], dtype=np.float32)  # axis-angle of M R M, M = diag(-1, 1, 1)
_WORLD_MIRROR = np.array([-1.0, 1.0, 1.0], dtype=np.float32)  # reflection across world x = 0


def mirror(m: Motion) -> Motion:
    """The clip mirrored left/right (see module docstring); label, fps, betas, source kept."""
    poses = m.poses[:, list(sk.MIRROR)] * _AA_MIRROR  # (T, 24, 3): joint k takes its partner's rotation
    return m.replace(trans=m.trans * _WORLD_MIRROR, poses=poses)


def rotate_heading(m: Motion, angle: float) -> Motion:
    """The clip rotated by `angle` radians about the world z axis through the origin.

    Both the pelvis positions and the root orientation rotate, so every FK position `p`
    becomes `Rz(angle) @ p`. Local rotations are unchanged.
    """
    rz = rot.axis_rotation("Z", float(angle))  # (3, 3)
    trans = m.trans.astype(np.float64) @ rz.T  # (T, 3): row-vector form of rz @ p
    root = rz @ rot.aa_to_mat(m.poses[:, sk.PELVIS])  # (T, 3, 3)
    poses = m.poses.copy()
    poses[:, sk.PELVIS] = rot.mat_to_aa(root)
    return m.replace(trans=trans, poses=poses)
