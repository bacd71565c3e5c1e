"""Every rotation conversion of motionloop, in one place.

Conventions (the whole package follows them):
- A rotation matrix `R` acts on column vectors: `v_parent = R @ v_child`.
- Axis-angle `a` (3,): unit axis times angle in radians, angle in [0, pi] after conversion.
- Quaternions are `wxyz`, unit norm, Hamilton product; `q` and `-q` are the same rotation and
  conversions return the one with `w >= 0`.
- 6D (Zhou et al. 2019): the first two *columns* of `R`, flattened as `[R[:,0], R[:,1]]`.
- Euler angles (BVH): `order` names the axes of *intrinsic* rotations applied left to right,
  so order "ZXY" with angles (a, b, c) is `R = Rz(a) @ Rx(b) @ Ry(c)`.

Glossary used in function names: aa = axis-angle, quat = quaternion, mat = matrix, 6d.
All functions take arrays with any leading batch shape `(..., k)` and never modify inputs.
numpy functions carry no suffix; the torch twin the model needs (`sixd_to_mat_t`) ends in `_t`.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-8


# --------------------------------------------------------------------------------------- numpy
def aa_to_quat(aa: np.ndarray) -> np.ndarray:
    """Axis-angle `(..., 3)` to quaternion wxyz `(..., 4)`."""
    aa = np.asarray(aa, dtype=np.float64)
    angle = np.linalg.norm(aa, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(x/2)/x is smooth at 0: use its Taylor series below 1e-4 to keep the gradient-free
    # conversion exact for tiny angles.
    small = angle < 1e-4
    scale = np.where(small, 0.5 - angle**2 / 48.0, np.sin(half) / np.where(small, 1.0, angle))
    q = np.concatenate([np.cos(half), aa * scale], axis=-1)
    return np.where(q[..., :1] < 0, -q, q)  # angles past pi: the same rotation with w >= 0


def quat_to_aa(q: np.ndarray) -> np.ndarray:
    """Quaternion wxyz `(..., 4)` to axis-angle `(..., 3)` with angle in [0, pi]."""
    q = quat_normalize(q)
    q = np.where(q[..., :1] < 0, -q, q)
    xyz = q[..., 1:]
    s = np.linalg.norm(xyz, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    small = s < 1e-6
    # angle/s -> 2/w as s -> 0
    scale = np.where(small, 2.0 / np.maximum(q[..., :1], _EPS), angle / np.where(small, 1.0, s))
    return xyz * scale


def quat_normalize(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    return q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), _EPS)


def quat_to_mat(q: np.ndarray) -> np.ndarray:
    """Quaternion wxyz `(..., 4)` to matrix `(..., 3, 3)`."""
    w, x, y, z = np.moveaxis(quat_normalize(q), -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def mat_to_quat(m: np.ndarray) -> np.ndarray:
    """Matrix `(..., 3, 3)` to quaternion wxyz `(..., 4)`, `w >= 0`.

    Shepperd's method: pick the largest of the four squared components to divide by, so the
    result is accurate for every rotation, including angles near pi.
    """
    m = np.asarray(m, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # 4*q_i^2 for i = w, x, y, z
    sq = np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    best = np.argmax(sq, axis=-1)
    r = 0.5 * np.sqrt(np.maximum(np.take_along_axis(sq, best[..., None], -1)[..., 0], _EPS))
    d = 0.25 / r  # = 1 / (4 q_best)
    m21_12, m02_20, m10_01 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    m10p01, m02p20, m21p12 = m[..., 1, 0] + m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 2, 1] + m[..., 1, 2]
    cands = np.stack(
        [
            np.stack([r, m21_12 * d, m02_20 * d, m10_01 * d], -1),
            np.stack([m21_12 * d, r, m10p01 * d, m02p20 * d], -1),
            np.stack([m02_20 * d, m10p01 * d, r, m21p12 * d], -1),
            np.stack([m10_01 * d, m02p20 * d, m21p12 * d, r], -1),
        ],
        axis=-2,
    )
    q = np.take_along_axis(cands, best[..., None, None], -2)[..., 0, :]
    q = np.where(q[..., :1] < 0, -q, q)
    return quat_normalize(q)


def aa_to_mat(aa: np.ndarray) -> np.ndarray:
    """Axis-angle `(..., 3)` to matrix `(..., 3, 3)` (Rodrigues)."""
    return quat_to_mat(aa_to_quat(aa))


def mat_to_aa(m: np.ndarray) -> np.ndarray:
    """Matrix `(..., 3, 3)` to axis-angle `(..., 3)`."""
    return quat_to_aa(mat_to_quat(m))


def mat_to_6d(m: np.ndarray) -> np.ndarray:
    """Matrix `(..., 3, 3)` to 6D `(..., 6)`: the first two columns."""
    m = np.asarray(m)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def sixd_to_mat(d6: np.ndarray) -> np.ndarray:
    """6D `(..., 6)` to the nearest rotation matrix `(..., 3, 3)` by Gram-Schmidt."""
    d6 = np.asarray(d6, dtype=np.float64)
    a, b = d6[..., :3], d6[..., 3:]
    c0 = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), _EPS)
    b = b - np.sum(c0 * b, axis=-1, keepdims=True) * c0
    c1 = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), _EPS)
    c2 = np.cross(c0, c1)
    return np.stack([c0, c1, c2], axis=-1)


def axis_rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """Matrices `(..., 3, 3)` of rotations by `angle` (radians) about 'X', 'Y' or 'Z'."""
    angle = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    rows = {
        "X": [[one, zero, zero], [zero, c, -s], [zero, s, c]],
        "Y": [[c, zero, s], [zero, one, zero], [-s, zero, c]],
        "Z": [[c, -s, zero], [s, c, zero], [zero, zero, one]],
    }[axis.upper()]
    return np.stack([np.stack(r, -1) for r in rows], -2)


def euler_to_mat(angles: np.ndarray, order: str, degrees: bool = True) -> np.ndarray:
    """Intrinsic Euler angles `(..., 3)` in `order` (e.g. "ZXY") to matrices `(..., 3, 3)`."""
    angles = np.asarray(angles, dtype=np.float64)
    if degrees:
        angles = np.deg2rad(angles)
    out = axis_rotation(order[0], angles[..., 0])
    for i in (1, 2):
        out = out @ axis_rotation(order[i], angles[..., i])
    return out


def mat_to_euler(m: np.ndarray, order: str, degrees: bool = True) -> np.ndarray:
    """Inverse of `euler_to_mat` for the six Tait-Bryan orders (e.g. "ZXY", "XYZ"); the middle
    angle is in [-90, 90] degrees. At gimbal lock (middle angle +-90) the third angle is 0 and
    the first carries the whole turn about the locked axis."""
    m = np.asarray(m, dtype=np.float64)
    if len(order) != 3 or sorted(order.upper()) != ["X", "Y", "Z"]:
        raise ValueError(f"mat_to_euler: order {order!r} is not one of the six Tait-Bryan orders (XYZ, ZXY, ...)")
    idx = ["XYZ".index(a) for a in order.upper()]
    i, j, k = idx
    # parity of the permutation (i, j, k) of (0, 1, 2) fixes the signs below
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    b = np.arcsin(np.clip(sign * m[..., i, k], -1.0, 1.0))
    a = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    c = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    # gimbal lock: cos(b) ~ 0 leaves a and c as atan2(~0, ~0). With c = 0, R_i(a) = m R_j(b)^T
    lock = np.hypot(m[..., j, k], m[..., k, k]) < 1e-9
    if np.any(lock):
        n = m @ np.swapaxes(axis_rotation(order[1], b), -1, -2)
        p, q = (i + 1) % 3, (i + 2) % 3
        a = np.where(lock, np.arctan2(n[..., q, p], n[..., p, p]), a)
        c = np.where(lock, 0.0, c)
    out = np.stack([a, b, c], axis=-1)
    return np.rad2deg(out) if degrees else out


def rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction `u` to direction `v`, as matrices `(..., 3, 3)`.

    For opposite vectors the axis is any vector perpendicular to `u`.
    """
    u, v = np.broadcast_arrays(np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64))
    u = u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), _EPS)
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), _EPS)
    # q = (1 + u.v, u x v) (normalised by quat_to_mat); 1 + u.v = |u + v|^2 / 2 keeps its
    # precision for nearly opposite vectors, where 1 + u.v would cancel
    w = 0.5 * np.sum((u + v) ** 2, axis=-1, keepdims=True)
    xyz = np.cross(u, v)
    # opposite directions: rotate by pi about an axis perpendicular to u
    perp = np.cross(u, np.array([1.0, 0.0, 0.0]))
    perp = np.where(np.linalg.norm(perp, axis=-1, keepdims=True) < 1e-6, np.cross(u, np.array([0.0, 1.0, 0.0])), perp)
    opposite = w < 1e-14  # |q|^2 = 2w: below this its direction is rounding noise
    q = np.where(opposite, np.concatenate([np.zeros_like(w), perp], -1), np.concatenate([w, xyz], -1))
    return quat_to_mat(q)


