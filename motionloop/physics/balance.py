"""Offline balance repair of a reference: move the pelvis so the ZMP stays over the support.

A body on the ground can only push: the resultant of its contact forces acts at a point inside
the convex hull of the contact points (the zero-moment point, ZMP). From the reference's
centre of mass `c`, its acceleration and the rate of centroidal angular momentum `Ldot`, the
ZMP the reference *needs* is (floor at z = 0, gravity g):

    p_x = c_x - c_z cdd_x / (cdd_z + g) - Ldot_y / (m (cdd_z + g))
    p_y = c_y - c_z cdd_y / (cdd_z + g) + Ldot_x / (m (cdd_z + g))

Retargeted and generated clips often need a ZMP outside the feet, which no controller can
produce without an external force: the reference leans further than it could. Shifting the
pelvis horizontally by `delta` while the legs keep the feet where they are (two-bone IK) moves
the needed ZMP by about `delta` (less the legs' share of the mass, and a term in `delta`'s
acceleration, which the smoothing keeps small). We ask for the shift that brings every support
frame's ZMP inside its support polygon (shrunk by a margin), smooth it in time (a
spring-regularised least-squares fit, solved banded), apply it, and repeat a few times,
keeping the pass that leaves the ZMP least outside (no shift, if none improves on the input).
Flight frames get no target and are bridged by the smoothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.linalg import solveh_banded
from scipy.spatial import ConvexHull, QhullError

from motionloop import body as bd
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.errors import ConfigError
from motionloop.ik import LEGS, reach
from motionloop.motion import Motion
from motionloop.physics import contacts
from motionloop.physics.model import Humanoid, centroidal_state

SUPPORT_HEIGHT = 0.02  # m: body points this low can carry weight
# m: a body part (not a foot) this low is about to lean on the floor, or just left it: such
# frames keep their pelvis (a crawl's hands and knees hover a few cm between touches, and a
# feet-only ZMP target there shifted the pelvis by up to 25 cm). Below the 8.4 cm of a
# standing body's lowest capsule (the shank above the ankle).
LEANING_HEIGHT = 0.04
CARRIED_MASS = 0.75  # share of the CoM shift a pelvis shift makes when the feet stay put


@dataclass(frozen=True)
class BalanceConfig:
    """Attributes:
    iterations: repair passes (each recomputes the ZMP of the repaired clip).
    margin_m: the ZMP is kept this far inside the support polygon.
    smooth: weight of the first-difference penalty on the shift (per frame^2), larger = smoother.
    rest_weight: pull of frames that need no shift towards a zero shift.
    max_shift_m: largest pelvis shift allowed per frame.
    anchor_weight: pull towards no shift on frames where a body part other than the feet is
        on the floor (relative to a ZMP frame's weight of 1).
    amount: share of the fitted shift that is applied (0 = none, 1 = all of it).
    """

    iterations: int = 3
    margin_m: float = 0.02
    smooth: float = 20.0
    rest_weight: float = 0.05
    max_shift_m: float = 0.25
    anchor_weight: float = 1.0
    amount: float = 1.0

    def __post_init__(self) -> None:
        if (
            self.iterations < 0
            or self.margin_m < 0
            or self.smooth < 0
            or self.rest_weight <= 0
            or self.max_shift_m <= 0
            or self.anchor_weight < 0
            or not 0 <= self.amount <= 1
        ):
            raise ConfigError(f"BalanceConfig: invalid values {self}")


def zmp_and_support(
    h: Humanoid, motion: Motion
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Needed ZMP `(T, 2)` (NaN where the body is not pushing on the floor), per frame the
    support points `(S, 2)` (empty where none), whether a body part other than the feet is on
    the floor `(T,)`, the CoM height `(T,)` and `cdd_z + g` `(T,)`."""
    T, dt = motion.num_frames, 1.0 / motion.fps
    com, angmom = centroidal_state(h, motion)
    g = -float(h.model.opt.gravity[2])
    if T > 2:
        cdd = np.gradient(np.gradient(com, dt, axis=0), dt, axis=0)
        ldot = np.gradient(angmom, dt, axis=0)
    else:
        cdd, ldot = np.zeros_like(com), np.zeros_like(angmom)
    fz = cdd[:, 2] + g
    zmp = np.full((T, 2), np.nan)
    pushing = fz > 0.2 * g
    zmp[pushing, 0] = com[pushing, 0] - (com[pushing, 2] * cdd[pushing, 0] + ldot[pushing, 1] / h.mass) / fz[pushing]
    zmp[pushing, 1] = com[pushing, 1] - (com[pushing, 2] * cdd[pushing, 1] - ldot[pushing, 0] / h.mass) / fz[pushing]
    support, on_body = _support_points(h, motion)
    return zmp, support, on_body, com[:, 2], fz


def support_frames(h: Humanoid, motion: Motion) -> np.ndarray:
    """Frames `(T,)` in which some body point can carry weight (see `zmp_and_support`)."""
    support, _ = _support_points(h, motion)
    return np.array([len(s) > 0 for s in support], dtype=bool)


def _support_points(h: Humanoid, motion: Motion) -> tuple[list[np.ndarray], np.ndarray]:
    """Per frame the floor points `(S, 2)` that can carry weight (every sole corner of a
    planted foot segment, which the tracker lays flat, and any other body part on the floor),
    and whether any of them is off the feet `(T,)`."""
    off = h.spec.offsets_array()
    geoms = bd.geometry(off)
    pos, glob = motion.fk(off)
    soles = bd.sole_points(geoms, pos, glob).reshape(motion.num_frames, 4, 4, 3)
    planted = contacts.stance(soles, 1.0 / motion.fps)  # (T, 4)
    soles = soles.reshape(motion.num_frames, -1, 3).copy()
    soles[..., 2] = np.where(np.repeat(planted, 4, axis=1), 0.0, soles[..., 2])
    lows = bd.capsule_lowest_points(geoms, pos, glob)  # (T, C, 3)
    pts = np.concatenate([soles, lows], axis=1)  # (T, P, 3)
    return [p[p[:, 2] <= SUPPORT_HEIGHT, :2] for p in pts], (lows[..., 2] <= LEANING_HEIGHT).any(axis=1)


def project_to_polygon(point: np.ndarray, support: np.ndarray, margin: float) -> np.ndarray:
    """The point of the support polygon (hull of `support (S, 2)`, shrunk towards its centroid
    by `margin`) nearest to `point (2,)`."""
    centre = support.mean(axis=0)
    try:
        hull = support[ConvexHull(support).vertices] if len(support) >= 3 else support
    except QhullError:  # collinear points: the polygon is a segment
        hull = support
    span = np.linalg.norm(hull - centre, axis=1)
    shrink = np.where(span > margin, (span - margin) / np.maximum(span, 1e-9), 0.0)
    hull = centre + (hull - centre) * shrink[:, None]
    if len(hull) >= 3 and _inside(point, hull):
        return point
    best, best_d = hull[0], np.inf
    n = len(hull)
    for i in range(n if n > 2 else max(n - 1, 1)):
        a, b = hull[i], hull[(i + 1) % n]
        ab = b - a
        t = np.clip(np.dot(point - a, ab) / max(np.dot(ab, ab), 1e-12), 0.0, 1.0)
        q = a + t * ab
        dist = np.linalg.norm(point - q)
        if dist < best_d:
            best, best_d = q, dist
    return best


def _inside(point: np.ndarray, hull: np.ndarray) -> bool:
    """Whether `point` lies in the convex polygon `hull` (vertices counter-clockwise)."""
    edges = np.roll(hull, -1, axis=0) - hull
    rel = point - hull
    return bool(np.all(edges[:, 0] * rel[:, 1] - edges[:, 1] * rel[:, 0] >= -1e-12))


def _zmp_operator(height: np.ndarray, fz_over_m: np.ndarray, dt: float, carried: float) -> sparse.csr_matrix:
    """Tridiagonal matrix `A (T, T)` with `zmp shift = A @ pelvis shift` (one horizontal axis).

    zmp(c + a delta) = zmp(c) + a (delta - c_z / (cdd_z + g) * delta_dd): the shift itself and
    the pull of its acceleration; `a` = `carried`, the share of the mass that rides with the
    pelvis (the legs stay behind). Rows of the first and last frame use no acceleration term.
    """
    T = len(height)
    k = np.where(fz_over_m > 0, height / np.maximum(fz_over_m, 1e-6), 0.0) / dt**2
    k[[0, -1]] = 0.0
    # row t: delta_t - k_t (delta_{t-1} - 2 delta_t + delta_{t+1})
    A = sparse.diags([-k[1:], 1.0 + 2.0 * k, -k[:-1]], [-1, 0, 1], shape=(T, T), format="csr")
    return carried * A


def _fit_shift(
    A: sparse.csr_matrix, target: np.ndarray, weight: np.ndarray, anchor: np.ndarray, smooth: float
) -> np.ndarray:
    """argmin_x sum_t w_t ((A x)_t - target_t)^2 + smooth sum_t (x_{t+1} - x_t)^2
    + sum_t (anchor_t + eps) x_t^2, per column; `A (T, T)` tridiagonal, so the normal
    equations are pentadiagonal and solved banded."""
    T = len(target)
    D = sparse.diags([-np.ones(T - 1), np.ones(T - 1)], [0, 1], shape=(T - 1, T))
    W = sparse.diags(weight)
    lhs = (A.T @ W @ A + smooth * (D.T @ D) + sparse.diags(anchor + 1e-6)).todia()
    bands = np.zeros((3, T))  # upper form for solveh_banded: row 2 the diagonal
    for k in range(3):
        bands[2 - k, k:] = lhs.diagonal(k)
    return solveh_banded(bands, A.T @ (weight[:, None] * target))


def balance_repair(h: Humanoid, motion: Motion, cfg: BalanceConfig = BalanceConfig()) -> tuple[Motion, dict]:
    """The clip with its pelvis shifted so the needed ZMP stays over the support.

    Returns the repaired clip and `{zmp_out_before_m, zmp_out_after_m, max_shift_m}`: mean
    distance (over support frames) of the needed ZMP outside the support, before and in the
    returned clip (the best pass), and the largest shift.
    """
    off = h.spec.offsets_array()
    out = motion
    total = np.zeros((motion.num_frames, 2))
    before = after = 0.0
    for it in range(cfg.iterations + 1):
        zmp, support, on_body, height, fz_over_m = zmp_and_support(h, out)
        need = np.zeros((motion.num_frames, 2))
        weight = np.zeros(motion.num_frames)
        # a hand or knee on the floor rides with the pelvis, so shifting the pelvis moves that
        # support along with the ZMP: frames leaning on the body keep their pelvis where it is
        anchor = np.where(on_body, cfg.anchor_weight, 0.0)
        outside = []
        for t, (p, s) in enumerate(zip(zmp, support)):
            if len(s) == 0 or np.isnan(p).any() or on_body[t]:
                continue
            q = project_to_polygon(p, s, cfg.margin_m)
            outside.append(float(np.linalg.norm(q - p)))
            need[t] = q - p
            weight[t] = 1.0 if outside[-1] > 0 else cfg.rest_weight
        err = float(np.mean(outside)) if outside else 0.0
        if it == 0:
            before = after = err
        if err < after or it == 0:
            after, best, best_out = err, total, out
        if it == cfg.iterations or err < 1e-4:
            break
        # ask the ZMP to move by `need` on top of what the current shift already does
        A = _zmp_operator(height, fz_over_m, 1.0 / motion.fps, CARRIED_MASS)
        total = np.clip(_fit_shift(A, A @ total + need, weight, anchor, cfg.smooth), -cfg.max_shift_m, cfg.max_shift_m)
        out = _shift_pelvis(motion, total, off)
    # the pass that left the ZMP least outside (no shift at all if none helped): a few frames
    # far outside, such as a generated clip's last frames falling off one foot, can ask for a
    # shift that the smoothing spreads over the whole clip and that leaves it worse
    total, out = best, best_out
    if cfg.amount < 1.0:
        total = cfg.amount * total
        out = _shift_pelvis(motion, total, off)
    return out, {
        "zmp_out_before_m": before,
        "zmp_out_after_m": after,
        "max_shift_m": float(np.linalg.norm(total, axis=1).max()) if len(total) else 0.0,
    }


def _shift_pelvis(motion: Motion, shift_xy: np.ndarray, offsets: np.ndarray) -> Motion:
    """Move the pelvis by `shift_xy (T, 2)`; both ankles stay where they were (leg IK)."""
    pos, glob = motion.fk(offsets)
    shift = np.zeros((motion.num_frames, 3))
    shift[:, :2] = shift_xy
    new_pos = pos + shift[:, None]  # everything rides with the pelvis ...
    for leg in LEGS:
        # ... except the legs, re-solved so each ankle keeps its old place
        glob = reach(glob, new_pos, leg, pos[:, leg[2]], offsets)
        new_pos, _ = sk.fk_mats(sk.local_rotations(glob), motion.trans + shift, offsets)
    poses = rot.mat_to_aa(sk.local_rotations(glob))
    return motion.replace(trans=motion.trans + shift, poses=poses)
