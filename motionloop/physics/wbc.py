"""Whole-body controller: one quadratic program per control step, solved in closed form but
for the contact forces.

Decision variables: generalized accelerations `qdd (nv)` and non-negative friction-pyramid
edge forces `lam (4 P)` at the P body points that may push on the floor. Hinge torques and the
root residual wrench follow from the equations of motion,

    [r; tau] = M qdd + h - J^T E lam        (h = bias - passive forces),

because actuators and the residual together drive every dof. The cost is a weighted sum of
tracking tasks on `qdd` -- joint and root-orientation PD, centre of mass, flat stance feet,
swing feet, stance feet that came unloaded held in place, no-slip of contact points -- and the
residual price `|r|^2_D`. Only the residual couples `qdd` with `lam`, and only through the 6
root rows `r = M_6 qdd + h_6 - B lam`. Minimising over `qdd` in closed form (tracking optimum
`x0`, tracking Hessian `Q`) leaves a 6-row non-negative least-squares problem in `lam`:

    min_{lam >= 0} |B lam - w|^2_K + eps |lam|^2,
    w = M_6 x0 + h_6,   K = (D^-1 + M_6 Q^-1 M_6^T)^-1,

the contact forces that best supply the root wrench tracking asks for, where K trades the
residual against bending the accelerations. Then `qdd = x0 - Q^-1 M_6^T K (w - B lam)`.
The centre-of-mass task is the first three rows of the same root equation:
`M_6[:3] qdd + h_6[:3] = m (cdd - g)`. The friction coefficient the QP assumes is below the
simulated floor's, so the planned forces stay inside the real cone and stance feet do not
creep. As the body strays from the reference the residual gets cheaper (`_assist`): a body
about to fall is held rather than reset.
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

FOOT_JOINTS = (sk.LEFT_ANKLE, sk.LEFT_FOOT, sk.RIGHT_ANKLE, sk.RIGHT_FOOT)  # Reference.stance order


@dataclass
class ControlOutput:
    """One control step's command: `ctrl (nu,)` torques, `residual (6,)` root wrench."""

    ctrl: np.ndarray
    residual: np.ndarray
    contact_points: int
    ok: bool


