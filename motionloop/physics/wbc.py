"""Whole-body controller: one quadratic program per control step.

Decision variables `x = [tau (nu), r (6), lam (4 P)]`: hinge torques in actuator order, the
root residual wrench (generalized force on the free joint: world force, body-frame torque),
and non-negative friction-pyramid edge forces at the P body points touching the floor.
Equations of motion make the accelerations linear in x:

    M qdd = S^T tau + S_r^T r + sum_i J_i^T E lam_i - h        (h = bias - passive forces)
    qdd   = G x + g0,   G = M^-1 B,   g0 = -M^-1 h

and centroidal dynamics make the CoM acceleration linear in the external forces only:

    m (cdd - g) = sum_i E lam_i + r_lin.

Weighted least-squares tasks (joint and root-orientation PD accelerations, CoM PD
acceleration, no-slip of stance points, residual penalty) and simple bounds (torque limits,
lam >= 0, residual budget) give a box-constrained QP, solved with daqp in about a millisecond.
"""
from __future__ import annotations

from dataclasses import dataclass

import daqp
import mujoco
import numpy as np
from scipy.linalg import cho_factor, cho_solve

from motionloop import skeleton as sk
from motionloop.physics.config import TrackerConfig
from motionloop.physics.feasibility import pyramid
from motionloop.physics.model import ROOT_DOFS, Humanoid
from motionloop.physics.reference import Reference


@dataclass
class ControlOutput:
    """One control step's command: `ctrl (nu,)` torques, `residual (6,)` root wrench."""

    ctrl: np.ndarray
    residual: np.ndarray
    contact_points: int
    ok: bool


