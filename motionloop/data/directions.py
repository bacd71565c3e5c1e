"""Bone-direction solve: global SMPL-24 rotations whose bones point along a source's bones.

Input: target positions of SMPL joints (the source's joints, scaled to the default skeleton's
leg length, z-up world, metres), keyed by SMPL joint index, for the joints the source has.
Output: global rotations `(T, 24, 3, 3)` of the default skeleton and the pelvis position.

Rules, per body part (every joint's rotation takes its rest bone, `skeleton.REST_OFFSETS`,
onto the target bone exactly; a "secondary" axis only fixes the twist about that bone):
- Pelvis: the hips line (right hip -> left hip) exactly, and the line from the hips' midpoint
  to the lowest mapped trunk joint (spine1, spine2, spine3, neck, head) as secondary. The
  pelvis is placed so that the hips' midpoint lands on the source's; the source's own pelvis
  joint is not used, as rigs put it at different heights (DeepMimic's root is level with the
  hips, SMPL's pelvis 9 cm above them).
- Spine: missing trunk joints are placed on the straight line between their mapped neighbours
  (our pelvis at the bottom) at our rest skeleton's length fractions, so the bend between two
  mapped joints is spread evenly. Their twist follows the lateral axis blended by height from
  the hips line (pelvis) to the chest's (spine3). spine3 points at the neck with the chest's
  lateral axis as secondary: the collars' line, else the shoulders' line. The neck points at
  the head with spine3's twist; without a head, neck and head keep the chest's orientation.
- Arms: the collar (mapped or not: rigs put it anywhere from the spine to the shoulder) sits
  where our rest skeleton has it on the solved spine3 and turns by the smallest rotation that
  points it at the source shoulder. Upper arm and forearm take their twist from the elbow's
  hinge: the normal of the shoulder-elbow-wrist plane when the elbow is bent (blended in from
  5 to 25 degrees), else the smallest twist from the collar; the forearm shares the upper
  arm's hinge axis, so the elbow is a pure hinge. A missing hand continues the forearm
  (identity wrist). A source without arms leaves them in the rest (T) pose.
- Legs: thigh and shank likewise, the knee's hinge from the hip-knee-ankle plane when bent,
  else perpendicular to the leg and the foot's forward direction (the ankle->ball direction,
  or the pelvis' forward when the source has no ball joint). The retargeter then re-solves
  the legs by two-bone IK (ik.py) so that our ankle lands exactly on the source ankle,
  keeping that knee plane.
- Feet (`solve_feet`): with a ball joint, the ankle->ball bone points along the source's, with
  the foot's up axis as close to world up as that allows (no roll: the sole is level
  sideways); a foot pointing nearly straight up or down takes its roll from the knee's hinge
  instead, and so does a foot whose level roll would turn it against the knee's hinge (toes
  pointing back behind a flexed knee), which otherwise flips the foot between frames. Without
  a ball joint the foot is flat (sole level) and faces the shank's horizontal forward
  direction. The toes (the "foot" joint's segment) continue the foot (identity).
"""

from __future__ import annotations

import itertools

import numpy as np

from motionloop import rotations as rot
from motionloop import skeleton as sk

_EPS = 1e-9
_UP = np.array([0.0, 0.0, 1.0])
_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])
TRUNK: tuple[int, ...] = (sk.SPINE1, sk.SPINE2, sk.SPINE3, sk.NECK, sk.HEAD)
_REST = sk.rest_joints()
_MIN_LINE_M = 0.05  # shortest collar/shoulder line (scaled source) that defines the chest's lateral axis
_OFF = sk.REST_OFFSETS
# Limb bend (sine of the angle between the two bones) over which a hinge switches from the
# fallback twist to the three-point plane: 5 to 25 degrees.
_BEND_LO, _BEND_HI = np.sin(np.deg2rad(5.0)), np.sin(np.deg2rad(25.0))
# Hinge axes in the rest frame, oriented as upper x lower bone for a flexed joint: the knee
# flexes the shank backwards about +x, the elbow the forearm forwards about -y (left) / +y (right).
_KNEE_HINGE = _X
# Cosine between the flat foot's and the knee-rolled foot's lateral axes over which the flat
# roll fades in (solve_feet): none at 90 degrees apart or more, fully within 60 degrees.
_FLAT_AGREE_LO, _FLAT_AGREE_HI = 0.0, 0.5
_ELBOW_HINGE = {"left": -_Y, "right": _Y}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), _EPS)


