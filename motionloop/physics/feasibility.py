"""`feasibility_bw`: how much external "hand of god" force a kinematic clip needs.

Newton-Euler for a floating body: the generalized force a clip demands, `M(q) qdd + c(q, qd)`,
must be produced by joint torques on the hinges, but on the 6 root dofs only by contact forces
`sum_i J_i^T f_i`. We take the clip's own accelerations (finite differences), let every body
point that is on the floor (within `CONTACT_HEIGHT`) push with any force inside a friction
pyramid, pick the non-negative combination that best explains the root demand (NNLS), and
report what is left over: the minimum root residual force, as a fraction of body weight.
0 means some contact forces explain the motion; a floating or teleporting clip scores high.
No simulation is run; a 10 s clip takes well under a second.

`mj_inverse` is called with contacts disabled: with MuJoCo's own contact model it would
return forces from the (possibly penetrating or floating) reference's contact distances,
which for kinematic clips are nonsense.
"""

from __future__ import annotations

import mujoco
import numpy as np
from scipy.optimize import nnls

from motionloop import body as bd
from motionloop.motion import Motion
from motionloop.physics.model import ROOT_DOFS, Humanoid, default_humanoid

CONTACT_HEIGHT = 0.03  # m: a body point this close to the floor may push
MAX_DEPTH = 0.05  # m: ... and one this far inside it still may (deeper is not a contact)
FRICTION = 1.0
TORQUE_ARM = 1.0  # m: a residual torque of (m g * 1 m) weighs like a force of m g


def pyramid(mu: float = FRICTION) -> np.ndarray:
    """The 4 edge directions `(4, 3)` of a linearised friction cone with normal +z."""
    return np.array([[mu, 0, 1], [-mu, 0, 1], [0, mu, 1], [0, -mu, 1]], dtype=np.float64)


class CandidateLayout:
    """The body points `candidate_points` looks at, in joint frames: the sole corners of the
    four foot boxes (body.sole_points order) and the capsules' end points and radii."""

    def __init__(self, h: Humanoid):
        self.geoms = bd.geometry(h.spec.offsets_array())
        boxes = [g for g in self.geoms if isinstance(g, bd.Box)]
        caps = [g for g in self.geoms if isinstance(g, bd.Capsule)]
        self.sole_joint = np.repeat([g.joint for g in boxes], 4)  # (16,)
        self.sole_local = np.concatenate([g.sole() for g in boxes])  # (16, 3)
        self.ids = np.concatenate([h.body_id[self.sole_joint], h.body_id[[g.joint for g in caps]]])

    def points(self, pos: np.ndarray, glob: np.ndarray) -> np.ndarray:
        """World points `(16 + C, 3)` for joint positions `pos (24, 3)` and rotations `glob (24, 3, 3)`."""
        sj = self.sole_joint
        soles = pos[sj] + np.einsum("pij,pj->pi", glob[sj], self.sole_local)
        return np.concatenate([soles, bd.capsule_lowest_points(self.geoms, pos, glob)])


def candidate_points(
    h: Humanoid, qpos: np.ndarray, layout: CandidateLayout | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Body points that may touch the floor at `qpos`: `(points (P, 3), body ids (P,))`.

    Sole corners of both feet plus the lowest point of every capsule, kept when within
    `CONTACT_HEIGHT` above or `MAX_DEPTH` below the floor. Uses (and overwrites) `h.data`
    kinematics. `layout`: `CandidateLayout(h)`, built once by a caller that asks for many frames.
    """
    layout = layout or CandidateLayout(h)
    d = h.data
    d.qpos[:] = qpos
    mujoco.mj_kinematics(h.model, d)
    pts = layout.points(d.xpos[h.body_id], d.xmat[h.body_id].reshape(-1, 3, 3))
    keep = (pts[:, 2] <= CONTACT_HEIGHT) & (pts[:, 2] >= -MAX_DEPTH)
    return pts[keep], layout.ids[keep]


def root_demand(h: Humanoid, qpos: np.ndarray, qvel: np.ndarray, qacc: np.ndarray) -> np.ndarray:
    """Generalized force `(nv,)` the state demands, `M qacc + bias - passive`, contacts off."""
    m, d = h.model, h.data
    saved = m.opt.disableflags
    m.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT
    try:
        d.qpos[:], d.qvel[:], d.qacc[:] = qpos, qvel, qacc
        mujoco.mj_inverse(m, d)
        return d.qfrc_inverse.copy()
    finally:
        m.opt.disableflags = saved


def contact_basis(h: Humanoid, points: np.ndarray, bodies: np.ndarray, mu: float = FRICTION) -> np.ndarray:
    """Root rows of `J^T` for pyramid edge forces at `points`: `(6, 4P)`.

    Column `4i + k` is the root generalized force of a unit force along pyramid edge k at point
    i. Needs `h.data` kinematics at the current qpos.
    """
    edges = pyramid(mu)
    jacp = np.zeros((3, h.nv))
    cols = []
    for p, b in zip(points, bodies):
        mujoco.mj_jac(h.model, h.data, jacp, None, p, int(b))
        cols.append(jacp[:, :ROOT_DOFS].T @ edges.T)  # (6, 4)
    return np.concatenate(cols, axis=1) if cols else np.zeros((ROOT_DOFS, 0))


def min_root_residual(demand_root: np.ndarray, basis: np.ndarray, weight: float) -> np.ndarray:
    """Root residual `(6,)` left after the best non-negative edge forces (NNLS).

    Rows are scaled so a torque of `weight * TORQUE_ARM` counts like a force of `weight`.
    """
    scale = np.array([1, 1, 1, 1 / TORQUE_ARM, 1 / TORQUE_ARM, 1 / TORQUE_ARM]) / weight
    if basis.shape[1] == 0:
        return demand_root.copy()
    lam, _ = nnls(basis * scale[:, None], demand_root * scale, maxiter=200)
    return demand_root - basis @ lam


def feasibility_profile(motion: Motion, h: Humanoid | None = None) -> np.ndarray:
    """Per-frame minimum root residual force `(T,)` as a fraction of body weight."""
    h = h or default_humanoid()
    dt = 1.0 / motion.fps
    qpos = h.qpos_from_motion(motion)
    qvel = h.qvel_from_qpos(qpos, dt)
    qacc = np.gradient(qvel, dt, axis=0) if len(qpos) > 2 else np.zeros_like(qvel)
    out = np.zeros(len(qpos))
    layout = CandidateLayout(h)
    for t in range(len(qpos)):
        demand = root_demand(h, qpos[t], qvel[t], qacc[t])[:ROOT_DOFS]
        pts, ids = candidate_points(h, qpos[t], layout)
        res = min_root_residual(demand, contact_basis(h, pts, ids), h.weight)
        out[t] = np.linalg.norm(res[:3]) / h.weight
    return out


def feasibility_bw(motion: Motion, h: Humanoid | None = None) -> float:
    """Mean over frames of the minimum root residual force, fraction of body weight."""
    return float(feasibility_profile(motion, h).mean())