class WholeBodyController:
    """Computes torques and the root residual that best track a reference from a sim state."""

    def __init__(self, h: Humanoid, cfg: TrackerConfig):
        self.h, self.cfg = h, cfg
        m = h.model
        self.nu, self.nv = m.nu, m.nv
        self._M = np.zeros((self.nv, self.nv))
        self._jacp = np.zeros((3, self.nv))
        self._jacdot = np.zeros((3, self.nv))
        self._edges = pyramid(cfg.friction)
        self._pelvis = int(h.body_id[0])
        # sole-sphere geoms (and every other body geom) can touch; the floor is geom 0's partner
        self._body_geoms = np.array([g for g in range(m.ngeom) if m.geom_bodyid[g] != 0 and m.geom_contype[g]])
        hinge = np.zeros(self.nv, dtype=bool)
        hinge[ROOT_DOFS:] = True
        self._hinge = hinge
        self._joint_w = self._joint_weights()

    def _joint_weights(self) -> np.ndarray:
        w = np.full(self.nv, self.cfg.w_joint)
        h = self.h
        for j in sk.LEGS:
            w[h.hinge_dof[j]] = self.cfg.w_joint * self.cfg.leg_weight_scale
        return w

    # -------------------------------------------------------------------- contacts
    def contact_points(self, d: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """World points `(P, 3)` and body ids `(P,)` of body geoms touching the floor now."""
        pts, bodies = [], []
        for i in range(d.ncon):
            c = d.contact[i]
            g = c.geom1 if c.geom2 == self.h.floor_geom else c.geom2
            if c.geom1 != self.h.floor_geom and c.geom2 != self.h.floor_geom:
                continue
            if c.dist > self.cfg.contact_margin:
                continue
            pts.append(c.pos.copy())
            bodies.append(self.h.model.geom_bodyid[g])
        if not pts:
            return np.zeros((0, 3)), np.zeros(0, dtype=int)
        return np.array(pts), np.array(bodies)

    # -------------------------------------------------------------------- the QP
    def compute(self, d: mujoco.MjData, ref: Reference, k: int) -> ControlOutput:
        """Command for the state in `d` (after mj_forward) at reference step `k`."""
        cfg, h, m = self.cfg, self.h, self.h.model
        nu, nv = self.nu, self.nv
        pts, bodies = self.contact_points(d)
        P = len(pts)
        nx = nu + ROOT_DOFS + 4 * P

        # B maps x to generalized force: columns for torques, residual, edge forces
        B = np.zeros((nv, nx))
        B[h.act_dof, np.arange(nu)] = 1.0
        B[np.arange(ROOT_DOFS), nu + np.arange(ROOT_DOFS)] = 1.0
        Jc = np.zeros((3 * P, nv))
        Jdot_qd = np.zeros(3 * P)
        for i, (p, b) in enumerate(zip(pts, bodies)):
            mujoco.mj_jac(m, d, self._jacp, None, p, int(b))
            Jc[3 * i : 3 * i + 3] = self._jacp
            B[:, nu + ROOT_DOFS + 4 * i : nu + ROOT_DOFS + 4 * i + 4] = self._jacp.T @ self._edges.T
        # M^-1 B and M^-1 h through MuJoCo's sparse factorisation (mj_solveM solves row-wise)
        G = np.zeros((nx, nv))
        mujoco.mj_solveM(m, d, G, np.ascontiguousarray(B.T))
        G = G.T  # (nv, nx)
        hvec = d.qfrc_bias - d.qfrc_passive
        g0 = np.zeros((1, nv))
        mujoco.mj_solveM(m, d, g0, -hvec[None])
        g0 = g0[0]

        # -------- tasks: rows A x ~ b with weights w
        rows_A, rows_b, rows_w = [], [], []
        ref_q, ref_v, ref_a = ref.qpos[k], ref.qvel[k], ref.qacc[k]
        qerr = np.zeros(nv)
        mujoco.mj_differentiatePos(m, qerr, 1.0, d.qpos, ref_q)  # ref - current, in velocity space
        verr = ref_v - d.qvel
        qdd_des = ref_a + cfg.kp * qerr + cfg.kd * verr
        qdd_des[0:3] = 0.0  # root translation is driven through the CoM task
        w = self._joint_w.copy()
        w[0:3] = 0.0
        w[3:6] = cfg.w_root_rot
        qdd_des[3:6] = ref_a[3:6] + cfg.kp_root * qerr[3:6] + cfg.kd_root * verr[3:6]
        rows_A.append(G)
        rows_b.append(qdd_des - g0)
        rows_w.append(w)

        # CoM: m (cdd - g) = sum E lam + r_lin
        com = d.subtree_com[self._pelvis]
        jcom = np.zeros((3, nv))
        mujoco.mj_jacSubtreeCom(m, d, jcom, self._pelvis)
        com_vel = jcom @ d.qvel
        cdd_des = ref.com_acc[k] + cfg.kp_com * (ref.com[k] - com) + cfg.kd_com * (ref.com_vel[k] - com_vel)
        A_com = np.zeros((3, nx))
        A_com[:, nu : nu + 3] = np.eye(3)
        for i in range(P):
            A_com[:, nu + ROOT_DOFS + 4 * i : nu + ROOT_DOFS + 4 * i + 4] = self._edges.T
        A_com /= h.mass
        rows_A.append(A_com)
        rows_b.append(cdd_des - m.opt.gravity)
        rows_w.append(np.full(3, cfg.w_com))

        # stance points do not slide: point acceleration = -k v (so they come to rest)
        if P:
            v_pts = Jc @ d.qvel
            rows_A.append(Jc @ G)
            rows_b.append(-cfg.kd_slip * v_pts - Jc @ g0 - Jdot_qd)
            rows_w.append(np.full(3 * P, cfg.w_slip))

        # regularisation: residual (the strength knob), torques, contact forces
        reg = np.zeros(nx)
        reg[:nu] = cfg.w_torque / np.maximum(h.torque_limit, 1.0) ** 2
        reg[nu : nu + 3] = cfg.w_residual / h.weight**2
        reg[nu + 3 : nu + 6] = cfg.w_residual / h.weight**2
        reg[nu + ROOT_DOFS :] = cfg.w_force / h.weight**2

        A = np.concatenate(rows_A)
        b = np.concatenate(rows_b)
        wv = np.concatenate(rows_w)
        Aw = A * wv[:, None]
        H = A.T @ Aw + np.diag(reg)
        f = -Aw.T @ b

        # Only the edge forces are bounded (lam >= 0). Minimise over the unbounded torques and
        # residual in closed form (Schur complement), leaving a small QP in lam for daqp.
        nz = nu + ROOT_DOFS
        chol = cho_factor(H[:nz, :nz])
        if P:
            Hzl = H[:nz, nz:]
            Y = cho_solve(chol, np.concatenate([Hzl, f[:nz, None]], axis=1))  # Hzz^-1 [Hzl, fz]
            H_red = H[nz:, nz:] - Hzl.T @ Y[:, :-1]
            f_red = f[nz:] - Hzl.T @ Y[:, -1]
            nl = nx - nz
            lam, _, exitflag, _ = daqp.solve(0.5 * (H_red + H_red.T), f_red, np.zeros((0, nl)), np.full(nl, np.inf),
                                             np.zeros(nl), np.zeros(nl, dtype=np.int32))
            ok = exitflag == 1
            if not ok:
                lam = np.zeros(nl)
            z = -(Y[:, -1] + Y[:, :-1] @ lam)
        else:
            ok = True
            z = -cho_solve(chol, f[:nz])
        tau = np.clip(z[:nu], -h.torque_limit, h.torque_limit)
        cap = cfg.residual_max_bw * h.weight
        res = z[nu:nz].copy()
        # the cap bounds the force's magnitude (and the torque's, at TORQUE_ARM), keeping its direction
        for sl in (slice(0, 3), slice(3, 6)):
            norm = np.linalg.norm(res[sl])
            if norm > cap:
                res[sl] *= cap / norm
        return ControlOutput(ctrl=tau, residual=res, contact_points=P, ok=ok)