def _apply(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """`m (..., 3, 3) @ v (..., 3)` for batches of vectors."""
    return np.einsum("...ij,...j->...i", m, v)


def _blend(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Unit vectors `(T, 3)`: `a` where `w (T,)` is 1, `b` where 0, normalised mix in between."""
    w = np.asarray(w)[..., None]
    return _unit(w * _unit(a) + (1.0 - w) * _unit(b))


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _min_twist(parent: np.ndarray, rest_bone: np.ndarray, bone: np.ndarray) -> np.ndarray:
    """Global rotation `(T, 3, 3)`: the parent's, turned by the smallest rotation that points `rest_bone` along `bone`."""
    return rot.rotation_between(_apply(parent, rest_bone), bone) @ parent


def _hinge(upper: np.ndarray, lower: np.ndarray | None, fallback: np.ndarray) -> np.ndarray:
    """Hinge axis `(T, 3)` of a limb: the upper x lower normal when bent, else `fallback`."""
    if lower is None:
        return _unit(fallback)
    n = np.cross(upper, lower)
    bend = np.linalg.norm(n, axis=-1) / np.maximum(
        np.linalg.norm(upper, axis=-1) * np.linalg.norm(lower, axis=-1), _EPS
    )
    return _blend(n, fallback, _ramp(bend, _BEND_LO, _BEND_HI))


def solve_root(q: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pelvis global rotation `(T, 3, 3)` and position `(T, 3)` from the hips and the lowest trunk joint."""
    first = next(j for j in TRUNK if j in q)
    rest_mid = 0.5 * (_REST[sk.LEFT_HIP] + _REST[sk.RIGHT_HIP])
    mid = 0.5 * (q[sk.LEFT_HIP] + q[sk.RIGHT_HIP])
    g0 = rot.align_two(
        _REST[sk.LEFT_HIP] - _REST[sk.RIGHT_HIP],
        _REST[first] - rest_mid,
        q[sk.LEFT_HIP] - q[sk.RIGHT_HIP],
        q[first] - mid,
    )
    return g0, mid - _apply(g0, rest_mid)


def _trunk_points(q: dict[int, np.ndarray], pelvis: np.ndarray) -> dict[int, np.ndarray]:
    """Target positions of pelvis and trunk joints: mapped ones, and missing ones between mapped neighbours."""
    chain = (sk.PELVIS, *TRUNK)
    arc = np.concatenate([[0.0], np.cumsum([np.linalg.norm(_OFF[j]) for j in TRUNK])])
    pts = {sk.PELVIS: pelvis, **{j: q[j] for j in TRUNK if j in q}}
    anchors = [i for i, j in enumerate(chain) if j in pts]
    for lo, hi in itertools.pairwise(anchors):
        for i in range(lo + 1, hi):
            t = (arc[i] - arc[lo]) / (arc[hi] - arc[lo])
            pts[chain[i]] = (1.0 - t) * pts[chain[lo]] + t * pts[chain[hi]]
    return pts


def solve_directions(q: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations `(T, 24, 3, 3)` and pelvis positions `(T, 3)` from target positions.

    Args:
        q: SMPL joint index -> `(T, 3)` target position (metres, z up, already scaled to the
            default skeleton). Must hold both hips, knees and ankles and the neck or the head.
    The ankle and toe rotations are left for `solve_feet`, after the leg IK.
    """
    T = len(q[sk.LEFT_HIP])
    glob = np.broadcast_to(np.eye(3), (T, sk.NUM_JOINTS, 3, 3)).copy()
    g0, trans = solve_root(q)
    glob[:, sk.PELVIS] = g0
    pts = _trunk_points(q, trans)

    # the chest's lateral axis: the collars' line (rigid on spine3), else the shoulders' line,
    # else the pelvis' (a source without arms)
    lat_pelvis = _apply(g0, _X)
    lat_chest = lat_pelvis
    for a, b in ((sk.LEFT_COLLAR, sk.RIGHT_COLLAR), (sk.LEFT_SHOULDER, sk.RIGHT_SHOULDER)):
        # some rigs (CMU) start both collars at one point on the spine: no line there
        if a in q and b in q and np.median(np.linalg.norm(q[a] - q[b], axis=-1)) > _MIN_LINE_M:
            lat_chest = q[a] - q[b]
            break
    height = {j: np.linalg.norm(_REST[j] - _REST[sk.PELVIS]) for j in (sk.SPINE1, sk.SPINE2, sk.SPINE3)}
    for j, child in ((sk.SPINE1, sk.SPINE2), (sk.SPINE2, sk.SPINE3)):
        lateral = _blend(lat_chest, lat_pelvis, np.full(T, height[j] / height[sk.SPINE3]))
        glob[:, j] = rot.align_two(_OFF[child], _X, pts[child] - pts[j], lateral)
    g3 = rot.align_two(_OFF[sk.NECK], _X, pts[sk.NECK] - pts[sk.SPINE3], lat_chest)
    glob[:, sk.SPINE3] = g3
    glob[:, sk.NECK] = (
        rot.align_two(_OFF[sk.HEAD], _X, pts[sk.HEAD] - pts[sk.NECK], _apply(g3, _X)) if sk.HEAD in pts else g3
    )
    glob[:, sk.HEAD] = glob[:, sk.NECK]

    for side in ("left", "right"):
        _solve_arm(glob, q, pts[sk.SPINE3], side)
        _solve_leg(glob, q, side)
    return glob, trans


def _solve_arm(glob: np.ndarray, q: dict[int, np.ndarray], spine3: np.ndarray, side: str) -> None:
    collar, shoulder, elbow, wrist, hand = (
        sk.JOINTS.index(f"{side}_{n}") for n in ("collar", "shoulder", "elbow", "wrist", "hand")
    )
    g3 = glob[:, sk.SPINE3]
    if shoulder not in q:
        for j in (collar, shoulder, elbow, wrist, hand):
            glob[:, j] = g3
        return
    # our collar hangs where our rest skeleton has it on spine3; rigs disagree on where theirs is
    collar_at = spine3 + _apply(g3, _OFF[collar])
    g_collar = _min_twist(g3, _OFF[shoulder], q[shoulder] - collar_at)
    glob[:, collar] = g_collar
    hinge_rest = _ELBOW_HINGE[side]
    if elbow not in q:
        for j in (shoulder, elbow, wrist, hand):
            glob[:, j] = g_collar
        return
    upper = q[elbow] - q[shoulder]
    lower = q[wrist] - q[elbow] if wrist in q else None
    fallback = _apply(_min_twist(g_collar, _OFF[elbow], upper), hinge_rest)
    hinge = _hinge(upper, lower, fallback)
    g_sh = rot.align_two(_OFF[elbow], hinge_rest, upper, hinge)
    g_el = rot.align_two(_OFF[wrist], hinge_rest, lower, hinge) if lower is not None else g_sh
    g_wr = _min_twist(g_el, _OFF[hand], q[hand] - q[wrist]) if hand in q and wrist in q else g_el
    glob[:, shoulder], glob[:, elbow], glob[:, wrist], glob[:, hand] = g_sh, g_el, g_wr, g_wr


def _horizontal(v: np.ndarray) -> np.ndarray:
    return v * np.array([1.0, 1.0, 0.0])


def _solve_leg(glob: np.ndarray, q: dict[int, np.ndarray], side: str) -> None:
    hip, knee, ankle, ball = (sk.JOINTS.index(f"{side}_{n}") for n in ("hip", "knee", "ankle", "foot"))
    g0 = glob[:, sk.PELVIS]
    thigh, shank = q[knee] - q[hip], q[ankle] - q[knee]
    # straight-leg hinge: perpendicular to the leg and the foot's (else the pelvis') forward
    pelvis_hinge = _apply(_min_twist(g0, _OFF[knee], thigh), _KNEE_HINGE)
    if ball in q:
        leg = q[ankle] - q[hip]
        fwd = _horizontal(q[ball] - q[ankle])
        foot_hinge = np.cross(fwd, leg)
        strength = np.linalg.norm(foot_hinge, axis=-1) / np.maximum(
            np.linalg.norm(fwd, axis=-1) * np.linalg.norm(leg, axis=-1), _EPS
        )
        fallback = _blend(foot_hinge, pelvis_hinge, _ramp(strength, 0.2, 0.5))
    else:
        fallback = pelvis_hinge
    hinge = _hinge(thigh, shank, fallback)
    glob[:, hip] = rot.align_two(_OFF[knee], _KNEE_HINGE, thigh, hinge)
    glob[:, knee] = rot.align_two(_OFF[ankle], _KNEE_HINGE, shank, hinge)


def solve_feet(glob: np.ndarray, q: dict[int, np.ndarray]) -> None:
    """Set the ankle and toe rotations in `glob (T, 24, 3, 3)` in place (after the leg IK)."""
    for side in ("left", "right"):
        knee, ankle, ball = (sk.JOINTS.index(f"{side}_{n}") for n in ("knee", "ankle", "foot"))
        g_knee = glob[:, knee]
        if ball in q:
            d = q[ball] - q[ankle]
            flat = rot.align_two(_OFF[ball], _Y, d, _UP)
            rolled = rot.align_two(_OFF[ball], _KNEE_HINGE, d, _apply(g_knee, _KNEE_HINGE))
            level = np.linalg.norm(_horizontal(d), axis=-1) / np.maximum(np.linalg.norm(d, axis=-1), _EPS)
            # "flat" rolls the foot so its sole faces down; with the toes pointing back (a flexed
            # knee, the foot stretched behind) that is nearly half a turn against the knee-based
            # roll, and a blend of two rotations half a turn apart flips between frames: fade
            # the flat roll out as its lateral axis turns against the knee-based one
            agree = np.sum(flat[..., :, 0] * rolled[..., :, 0], axis=-1)
            w = _ramp(level, 0.2, 0.5) * _ramp(agree, _FLAT_AGREE_LO, _FLAT_AGREE_HI)
            g = rot.quat_to_mat(rot.quat_slerp(rot.mat_to_quat(rolled), rot.mat_to_quat(flat), w))
        else:
            shank_fwd = _horizontal(_apply(g_knee, _Z))
            pelvis_fwd = _horizontal(_apply(glob[:, sk.PELVIS], _Z))
            fwd = _blend(shank_fwd, pelvis_fwd, _ramp(np.linalg.norm(shank_fwd, axis=-1), 0.2, 0.5))
            g = np.stack([np.cross(_UP, fwd), np.broadcast_to(_UP, fwd.shape), fwd], axis=-1)
        glob[:, ankle] = g
        glob[:, ball] = g