def _skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices `(P, 3, 3)` of vectors `v (P, 3)`: `skew(v) @ u = v x u`."""
    s = np.zeros((len(v), 3, 3))
    s[:, 0, 1], s[:, 0, 2], s[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    s[:, 1, 0], s[:, 2, 0], s[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    return s


def solve_qp(Q: np.ndarray, q: np.ndarray, M6: np.ndarray, h6: np.ndarray, B: np.ndarray, price: np.ndarray,
             eps: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """Minimise over accelerations `x (n,)` and edge forces `lam (L,) >= 0`

        1/2 x^T Q x - q^T x + 1/2 |M6 x + h6 - B lam|^2_diag(price) + 1/2 eps |lam|^2

    (`Q (n, n)` positive definite, `M6 (6, n)`, `h6 (6,)`, `B (6, L)`, `price (6,)` > 0):
    `x` in closed form, `lam` by a small QP (daqp). Returns `(x, lam, solved)`.
    """
    chol = cho_factor(Q, check_finite=False)
    X = cho_solve(chol, np.column_stack([q, M6.T]), check_finite=False)
    x0, QiM6t = X[:, 0], X[:, 1:]  # tracking optimum (n,), Q^-1 M6^T (n, 6)
    K = np.linalg.inv(np.diag(1.0 / price) + M6 @ QiM6t)
    w = M6 @ x0 + h6  # root wrench the tracking optimum asks for
    n = B.shape[1]
    lam, ok = np.zeros(n), True
    if n:
        KB = K @ B
        H = B.T @ KB
        H[np.diag_indices(n)] += eps
        lam, _, exitflag, _ = daqp.solve(H, -(KB.T @ w), np.zeros((0, n)), np.full(n, np.inf), np.zeros(n),
                                         np.zeros(n, dtype=np.int32))
        ok = exitflag == 1
        lam = np.maximum(lam, 0.0) if ok else np.zeros(n)
    return x0 - QiM6t @ (K @ (w - B @ lam)), lam, ok


class WholeBodyController:
    """Computes torques and the root residual that best track a reference from a sim state."""

    def __init__(self, h: Humanoid, cfg: TrackerConfig):
        self.h, self.cfg = h, cfg
        m = h.model
        self.nu, self.nv = m.nu, m.nv
        self._M = np.zeros((self.nv, self.nv))
        self._foot_bodies = np.array([int(h.body_id[j]) for j in FOOT_JOINTS])
        self._foot_dofs = [h.hinge_dof[j] for j in FOOT_JOINTS]
        self._edges = pyramid(cfg.friction)
        # the sole-corner spheres of each foot segment (the only zero-mass sphere geoms)
        is_sole = (m.geom_type == mujoco.mjtGeom.mjGEOM_SPHERE) & np.isin(m.geom_bodyid, self._foot_bodies)
        self._sole_geoms = [np.flatnonzero(is_sole & (m.geom_bodyid == b)) for b in self._foot_bodies]
        self._geom_segment = np.full(m.ngeom, -1)
        for seg, gs in enumerate(self._sole_geoms):
            self._geom_segment[gs] = seg
        self._pelvis = int(h.body_id[sk.PELVIS])
        self._joint_w = self._joint_weights()
        # residual price per root row: a torque of (weight * TORQUE_ARM) costs like a force of weight
        arm = np.array([1.0, 1.0, 1.0, TORQUE_ARM, TORQUE_ARM, TORQUE_ARM])
        self._res_price = cfg.w_residual / (h.weight * arm) ** 2
        self._shift = np.zeros(3)
        self._jac: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _assist(self, d: mujoco.MjData, ref: Reference, k: int) -> float:
        """Factor in (0, 1] on the residual price: it falls as the body strays from the
        reference (mean body distance e), 1 / (1 + (e / assist_error_m)^4), so a body about
        to fall is held by the residual instead of being reset to the reference."""
        if self.cfg.assist_error_m <= 0:
            return 1.0
        e = float(np.linalg.norm(d.xpos[self.h.body_id] - ref.body_pos[k], axis=-1).mean())
        return 1.0 / (1.0 + (e / self.cfg.assist_error_m) ** 4)

    def _joint_weights(self) -> np.ndarray:
        w = np.full(self.nv, self.cfg.w_joint)
        for j in sk.LEGS:
            w[self.h.hinge_dof[j]] = self.cfg.w_joint * self.cfg.leg_weight_scale
        for j in (sk.SPINE1, sk.SPINE2, sk.SPINE3):
            w[self.h.hinge_dof[j]] = self.cfg.w_joint * self.cfg.trunk_weight_scale
        w[0:3] = 0.0  # root translation is driven through the CoM task
        w[3:6] = self.cfg.w_root_rot
        return w

    def _body_jac(self, d: mujoco.MjData, body: int) -> tuple[np.ndarray, np.ndarray]:
        """Translational and rotational Jacobians `(3, nv)` of a body origin, once per step."""
        if body not in self._jac:
            jp, jr = np.zeros((3, self.nv)), np.zeros((3, self.nv))
            mujoco.mj_jacBody(self.h.model, d, jp, jr, body)
            self._jac[body] = (jp, jr)
        return self._jac[body]

    def _point_jacs(self, d: mujoco.MjData, pts: np.ndarray, bodies: np.ndarray) -> np.ndarray:
        """Translational Jacobians `(3 P, nv)` of world points fixed to bodies."""
        jp = np.stack([self._body_jac(d, int(b))[0] for b in bodies])  # (P, 3, nv)
        jr = np.stack([self._body_jac(d, int(b))[1] for b in bodies])
        # v_point = v_origin + w x (p - origin) = v_origin - (p - origin) x w
        return (jp - _skew(pts - d.xpos[bodies]) @ jr).reshape(-1, self.nv)

    # -------------------------------------------------------------------- contacts
    def contact_points(self, d: mujoco.MjData, planted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, set[int]]:
        """World points `(P, 3)`, body ids `(P,)` and foot segments `(P,)` (Reference.stance
        order, -1 off the feet) of the points that may push on the floor now, and the foot
        segments that touch it.

        A foot segment touching the floor anywhere offers all its sole corners that are within
        `sole_gap` of the floor: a sole resting on one edge flattens as soon as the ankle
        presses it down, and a controller that only knows the touching edge never does that.
        A segment the reference has planted (`planted (4,)` bool) offers its corners even before
        it touches, when they are within `plan_contact_height`. Other body parts offer their
        actual contact points.
        """
        m, floor = self.h.model, self.h.floor_geom
        n = d.ncon
        pts, bodies, segs = [np.zeros((0, 3))], [np.zeros(0, dtype=int)], [np.zeros(0, dtype=int)]
        touching: set[int] = set()
        if n:
            geom = d.contact.geom[:n]
            near = ((geom == floor).any(axis=1)) & (d.contact.dist[:n] <= self.cfg.contact_margin)
            other = np.where(geom[:, 0] == floor, geom[:, 1], geom[:, 0])[near]
            seg = self._geom_segment[other]
            touching = set(seg[seg >= 0].tolist())
            body_pts = seg < 0
            pts.append(d.contact.pos[:n][near][body_pts])
            bodies.append(m.geom_bodyid[other[body_pts]])
            segs.append(np.full(int(body_pts.sum()), -1))
        for seg, geoms in enumerate(self._sole_geoms):
            if seg in touching:
                gap = self.cfg.sole_gap
            elif planted[seg] and self.cfg.plan_contact_height > 0:
                gap = self.cfg.plan_contact_height
            else:
                continue
            bottom = d.geom_xpos[geoms].copy()
            bottom[:, 2] -= m.geom_size[geoms, 0]
            keep = bottom[:, 2] <= gap
            pts.append(bottom[keep])
            bodies.append(np.full(int(keep.sum()), self._foot_bodies[seg]))
            segs.append(np.full(int(keep.sum()), seg))
        return np.concatenate(pts), np.concatenate(bodies), np.concatenate(segs), touching

    def _update_anchor(self, d: mujoco.MjData, ref: Reference, k: int, touching: set[int]) -> np.ndarray:
        """Horizontal offset `(3,)` of the simulated support from the reference's.

        Balance is about where the CoM is relative to the feet that carry it, not to the
        world: once a foot has landed off its reference spot, the CoM and the next step are
        aimed relative to where it actually is (the offset, low-passed). Swing feet land
        `foot_recenter` of the way back to the world reference, so drift decays step by step.
        """
        if self.cfg.anchor_tau_s <= 0:
            return self._shift
        offsets = []
        for foot, (rear, toes) in enumerate(((0, 1), (2, 3))):
            planted_ref = ref.stance[k, rear] or ref.stance[k, toes]
            planted_sim = rear in touching or toes in touching
            if planted_ref and planted_sim:
                j = sk.LEFT_ANKLE if foot == 0 else sk.RIGHT_ANKLE
                offsets.append(d.xpos[self.h.body_id[j]] - ref.body_pos[k, j])
        if offsets:
            target = np.mean(offsets, axis=0)
            target[2] = 0.0
            self._shift += min(1.0, ref.dt / self.cfg.anchor_tau_s) * (target - self._shift)
        return self._shift

    # -------------------------------------------------------------------- the QP
    def compute(self, d: mujoco.MjData, ref: Reference, k: int) -> ControlOutput:
        """Command for the state in `d` (kinematics, inertia, contacts and bias forces of the
        current state computed, e.g. by mj_forward or mj_step1) at reference step `k`."""
        cfg, h, m = self.cfg, self.h, self.h.model
        nv = self.nv
        self._jac = {}
        pts, bodies, segs, touching = self.contact_points(d, ref.stance[k])
        shift = self._update_anchor(d, ref, k, touching)
        P = len(pts)
        M = self._M
        mujoco.mj_fullM(m, d, M)
        hvec = d.qfrc_bias - d.qfrc_passive
        qd = d.qvel

        # joints and root orientation: PD accelerations towards the reference (diagonal rows)
        qerr = np.zeros(nv)
        mujoco.mj_differentiatePos(m, qerr, 1.0, d.qpos, ref.qpos[k])  # ref - current, velocity space
        verr = ref.qvel[k] - qd
        a_diag = ref.qacc[k] + cfg.kp * qerr + cfg.kd * verr
        a_diag[3:6] = ref.qacc[k, 3:6] + cfg.kp_root * qerr[3:6] + cfg.kd_root * verr[3:6]
        w_diag = self._joint_w.copy()
        rows, targets, weights = [], [], []

        def task(J: np.ndarray, acc: np.ndarray, weight: float) -> None:
            """Ask for accelerations `J qdd = acc` (J: (r, nv)) at `weight`."""
            rows.append(J)
            targets.append(acc)
            weights.append(np.full(len(acc), weight))

        # planted foot segments lie flat instead of copying the reference's ankle angles (a
        # sole tilted by a few mm stands on one edge and cannot balance)
        for seg, body in enumerate(self._foot_bodies):
            if not ref.stance[k, seg] or d.xpos[body, 2] > cfg.flat_foot_height:
                continue
            w_diag[self._foot_dofs[seg]] *= cfg.flat_foot_joint_scale
            jr = self._body_jac(d, int(body))[1]
            normal = d.xmat[body].reshape(3, 3)[:, 1]  # the sole's normal (the body's y axis)
            tilt = np.array([normal[1], -normal[0], 0.0])  # normal x up: the rotation that levels it
            task(jr[:2], (cfg.kp_flat * tilt - cfg.kd_flat * (jr @ qd))[:2], cfg.w_flat)

        # centre of mass, aimed relative to the support (see _update_anchor): the root's
        # linear rows of the equations of motion, M_6[:3] qdd + h_6[:3] = m (cdd - g)
        com = d.subtree_com[self._pelvis]
        com_vel = M[:3] @ qd / h.mass  # linear momentum / mass
        cdd_des = ref.com_acc[k] + cfg.kp_com * (ref.com[k] + shift - com) + cfg.kd_com * (ref.com_vel[k] - com_vel)
        task(M[:3] / h.mass, cdd_des - m.opt.gravity - hvec[:3] / h.mass, cfg.w_com)

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
            body = int(self._foot_bodies[2 * foot])
            jp = self._body_jac(d, body)[0]
            a_des = (ref.body_acc[k, j] + cfg.kp_foot * (ref.body_pos[k, j] + step - d.xpos[body])
                     + cfg.kd_foot * (ref.body_vel[k, j] - jp @ qd))
            task(jp, a_des, cfg.w_foot)

        # a segment the reference plants but that has come off the floor (unloaded as the body
        # rolled over it) goes back down where it is instead of wandering with the leg: its
        # lowest corner stops horizontally and descends to the floor
        if cfg.w_hold > 0:
            for seg, geoms in enumerate(self._sole_geoms):
                if not ref.stance[k, seg] or seg in touching:
                    continue
                z = d.geom_xpos[geoms, 2] - m.geom_size[geoms, 0]
                low = int(np.argmin(z))
                if z[low] > cfg.hold_height:
                    continue
                p = d.geom_xpos[geoms[low]] - np.array([0.0, 0.0, m.geom_size[geoms[low], 0]])
                body = int(self._foot_bodies[seg])
                Jp = self._point_jacs(d, p[None], np.array([body]))
                v = Jp @ qd
                a_des = -cfg.kd_slip * v
                a_des[2] = -cfg.kp_foot * z[low] - cfg.kd_foot * v[2]
                task(Jp, a_des, cfg.w_hold)

        # points in contact do not slide: point acceleration = -k v, so they come to rest. A
        # foot segment the reference lifts may still touch (and push), but holding it in place
        # would keep the foot from leaving the floor.
        Jc = self._point_jacs(d, pts, bodies) if P else np.zeros((0, nv))
        if P:
            w_slip = np.where((segs < 0) | ref.stance[k, segs], cfg.w_slip, cfg.w_slip_swing)
            rows.append(Jc)
            targets.append(-cfg.kd_slip * (Jc @ qd))
            weights.append(np.repeat(w_slip, 3))

        # tracking Hessian Q = diag(w) + R^T W R and gradient term q, then the closed form
        R = np.concatenate(rows)
        wr = np.concatenate(weights)
        RW = R.T * wr
        Q = RW @ R
        Q[np.diag_indices(nv)] += w_diag
        q = RW @ np.concatenate(targets) + w_diag * a_diag
        # B: root wrench of each edge force (the free joint's rows of the point Jacobians)
        B = np.einsum("pcr,ec->rpe", Jc[:, :ROOT_DOFS].reshape(P, 3, ROOT_DOFS), self._edges).reshape(ROOT_DOFS, 4 * P)
        price = self._res_price * self._assist(d, ref, k)
        qdd, lam, ok = solve_qp(Q, q, M[:ROOT_DOFS], hvec[:ROOT_DOFS], B, price, cfg.w_force / h.weight**2)
        f_pts = (lam.reshape(P, 4) @ self._edges).ravel()  # world contact forces (3 P,)
        gen = M @ qdd + hvec - Jc.T @ f_pts  # generalized force actuators and residual must give
        tau = np.clip(gen[h.act_dof], -h.torque_limit, h.torque_limit)
        res = gen[:ROOT_DOFS].copy()
        # the cap bounds the force's magnitude (and the torque's, at TORQUE_ARM), keeping its direction
        for sl, cap in ((slice(0, 3), 1.0), (slice(3, 6), TORQUE_ARM)):
            cap *= cfg.residual_max_bw * h.weight
            norm = np.linalg.norm(res[sl])
            if norm > cap:
                res[sl] *= cap / norm
        return ControlOutput(ctrl=tau, residual=res, contact_points=P, ok=ok)
