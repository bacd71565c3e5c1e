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
from motionloop.physics.feasibility import TORQUE_ARM, pyramid
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
        self._jacp = np.zeros((3, self.nv))
        self._jacr = np.zeros((3, self.nv))
        self._jcom = np.zeros((3, self.nv))
        # foot segments in Reference.stance order, and the hinge dofs that tilt each one
        self._foot_bodies = [int(h.body_id[j]) for j in (sk.LEFT_ANKLE, sk.LEFT_FOOT, sk.RIGHT_ANKLE, sk.RIGHT_FOOT)]
        self._foot_dofs = [h.hinge_dof[j] for j in (sk.LEFT_ANKLE, sk.LEFT_FOOT, sk.RIGHT_ANKLE, sk.RIGHT_FOOT)]
        self._edges = pyramid(cfg.friction)
        # the sole-corner spheres of each foot segment (the only zero-mass sphere geoms)
        self._sole_geoms = [
            [g for g in range(m.ngeom) if m.geom_bodyid[g] == b and m.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE]
            for b in self._foot_bodies
        ]
        self._sole_segment = {g: seg for seg, gs in enumerate(self._sole_geoms) for g in gs}
        self._pelvis = int(h.body_id[0])
        self._joint_w = self._joint_weights()
        self._shift = np.zeros(3)

    def _joint_weights(self) -> np.ndarray:
        w = np.full(self.nv, self.cfg.w_joint)
        h = self.h
        for j in sk.LEGS:
            w[h.hinge_dof[j]] = self.cfg.w_joint * self.cfg.leg_weight_scale
        return w

    # -------------------------------------------------------------------- contacts
    def contact_points(self, d: mujoco.MjData, planted: np.ndarray) -> tuple[np.ndarray, np.ndarray, set[int]]:
        """World points `(P, 3)`, body ids `(P,)` that may push on the floor now, and the
        foot segments (Reference.stance order) that touch it.

        A foot segment touching the floor anywhere offers all its sole corners that are within
        `sole_gap` of the floor: a sole resting on one edge flattens as soon as the ankle
        presses it down, and a controller that only knows the touching edge never does that.
        A segment the reference has planted (`planted (4,)` bool) offers its corners even before
        it touches, when they are within `plan_contact_height`: otherwise a body whose feet
        hover a millimetre up is held there by the residual, which is then the only force on
        offer, and never comes down to stand. Other body parts offer their actual contact points.
        """
        m, floor = self.h.model, self.h.floor_geom
        pts, bodies = [], []
        touching = set()
        for i in range(d.ncon):
            c = d.contact[i]
            if floor not in (c.geom1, c.geom2) or c.dist > self.cfg.contact_margin:
                continue
            g = c.geom1 if c.geom2 == floor else c.geom2
            seg = self._sole_segment.get(int(g))
            if seg is None:
                pts.append(c.pos.copy())
                bodies.append(m.geom_bodyid[g])
            else:
                touching.add(seg)
        for seg in range(len(self._sole_geoms)):
            if seg in touching:
                gap = self.cfg.sole_gap
            elif planted[seg]:
                gap = self.cfg.plan_contact_height
            else:
                continue
            for g in self._sole_geoms[seg]:
                bottom = d.geom_xpos[g] - np.array([0.0, 0.0, m.geom_size[g, 0]])
                if bottom[2] <= gap:
                    pts.append(bottom)
                    bodies.append(m.geom_bodyid[g])
        if not pts:
            return np.zeros((0, 3)), np.zeros(0, dtype=int), touching
        return np.array(pts), np.array(bodies), touching

    def _update_anchor(self, d: mujoco.MjData, ref: Reference, k: int, touching: set[int]) -> np.ndarray:
        """Horizontal offset `(3,)` of the simulated support from the reference's.

        Balance is about where the CoM is relative to the feet that carry it, not to the
        world: once a foot has landed off its reference spot, the CoM and the next step are
        aimed relative to where it actually is (the offset, low-passed). Swing feet land
        `foot_recenter` of the way back to the world reference, so drift decays step by step.
        """
        offsets = []
        for foot, (rear, toes) in enumerate(((0, 1), (2, 3))):
            planted_ref = ref.stance[k, rear] or ref.stance[k, toes]
            planted_sim = rear in touching or toes in touching
            if planted_ref and planted_sim:
                j = sk.LEFT_ANKLE if foot == 0 else sk.RIGHT_ANKLE
                offsets.append(d.xpos[self.h.body_id[j]] - ref.body_pos[k, j])
        if offsets and self.cfg.anchor_tau_s > 0:
            target = np.mean(offsets, axis=0)
            target[2] = 0.0
            self._shift += min(1.0, ref.dt / self.cfg.anchor_tau_s) * (target - self._shift)
        return self._shift

    # -------------------------------------------------------------------- the QP
    def compute(self, d: mujoco.MjData, ref: Reference, k: int) -> ControlOutput:
        """Command for the state in `d` (after mj_forward) at reference step `k`."""
        cfg, h, m = self.cfg, self.h, self.h.model
        nu, nv = self.nu, self.nv
        pts, bodies, touching = self.contact_points(d, ref.stance[k])
        shift = self._update_anchor(d, ref, k, touching)
        P = len(pts)
        nx = nu + ROOT_DOFS + 4 * P

        # B maps x to generalized force: columns for torques, residual, edge forces
        B = np.zeros((nv, nx))
        B[h.act_dof, np.arange(nu)] = 1.0
        B[np.arange(ROOT_DOFS), nu + np.arange(ROOT_DOFS)] = 1.0
        Jc = np.zeros((3 * P, nv))
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

        rows_A, rows_b, rows_w = [], [], []

        def task(J: np.ndarray, acc: np.ndarray, weight) -> None:
            """Ask for accelerations `J qdd = acc` (J: (r, nv)) at `weight`."""
            rows_A.append(J @ G)
            rows_b.append(acc - J @ g0)
            rows_w.append(np.broadcast_to(weight, (len(acc),)))

        # joints and root orientation: PD accelerations towards the reference
        qerr = np.zeros(nv)
        mujoco.mj_differentiatePos(m, qerr, 1.0, d.qpos, ref.qpos[k])  # ref - current, velocity space
        verr = ref.qvel[k] - d.qvel
        qdd_des = ref.qacc[k] + cfg.kp * qerr + cfg.kd * verr
        qdd_des[3:6] = ref.qacc[k, 3:6] + cfg.kp_root * qerr[3:6] + cfg.kd_root * verr[3:6]
        w = self._joint_w.copy()
        w[0:3] = 0.0  # root translation is driven through the CoM task
        w[3:6] = cfg.w_root_rot

        # planted foot segments lie flat instead of copying the reference's ankle angles (a
        # sole tilted by a few mm stands on one edge and cannot balance)
        for seg, body in enumerate(self._foot_bodies):
            if not ref.stance[k, seg] or d.xpos[body, 2] > cfg.flat_foot_height:
                continue
            w[self._foot_dofs[seg]] *= cfg.flat_foot_joint_scale
            mujoco.mj_jacBody(m, d, None, self._jacr, body)
            tilt = np.cross(d.xmat[body].reshape(3, 3)[:, 1], [0.0, 0.0, 1.0])  # sole normal -> up
            alpha = cfg.kp_flat * tilt - cfg.kd_flat * (self._jacr @ d.qvel)
            task(self._jacr[:2], alpha[:2], cfg.w_flat)
        task(np.eye(nv), qdd_des, w)

        # centre of mass, aimed relative to the support (see _update_anchor)
        com = d.subtree_com[self._pelvis].copy()
        mujoco.mj_jacSubtreeCom(m, d, self._jcom, self._pelvis)
        com_vel = self._jcom @ d.qvel
        cdd_des = ref.com_acc[k] + cfg.kp_com * (ref.com[k] + shift - com) + cfg.kd_com * (ref.com_vel[k] - com_vel)
        A_com = np.zeros((3, nx))
        A_com[:, nu : nu + 3] = np.eye(3)
        for i in range(P):
            A_com[:, nu + ROOT_DOFS + 4 * i : nu + ROOT_DOFS + 4 * i + 4] = self._edges.T
        rows_A.append(A_com / h.mass)  # m (cdd - g) = sum E lam + r_lin
        rows_b.append(cdd_des - m.opt.gravity)
        rows_w.append(np.full(3, cfg.w_com))

        # swinging feet go where the reference puts them, shifted with the support and by the
        # capture-point error: stepping onto the divergent component of the CoM error is what
        # stops a walking body from falling further (Pratt et al. 2006)
        omega0 = np.sqrt(-m.opt.gravity[2] / max(com[2], 0.3))
        cp_err = (com + com_vel / omega0) - (ref.com[k] + shift + ref.com_vel[k] / omega0)
        cp_err[2] = 0.0
        step = (1.0 - cfg.foot_recenter) * shift + cfg.cp_gain * cp_err
        for foot, j in enumerate((sk.LEFT_ANKLE, sk.RIGHT_ANKLE)):
            if ref.stance[k, 2 * foot] and ref.stance[k, 2 * foot + 1]:
                continue
            body = self._foot_bodies[2 * foot]
            mujoco.mj_jacBody(m, d, self._jacp, None, body)
            a_des = (ref.body_acc[k, j] + cfg.kp_foot * (ref.body_pos[k, j] + step - d.xpos[body])
                     + cfg.kd_foot * (ref.body_vel[k, j] - self._jacp @ d.qvel))
            task(self._jacp, a_des, cfg.w_foot)

        # points in contact do not slide: point acceleration = -k v, so they come to rest
        if P:
            task(Jc, -cfg.kd_slip * (Jc @ d.qvel), cfg.w_slip)

        # regularisation: residual (the strength knob), torques, contact forces
        reg = np.zeros(nx)
        reg[:nu] = cfg.w_torque / np.maximum(h.torque_limit, 1.0) ** 2
        reg[nu : nu + 3] = cfg.w_residual / h.weight**2
        reg[nu + 3 : nu + 6] = cfg.w_residual / (h.weight * TORQUE_ARM) ** 2
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
        res = z[nu:nz].copy()
        # the cap bounds the force's magnitude (and the torque's, at TORQUE_ARM), keeping its direction
        for sl, cap in ((slice(0, 3), 1.0), (slice(3, 6), TORQUE_ARM)):
            cap *= cfg.residual_max_bw * h.weight
            norm = np.linalg.norm(res[sl])
            if norm > cap:
                res[sl] *= cap / norm
        return ControlOutput(ctrl=tau, residual=res, contact_points=P, ok=ok)
