"""What the pictures mark on the body: feet in contact, parts under the floor. Pure functions.

The video, the stick-figure fallback and the HTML viewer all colour the body from these
flags, so a clip reads the same everywhere and the same as its physics metrics
(physics/metrics.py): a foot segment is in contact when its lowest sole corner is within
`CONTACT_TOL` of the floor (z = 0); a body part is tinted when its lowest surface point is
more than `UNDER_FLOOR_DEPTH` below the floor (a sole resting a millimetre deep is contact,
not penetration worth showing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionloop import body as bd
from motionloop import skeleton as sk
from motionloop.motion import Motion
from motionloop.physics.metrics import CONTACT_TOL

UNDER_FLOOR_DEPTH = CONTACT_TOL  # m below z = 0 before a part is tinted

# The foot segments in the order of `metrics.foot_segments` (left rear, left toes, right rear, right toes).
FOOT_JOINTS: tuple[int, ...] = (sk.LEFT_ANKLE, sk.LEFT_FOOT, sk.RIGHT_ANKLE, sk.RIGHT_FOOT)

# RGBA colours shared by every renderer.
SKIN = (0.80, 0.60, 0.45, 1.0)
FOOT = (0.30, 0.30, 0.35, 1.0)
CONTACT = (0.15, 0.80, 0.30, 1.0)
UNDER = (0.90, 0.12, 0.12, 1.0)


def foot_contacts(sole_z: np.ndarray, tol: float = CONTACT_TOL) -> np.ndarray:
    """Contact flags `(T, 4)` of the foot segments from their sole-corner heights `(T, 4, C)` in m."""
    return np.asarray(sole_z).min(axis=-1) <= tol


def under_floor(lowest: np.ndarray, depth: float = UNDER_FLOOR_DEPTH) -> np.ndarray:
    """Flags `(..., G)` of geoms whose lowest point `(..., G)` (m) is deeper than `depth` below z = 0."""
    return np.asarray(lowest) < -depth


@dataclass(frozen=True)
class BodyMarks:
    """Per-frame marks of one clip.

    Attributes:
        contact: `(T, 4)` bool, foot segments (`FOOT_JOINTS` order) touching the floor.
        under: `(T, G)` bool, geoms of `body.geometry()` (same order) below the floor.
    """

    contact: np.ndarray
    under: np.ndarray

    def geom_colours(self, geoms: list[bd.Capsule | bd.Box]) -> np.ndarray:
        """RGBA `(T, G, 4)` of each geom: red under the floor, else green feet in contact, else base."""
        T = len(self.contact)
        rgba = np.empty((T, len(geoms), 4))
        for g, geom in enumerate(geoms):
            rgba[:, g] = FOOT if isinstance(geom, bd.Box) else SKIN
            if geom.joint in FOOT_JOINTS:
                rgba[self.contact[:, FOOT_JOINTS.index(geom.joint)], g] = CONTACT
        rgba[self.under] = UNDER
        return rgba


def body_marks(motion: Motion, offsets: np.ndarray | None = None) -> BodyMarks:
    """Contact and under-floor flags of every frame of `motion` (capsule body of `offsets`)."""
    pos, glob = motion.fk(offsets)
    geoms = bd.geometry(offsets)
    soles = bd.sole_points(geoms, pos, glob)  # (T, 2, 8, 3): per foot, rear corners then toes
    sole_z = soles[..., 2].reshape(len(pos), 4, 4)  # (T, 4 segments, 4 corners)
    return BodyMarks(contact=foot_contacts(sole_z), under=under_floor(bd.world_extremes(geoms, pos, glob)))
