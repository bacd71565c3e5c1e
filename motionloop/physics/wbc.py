"""Whole-body controller: one quadratic program per control step.

Decision variables: generalized accelerations `qdd (nv)`, non-negative friction-pyramid edge
forces `lam (4 P)` at the P body points that may push on the floor, and the root residual
wrench `r (6)`, bounded by `residual_max_bw` (0 = no residual: the body has only its contacts).
The free joint's rows of the equations of motion are a hard constraint,

    M_6 qdd + h_6 = B lam + r          (h = bias - passive forces, B: root rows of J^T E),

and hinge torques follow from the other rows. The cost (tasks.py) has two parts:
- motion tasks on `qdd`: joints and root orientation, flat stance feet, swing feet, unloaded
  stance feet held, no-slip of contact points: `1/2 qdd^T Q qdd - q^T qdd`;
- the centroidal task on the external wrench about the CoM: `|C lam + C_r r - w_c|^2`, and the
  residual's price `r^T D r`.
For fixed `(lam, r)` the best `qdd` is closed form: with `x0 = Q^-1 q`, `S = M_6 Q^-1 M_6^T`
and `w = M_6 x0 + h_6`, `qdd = x0 + Q^-1 M_6^T S^-1 (B lam + r - w)`, at an extra motion cost
`1/2 |B lam + r - w|^2_{S^-1}`. What remains is a small QP in `(lam, r)` with bounds, solved by
daqp: the contact forces (and residual) that best give the motions their root wrench and the
body its momentum. The friction coefficient the QP assumes is below the simulated floor's, so
planned forces stay inside the real cone.
"""

from __future__ import annotations

from dataclasses import dataclass

import daqp
import mujoco
import numpy as np
from scipy.linalg.lapack import dpotrf, dpotrs

from motionloop import skeleton as sk
from motionloop.physics.config import TrackerConfig
from motionloop.physics.feasibility import TORQUE_ARM, pyramid
from motionloop.physics.model import ROOT_DOFS, Humanoid
from motionloop.physics.reference import Reference
from motionloop.physics.tasks import (
    FOOT_JOINTS,
    CentroidalTask,
    Contacts,
    Context,
    FlatFootTask,
    HoldFootTask,
    JointTask,
    NoSlipTask,
    Row,
    SwingFootTask,
    skew,
)

_INF = 1e30
_EYE6 = np.eye(6)
_EMPTY = np.zeros(0)


@dataclass
class ControlOutput:
    """One control step's command: `ctrl (nu,)` torques, `residual (6,)` root wrench."""

    ctrl: np.ndarray
    residual: np.ndarray
    contact_points: int
    ok: bool


@dataclass
class QPResult:
    """Solution of `solve_qp`: accelerations `qdd (n,)`, edge forces `lam (L,)`, residual
    `r (6,)`, and whether the solver succeeded."""

    qdd: np.ndarray
    lam: np.ndarray
    r: np.ndarray
    ok: bool


def solve_qp(
    Q: np.ndarray,
    q: np.ndarray,
    M6: np.ndarray,
    h6: np.ndarray,
    B: np.ndarray,
    C: np.ndarray,
    Cr: np.ndarray,
    wc: np.ndarray,
    Wc: np.ndarray,
    price: np.ndarray,
    cap: np.ndarray,
    eps: np.ndarray,
) -> QPResult:
    """Minimise over `x (n,)`, `lam (L,) >= 0` and `-cap <= r (6,) <= cap`

        1/2 x^T Q x - q^T x + 1/2 |C lam + Cr r - wc|^2_diag(Wc) + 1/2 r^T diag(price) r + 1/2 lam^T diag(eps) lam
        subject to  M6 x + h6 = B lam + r

    (`Q (n, n)` positive definite, `M6 (6, n)` full rank, `B, C (6, L)`, `Cr (6, 6)`, `wc, Wc,
    price, cap (6,)`, `eps (L,)` > 0). `x` in closed form, `(lam, r)` by daqp (module docstring).
    """
    L = B.shape[1]
    # LAPACK directly: the scipy.linalg wrappers' checks cost more than these small solves
    chol, info = dpotrf(Q, lower=0, clean=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"the motion cost is not positive definite (dpotrf info {info})")
    X, _ = dpotrs(chol, np.column_stack([q, M6.T]), lower=0)
    x0, QiM6t = X[:, 0], X[:, 1:]  # tracking optimum (n,), Q^-1 M6^T (n, 6)
    Si = np.linalg.inv(M6 @ QiM6t)  # S^-1 (6, 6)
    w = M6 @ x0 + h6  # root wrench the tracking optimum asks for
    free = cap > 0  # residual rows that exist
    if free.any():
        # root wrench and CoM wrench of (lam, r): (6, L + nr)
        G, Cz = np.concatenate((B, _EYE6[:, free]), axis=1), np.concatenate((C, Cr[:, free]), axis=1)
        r_price, r_cap = price[free], cap[free]
    else:  # the residual-free controllers: no residual columns at all
        G, Cz = B, C
        r_price = r_cap = _EMPTY
    n = L + len(r_cap)
    GtSi, CztW = G.T @ Si, Cz.T * Wc
    H = GtSi @ G + CztW @ Cz
    H.flat[:: n + 1] += np.concatenate((eps, r_price))  # the diagonal
    f = -(GtSi @ w) - CztW @ wc
    lower = np.concatenate((np.zeros(L), -r_cap))
    upper = np.concatenate((np.full(L, _INF), r_cap))
    ok = True
    if n:
        z, _, exitflag, _ = daqp.solve(H, f, np.empty((0, n)), upper, lower, np.zeros(n, dtype=np.int32))
        ok = exitflag == 1
        if not ok:
            z = np.zeros(n)
        z = np.minimum(np.maximum(z, lower), upper)
    else:
        z = _EMPTY
    lam = z[:L]
    r = np.zeros(6)
    r[free] = z[L:]
    qdd = x0 + QiM6t @ (Si @ (B @ lam + r - w))
    return QPResult(qdd, lam, r, ok)


