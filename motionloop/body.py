"""The capsule body: the geometry and mass of the humanoid, shared by physics, metrics and viz.

Each SMPL joint owns one rigid segment (the bone to its child, as in SMPL's skinning).
Segments are capsules, except the feet, which are boxes with flat soles so that a foot can
stand: the ankle segment is the rear foot (heel to ball), the foot segment the toes.
Geometry is given in the joint's canonical frame (x left, y up, z forward; see skeleton.py)
and scales with the skeleton's rest offsets. Masses follow de Leva's (1996) segment
fractions of a 70 kg body.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from motionloop import skeleton as sk

BODY_MASS = 70.0  # kg, default body

# Share of body mass per joint segment (de Leva 1996; the trunk split across pelvis and spine).
MASS_FRACTION = {
    "pelvis": 0.1117,
    "spine1": 0.08,
    "spine2": 0.0833,
    "spine3": 0.1296,
    "neck": 0.015,
    "head": 0.0544,
    "collar": 0.015,
    "shoulder": 0.0271,
    "elbow": 0.0162,
    "wrist": 0.0045,
    "hand": 0.0016,
    "hip": 0.1416,
    "knee": 0.0433,
    "ankle": 0.011,
    "foot": 0.0027,
}


@dataclass(frozen=True)
class Capsule:
    """A capsule on `joint`'s segment: endpoints `a`, `b` (joint frame, metres), `radius` (m)."""

    joint: int
    a: tuple[float, float, float]
    b: tuple[float, float, float]
    radius: float


@dataclass(frozen=True)
class Box:
    """A box on `joint`'s segment: `center` and `half` sizes in the joint frame, metres."""

    joint: int
    center: tuple[float, float, float]
    half: tuple[float, float, float]

    def corners(self) -> np.ndarray:
        """The 8 corners `(8, 3)` in the joint frame."""
        s = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
        return np.asarray(self.center) + s * np.asarray(self.half)

    def sole(self) -> np.ndarray:
        """The 4 bottom (-y) corners `(4, 3)` in the joint frame: where a standing foot touches."""
        c = self.corners()
        return c[c[:, 1] < self.center[1]]


def segment_mass(joint: int, total: float = BODY_MASS) -> float:
    name = sk.JOINTS[joint].removeprefix("left_").removeprefix("right_")
    return MASS_FRACTION[name] * total


def _lerp(a, b, t):
    return tuple(float(x) for x in (1 - t) * np.asarray(a) + t * np.asarray(b))


def geometry(offsets: np.ndarray | None = None) -> list[Capsule | Box]:
    """The geoms of the body with rest offsets `offsets (24, 3)` (default skeleton if None).

    Limb capsules follow the bones; trunk and head sizes scale with standing height. Built
    once per skeleton (metrics call this for every frame).
    """
    off = sk.REST_OFFSETS if offsets is None else np.asarray(offsets, dtype=np.float64)
    return list(_geometry(off.tobytes(), off.shape))