def align_two(u_from: np.ndarray, v_from: np.ndarray, u_to: np.ndarray, v_to: np.ndarray) -> np.ndarray:
    """The rotation `R (..., 3, 3)` with `R @ u_from` along `u_to`, and `R @ v_from` as close to `v_to` as that allows.

    A primary + secondary axis alignment: `u` is matched exactly, `v` only through its part
    perpendicular to `u` (it fixes the twist about `u`). Where a `v` is (anti)parallel to its `u`
    the twist is undefined and the smallest rotation taking `u_from` to `u_to` is returned.
    Inputs are direction vectors `(..., 3)` of any length; they broadcast against each other.
    """
    u_from, v_from, u_to, v_to = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (u_from, v_from, u_to, v_to))
    )

    def frame(u, v):
        # orthonormal columns [u, v without its u part, u x v]; also how much of v was left
        e0 = u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), _EPS)
        w = v - np.sum(v * e0, axis=-1, keepdims=True) * e0
        n = np.linalg.norm(w, axis=-1, keepdims=True)
        e1 = w / np.maximum(n, _EPS)
        return np.stack([e0, e1, np.cross(e0, e1)], axis=-1), n[..., 0] / np.maximum(np.linalg.norm(v, axis=-1), _EPS)

    f_from, s_from = frame(u_from, v_from)
    f_to, s_to = frame(u_to, v_to)
    degenerate = (np.minimum(s_from, s_to) < 1e-6)[..., None, None]
    return np.where(degenerate, rotation_between(u_from, u_to), f_to @ np.swapaxes(f_from, -1, -2))