class WholeBodyController:
    """Computes torques and the root residual that best track a reference from a sim state."""

    def __init__(self, h: Humanoid, cfg: TrackerConfig):
        self.h, self.cfg = h, cfg
        m = h.model
        self.nv = m.nv
        self._M = np.zeros((self.nv, self.nv))
        self._foot_bodies = [int(h.body_id[j]) for j in FOOT_JOINTS]
        self._edges = pyramid(cfg.friction)
        # the sole-corner spheres of each foot segment, Reference.stance order (the only
        # zero-mass sphere geoms)
        is_sole = (m.geom_type == mujoco.mjtGeom.mjGEOM_SPHERE) & np.isin(m.geom_bodyid, self._foot_bodies)
        self.sole_geoms = [np.flatnonzero(is_sole & (m.geom_bodyid == b)) for b in self._foot_bodies]
        self._geom_segment = np.full(m.ngeom, -1)
        for seg, gs in enumerate(self.sole_geoms):
            self._geom_segment[gs] = seg
        # every sole corner in one array, segment by segment: its segment, body and radius
        self._soles = np.concatenate(self.sole_geoms)
        self._sole_segment = self._geom_segment[self._soles]
        self._sole_body = m.geom_bodyid[self._soles]
        self._sole_radius = m.geom_size[self._soles, 0]
        self._pelvis = int(h.body_id[sk.PELVIS])
        self.joint_task = JointTask(h, cfg)
        self.motion_tasks = [
            FlatFootTask(h),
            SwingFootTask(h),
            HoldFootTask(h, self.sole_geoms, self._foot_bodies),
            NoSlipTask(),
        ]
        self.centroidal = CentroidalTask(h)
        # residual price and cap per root row: a torque of (weight * TORQUE_ARM) counts like a force of weight
        arm = np.array([1.0, 1.0, 1.0, TORQUE_ARM, TORQUE_ARM, TORQUE_ARM])
        self._res_price = cfg.w_residual / (h.weight * arm) ** 2
        self._res_cap = cfg.residual_max_bw * h.weight * arm
        self._tiles: dict[int, np.ndarray] = {}

    def _edge_forces(self, points: int) -> np.ndarray:
        """The force rows of the CoM wrench of every edge force at `points` points: `(3, 4 P)`."""
        if points not in self._tiles:
            self._tiles[points] = np.tile(self._edges.T, (1, points))
        return self._tiles[points]

    # -------------------------------------------------------------------- contacts
    def contacts(self, d: mujoco.MjData, planted: np.ndarray) -> Contacts:
        """The points that may push on the floor now (`planted (4,)`: segments the reference plants).

        A foot segment touching the floor anywhere offers all its sole corners within `sole_gap`
        of the floor: a sole resting on one edge flattens as soon as the ankle presses it down,
        and a controller that only knows the touching edge never does that. A planted segment
        offers its corners even before it touches, when they are within `plan_contact_height`.
        Other body parts offer their actual contact points.
        """
        m, floor, cfg = self.h.model, self.h.floor_geom, self.cfg
        n = d.ncon
        touching: set[int] = set()
        body_pts = None
        if n:
            con = d.contact
            geom = con.geom[:n]
            near = ((geom[:, 0] == floor) | (geom[:, 1] == floor)) & (con.dist[:n] <= cfg.contact_margin)
            other = np.where(geom[:, 0] == floor, geom[:, 1], geom[:, 0])[near]
            seg = self._geom_segment[other]
            off_feet = seg < 0
            touching = set(seg[~off_feet].tolist())
            if off_feet.any():
                body_pts, body_ids = con.pos[:n][near][off_feet], m.geom_bodyid[other[off_feet]]
        # how high a segment's offered corners may be
        planted_gap = cfg.plan_contact_height if cfg.plan_contact_height > 0 else -np.inf
        gap = np.array(
            [
                cfg.sole_gap if seg in touching else planted_gap if on else -np.inf
                for seg, on in enumerate(planted.tolist())
            ]
        )
        bottom = d.geom_xpos[self._soles]
        bottom[:, 2] -= self._sole_radius
        keep = bottom[:, 2] <= gap[self._sole_segment]
        sole_segs = self._sole_segment[keep]
        swing = ~planted[sole_segs]
        if body_pts is None:
            return Contacts(bottom[keep], self._sole_body[keep], sole_segs, touching, swing)
        return Contacts(
            np.concatenate([body_pts, bottom[keep]]),
            np.concatenate([body_ids, self._sole_body[keep]]),
            np.concatenate([np.full(len(body_pts), -1), sole_segs]),
            touching,
            np.concatenate([np.zeros(len(body_pts), dtype=bool), swing]),
        )

    def _step_shift(self, ctx: Context, com: np.ndarray, com_vel: np.ndarray) -> np.ndarray:
        """Where swing feet should land off their reference spot: on the capture point's error
        (Pratt et al. 2006), scaled by `cp_gain`; stepping onto the divergent part of the CoM
        error is what stops a walking body from falling further."""
        if self.cfg.cp_gain <= 0:
            return np.zeros(3)
        ref, k = ctx.ref, ctx.k
        omega = np.sqrt(-self.h.model.opt.gravity[2] / max(ref.com[k, 2], 0.3))
        err = (com + com_vel / omega) - (ref.com[k] + ref.com_vel[k] / omega)
        err[2] = 0.0
        return np.clip(self.cfg.cp_gain * err, -0.3, 0.3)

    # -------------------------------------------------------------------- the QP
    def compute(self, d: mujoco.MjData, ref: Reference, k: int) -> ControlOutput:
        """Command for the state in `d` (kinematics, inertia, contacts and bias forces of the
        current state computed, e.g. by mj_forward or mj_step1) at reference step `k`."""
        cfg, h, m = self.cfg, self.h, self.h.model
        nv = self.nv
        contacts = self.contacts(d, ref.stance[k])
        ctx = Context(h, d, ref, k, cfg, contacts)
        wrench, com, com_vel = self.centroidal.wrench(ctx)
        ctx.step_shift = self._step_shift(ctx, com, com_vel)
        M = self._M
        mujoco.mj_fullM(m, d, M)
        hvec = d.qfrc_bias - d.qfrc_passive

        w_diag, a_diag = self.joint_task.diagonal(ctx)
        rows: list[Row] = [r for task in self.motion_tasks for r in task.rows(ctx)]
        if rows:
            R = np.concatenate([r.J for r in rows])
            wr = np.concatenate([r.weight for r in rows])
            RW = R.T * wr
            Q = RW @ R
            q = RW @ np.concatenate([r.acc for r in rows])
        else:
            Q, q = np.zeros((nv, nv)), np.zeros(nv)
        Q.flat[:: nv + 1] += w_diag  # the diagonal
        q += w_diag * a_diag

        P = len(contacts)
        E = self._edges
        Jc = ctx.contact_jacs()  # (3P, nv)
        # B: root generalized force of each edge force (the free joint's rows of J^T E^T)
        B = np.einsum("pcr,ec->rpe", Jc[:, :ROOT_DOFS].reshape(P, 3, ROOT_DOFS), E).reshape(ROOT_DOFS, 4 * P)
        # C: force and moment about the CoM of each edge force; Cr: of the residual (a world
        # force at the pelvis origin, a torque in the pelvis frame: the free joint's dofs)
        arms = contacts.points - com
        C = np.concatenate([self._edge_forces(P), (skew(arms) @ E.T).transpose(1, 0, 2).reshape(3, 4 * P)])
        Cr = _EYE6.copy()
        Cr[3:, :3] = skew((d.xpos[self._pelvis] - com)[None])[0]
        Cr[3:, 3:] = d.xmat[self._pelvis].reshape(3, 3)
        eps = np.full(4 * P, cfg.w_force / h.weight**2)
        eps[np.repeat(contacts.swing, 4)] *= cfg.swing_force_scale
        sol = solve_qp(
            Q,
            q,
            M[:ROOT_DOFS],
            hvec[:ROOT_DOFS],
            B,
            C,
            Cr,
            wrench.target,
            wrench.weight,
            self._res_price,
            self._res_cap,
            eps,
        )
        f_pts = (sol.lam.reshape(P, 4) @ E).ravel()  # world contact forces (3P,)
        gen = M @ sol.qdd + hvec - Jc.T @ f_pts  # generalized force the actuators and residual must give
        tau = np.clip(gen[h.act_dof], -h.torque_limit, h.torque_limit)
        return ControlOutput(ctrl=tau, residual=sol.r.copy(), contact_points=P, ok=sol.ok)