@functools.lru_cache(maxsize=64)
def _geometry(key: bytes, shape: tuple[int, ...]) -> tuple[Capsule | Box, ...]:
    off = np.frombuffer(key, dtype=np.float64).reshape(shape)
    s = sk.height_of(off) / sk.height_of()
    geoms: list[Capsule | Box] = [
        Capsule(sk.PELVIS, (-0.065 * s, -0.045 * s, -0.01 * s), (0.065 * s, -0.045 * s, -0.01 * s), 0.085 * s),
        Capsule(sk.SPINE1, (-0.065 * s, 0.06 * s, 0.0), (0.065 * s, 0.06 * s, 0.0), 0.085 * s),
        Capsule(sk.SPINE2, (-0.07 * s, 0.03 * s, 0.01 * s), (0.07 * s, 0.03 * s, 0.01 * s), 0.09 * s),
        Capsule(sk.SPINE3, (-0.08 * s, 0.12 * s, -0.015 * s), (0.08 * s, 0.12 * s, -0.015 * s), 0.095 * s),
        Capsule(sk.NECK, (0.0, 0.01 * s, 0.0), _lerp((0, 0, 0), off[sk.HEAD], 0.8), 0.05 * s),
        Capsule(sk.HEAD, (0.0, 0.07 * s, 0.02 * s), (0.0, 0.07 * s, 0.02 * s), 0.1 * s),
    ]
    for side in ("left", "right"):
        j = {
            n: sk.JOINTS.index(f"{side}_{n}")
            for n in ("collar", "shoulder", "elbow", "wrist", "hand", "hip", "knee", "ankle", "foot")
        }
        mx = 1.0 if side == "left" else -1.0
        geoms += [
            Capsule(
                j["collar"],
                _lerp((0, 0, 0), off[j["shoulder"]], 0.15),
                _lerp((0, 0, 0), off[j["shoulder"]], 0.75),
                0.045 * s,
            ),
            Capsule(
                j["shoulder"], _lerp((0, 0, 0), off[j["elbow"]], 0.1), _lerp((0, 0, 0), off[j["elbow"]], 0.9), 0.045 * s
            ),
            Capsule(
                j["elbow"], _lerp((0, 0, 0), off[j["wrist"]], 0.08), _lerp((0, 0, 0), off[j["wrist"]], 0.92), 0.035 * s
            ),
            Capsule(
                j["wrist"], _lerp((0, 0, 0), off[j["hand"]], 0.25), _lerp((0, 0, 0), off[j["hand"]], 0.9), 0.03 * s
            ),
            Capsule(j["hand"], (0.0, 0.0, 0.0), (mx * 0.05 * s, 0.0, 0.0), 0.022 * s),
            Capsule(j["hip"], _lerp((0, 0, 0), off[j["knee"]], 0.08), _lerp((0, 0, 0), off[j["knee"]], 0.92), 0.07 * s),
            Capsule(
                j["knee"], _lerp((0, 0, 0), off[j["ankle"]], 0.06), _lerp((0, 0, 0), off[j["ankle"]], 0.88), 0.05 * s
            ),
        ]
        ball = off[j["foot"]]
        ankle_h = sk.ANKLE_HEIGHT * s
        heel_z = -0.06 * s
        top_y = -0.02 * s
        # rear foot: heel to the ball joint, sole at -ankle height
        geoms.append(
            Box(
                j["ankle"],
                (float(ball[0]) / 2, (top_y - ankle_h) / 2, (heel_z + float(ball[2])) / 2),
                (0.045 * s, (top_y + ankle_h) / 2, (float(ball[2]) - heel_z) / 2),
            )
        )
        # toes: from the ball joint forward, sole level with the rear foot's
        toe_sole = -(ankle_h + float(ball[1]))
        geoms.append(Box(j["foot"], (0.0, toe_sole / 2, 0.035 * s), (0.045 * s, -toe_sole / 2, 0.035 * s)))
    return tuple(geoms)


def capsule_lowest_points(geoms: list[Capsule | Box], positions: np.ndarray, glob: np.ndarray) -> np.ndarray:
    """World position `(..., C, 3)` of the lowest surface point of each capsule in `geoms`
    (in order; boxes are skipped): its lower end point, lowered by the radius.

    Args:
        positions: `(..., 24, 3)` joint positions; glob: `(..., 24, 3, 3)` global rotations.
    """
    caps = [g for g in geoms if isinstance(g, Capsule)]
    joint = [g.joint for g in caps]
    p, r = positions[..., joint, :], glob[..., joint, :, :]  # (..., C, 3), (..., C, 3, 3)
    a = p + (r @ np.array([g.a for g in caps], dtype=np.float64)[:, :, None])[..., 0]
    b = p + (r @ np.array([g.b for g in caps], dtype=np.float64)[:, :, None])[..., 0]
    low = np.where((a[..., 2] <= b[..., 2])[..., None], a, b)
    low[..., 2] -= np.array([g.radius for g in caps])
    return low


def world_extremes(geoms: list[Capsule | Box], positions: np.ndarray, glob: np.ndarray) -> np.ndarray:
    """Lowest surface height of each geom `(..., G)` in the world, metres.

    Args:
        positions: `(..., 24, 3)` joint positions; glob: `(..., 24, 3, 3)` global rotations.
    """
    out = []
    for g in geoms:
        p, r = positions[..., g.joint, :], glob[..., g.joint, :, :]
        if isinstance(g, Capsule):
            za = p[..., 2] + r[..., 2, :] @ np.asarray(g.a)
            zb = p[..., 2] + r[..., 2, :] @ np.asarray(g.b)
            out.append(np.minimum(za, zb) - g.radius)
        else:
            z = p[..., None, 2] + np.einsum("...k,ck->...c", r[..., 2, :], g.corners())  # (..., 8)
            out.append(z.min(-1))
    return np.stack(out, axis=-1)


def sole_points(geoms: list[Capsule | Box], positions: np.ndarray, glob: np.ndarray) -> np.ndarray:
    """World positions `(..., 2, 8, 3)` of the 8 sole corners of each foot (left, right).

    Rear-foot corners come first, then the toes'.
    """
    feet = []
    for ankle, foot in ((sk.LEFT_ANKLE, sk.LEFT_FOOT), (sk.RIGHT_ANKLE, sk.RIGHT_FOOT)):
        pts = []
        for g in geoms:
            if isinstance(g, Box) and g.joint in (ankle, foot):
                local = g.sole()  # (4, 3)
                # x_w = p + R @ x_local  for each corner c: (..., 3) + (..., 3, 3) @ (3,)
                pts.append(
                    positions[..., None, g.joint, :] + np.einsum("...ij,cj->...ci", glob[..., g.joint, :, :], local)
                )
        feet.append(np.concatenate(pts, axis=-2))
    return np.stack(feet, axis=-3)