def quat_slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Spherical linear interpolation from `q0` (t=0) to `q1` (t=1) along the short arc.

    `t` broadcasts against the batch shape of the quaternions (`(...,)`).
    """
    q0, q1 = quat_normalize(q0), quat_normalize(q1)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    near = sin_theta < 1e-6
    safe = np.where(near, 1.0, sin_theta)
    w0 = np.where(near, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(near, t, np.sin(t * theta) / safe)
    return quat_normalize(w0 * q0 + w1 * q1)


def yaw_of(m: np.ndarray) -> np.ndarray:
    """Heading angle (radians, about world z) of the body forward axis `R @ e_z` (SMPL: +z fwd)."""
    fwd = np.asarray(m)[..., :, 2]
    return np.arctan2(fwd[..., 1], fwd[..., 0])


# --------------------------------------------------------------------------------------- torch


def sixd_to_mat_t(d6):
    """Torch twin of `sixd_to_mat`: `(..., 6)` -> `(..., 3, 3)`."""
    import torch

    a, b = d6[..., :3], d6[..., 3:]
    c0 = a / a.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    b = b - (c0 * b).sum(-1, keepdim=True) * c0
    c1 = b / b.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    c2 = torch.linalg.cross(c0, c1, dim=-1)
    return torch.stack([c0, c1, c2], dim=-1)
