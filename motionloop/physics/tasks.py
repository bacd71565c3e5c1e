"""Objectives of the whole-body controller, one small object each (wbc.py solves them together).

Each motion task asks for generalized accelerations `qdd (nv)` with rows `J qdd = acc` at a
weight (`Row`); the joint task is diagonal (`JointTask.diagonal`). The centroidal task is
different in kind: a body's momentum changes only through external forces, so it asks for a
contact wrench (`WrenchRow`), whatever the limbs do. Keeping the two apart is what stops a
heavily weighted centre-of-mass objective from swinging a leg backwards to shift the CoM.

Gains are accelerations per unit error (kp in 1/s^2, kd in 1/s); weights are relative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

from motionloop import skeleton as sk
from motionloop.physics.config import TrackerConfig
from motionloop.physics.model import Humanoid
from motionloop.physics.plant import LEVEL_MAX_TILT_DEG
from motionloop.physics.reference import Reference

FOOT_JOINTS = (sk.LEFT_ANKLE, sk.LEFT_FOOT, sk.RIGHT_ANKLE, sk.RIGHT_FOOT)  # Reference.stance order
_LEVEL_MIN_COS = float(np.cos(np.radians(LEVEL_MAX_TILT_DEG)))


@dataclass
class Row:
    """Asks for `J qdd = acc`: `J (r, nv)`, `acc (r,)`, `weight (r,)`."""

    J: np.ndarray
    acc: np.ndarray
    weight: np.ndarray


@dataclass
class Contacts:
    """Points that may push on the floor now: `points (P, 3)` world, `bodies (P,)` body ids,
    `segments (P,)` foot segment (Reference.stance order, -1 off the feet), the foot segments
    touching the floor, and `swing (P,)`: the point is on a segment the reference lifts."""

    points: np.ndarray
    bodies: np.ndarray
    segments: np.ndarray
    touching: set[int]
    swing: np.ndarray

    def __len__(self) -> int:
        return len(self.points)


@dataclass
class Context:
    """What every task reads at one control step (state in `d` with kinematics, inertia and
    bias forces computed, reference step `k`)."""

    h: Humanoid
    d: mujoco.MjData
    ref: Reference
    k: int
    cfg: TrackerConfig
    contacts: Contacts
    step_shift: np.ndarray = field(default_factory=lambda: np.zeros(3))
    _jac: dict = field(default_factory=dict)
    _contact_jac: np.ndarray | None = None
    _flat: list[bool] | None = None

    def body_jac(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        """Translational and rotational Jacobians `(3, nv)` of a body origin (cached per step)."""
        if body not in self._jac:
            jp, jr = np.zeros((3, self.h.nv)), np.zeros((3, self.h.nv))
            mujoco.mj_jacBody(self.h.model, self.d, jp, jr, body)
            self._jac[body] = (jp, jr)
        return self._jac[body]

    def contact_jacs(self) -> np.ndarray:
        """`point_jacs` of the contact points `(3 P, nv)` (cached per step)."""
        if self._contact_jac is None:
            self._contact_jac = self.point_jacs(self.contacts.points, self.contacts.bodies)
        return self._contact_jac

    def point_jacs(self, points: np.ndarray, bodies: np.ndarray) -> np.ndarray:
        """Translational Jacobians `(3 P, nv)` of world points fixed to bodies."""
        P, nv = len(points), self.h.nv
        if not P:
            return np.zeros((0, nv))
        jp, jr = np.empty((P, 3, nv)), np.empty((P, 3, nv))
        for i, b in enumerate(bodies.tolist()):
            jp[i], jr[i] = self.body_jac(b)
        # v_point = v_origin + w x (p - origin) = v_origin - skew(p - origin) w
        return (jp - skew(points - self.d.xpos[bodies]) @ jr).reshape(-1, nv)

    def flat_active(self, seg: int) -> bool:
        """`FlatFootTask.active` for foot segment `seg` (cached per step)."""
        if self._flat is None:
            self._flat = [FlatFootTask.active(self, s) for s in range(len(FOOT_JOINTS))]
        return self._flat[seg]


def skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices `(P, 3, 3)` of vectors `v (P, 3)`: `skew(v) @ u = v x u`."""
    s = np.zeros((len(v), 3, 3))
    s[:, 0, 1], s[:, 0, 2], s[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    s[:, 1, 0], s[:, 2, 0], s[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    return s


class JointTask:
    """Every hinge and the root orientation follow the reference: PD accelerations on the
    diagonal. The root translation gets only a token weight: the centroidal task moves it."""

    def __init__(self, h: Humanoid, cfg: TrackerConfig):
        w = np.full(h.nv, cfg.w_joint)
        dofs = h.hinge_dof
        for j in sk.LEGS:
            w[dofs[j][dofs[j] >= 0]] = cfg.w_joint * cfg.leg_weight_scale
        for j in (sk.SPINE1, sk.SPINE2, sk.SPINE3):
            w[dofs[j][dofs[j] >= 0]] = cfg.w_joint * cfg.trunk_weight_scale
        w[0:3] = 1e-3
        w[3:6] = cfg.w_root_rot
        self.weights = w
        self.kp = np.full(h.nv, cfg.kp)
        self.kd = np.full(h.nv, cfg.kd)
        self.kp[3:6], self.kd[3:6] = cfg.kp_root, cfg.kd_root
        self._foot_dofs = [dofs[j][dofs[j] >= 0] for j in FOOT_JOINTS]

    def diagonal(self, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
        """Weights `(nv,)` and target accelerations `(nv,)`."""
        m, d, ref, k = ctx.h.model, ctx.d, ctx.ref, ctx.k
        qerr = np.zeros(ctx.h.nv)
        mujoco.mj_differentiatePos(m, qerr, 1.0, d.qpos, ref.qpos[k])  # ref - current, in velocity space
        acc = ref.qacc[k] + self.kp * qerr + self.kd * (ref.qvel[k] - d.qvel)
        w = self.weights.copy()
        # a flat-planted foot's ankle gives way to FlatFootTask (copying a reference ankle angle
        # that tilts the sole by a few mm puts the foot on one edge)
        for seg, dofs in enumerate(self._foot_dofs):
            if ctx.flat_active(seg):
                w[dofs] *= ctx.cfg.flat_foot_joint_scale
        return w, acc


class FlatFootTask:
    """A planted foot segment near the floor, its sole within LEVEL_MAX_TILT_DEG of facing it,
    lies flat: its sole normal turns to vertical."""

    def __init__(self, h: Humanoid):
        self.bodies = [int(h.body_id[j]) for j in FOOT_JOINTS]

    @staticmethod
    def active(ctx: Context, seg: int) -> bool:
        """Planted, low, and with its sole facing the floor within LEVEL_MAX_TILT_DEG: the toe
        tips a prone body stands on are not turned flat (plant.py)."""
        body = int(ctx.h.body_id[FOOT_JOINTS[seg]])
        return (
            bool(ctx.ref.stance[ctx.k, seg])
            and ctx.d.xpos[body, 2] <= ctx.cfg.flat_foot_height
            and ctx.d.xmat[body, 7] >= _LEVEL_MIN_COS  # the sole normal's (body y axis) z
        )

    def rows(self, ctx: Context) -> list[Row]:
        cfg, out = ctx.cfg, []
        for seg, body in enumerate(self.bodies):
            if not ctx.flat_active(seg):
                continue
            jr = ctx.body_jac(body)[1]
            normal = ctx.d.xmat[body].reshape(3, 3)[:, 1]  # the sole's normal (the body's y axis)
            tilt = np.array([normal[1], -normal[0], 0.0])  # normal x up: the rotation that levels it
            acc = cfg.kp_flat * tilt - cfg.kd_flat * (jr @ ctx.d.qvel)
            out.append(Row(jr[:2], acc[:2], np.full(2, cfg.w_flat)))
        return out


class SwingFootTask:
    """A foot the reference lifts goes where the reference puts it, shifted by the stepping
    correction (`Context.step_shift`)."""

    def __init__(self, h: Humanoid):
        self.feet = [(0, sk.LEFT_ANKLE), (1, sk.RIGHT_ANKLE)]
        self.h = h

    def rows(self, ctx: Context) -> list[Row]:
        cfg, ref, k, out = ctx.cfg, ctx.ref, ctx.k, []
        for foot, j in self.feet:
            if ref.stance[k, 2 * foot] and ref.stance[k, 2 * foot + 1]:
                continue
            body = int(self.h.body_id[j])
            jp = ctx.body_jac(body)[0]
            target = ref.body_pos[k, j] + ctx.step_shift
            acc = (
                ref.body_acc[k, j]
                + cfg.kp_foot * (target - ctx.d.xpos[body])
                + cfg.kd_foot * (ref.body_vel[k, j] - jp @ ctx.d.qvel)
            )
            out.append(Row(jp, acc, np.full(3, cfg.w_foot)))
        return out


class HoldFootTask:
    """A segment the reference plants that came off the floor (unloaded as the body rolled
    over it) goes back down where it is: its lowest corner stops and descends. Built from each
    foot segment's (Reference.stance order) sole-corner sphere geoms and body id."""

    def __init__(self, h: Humanoid, sole_geoms: list[np.ndarray], foot_bodies: list[int]):
        self.sole_geoms, self.foot_bodies = sole_geoms, foot_bodies
        self.radii = [h.model.geom_size[g, 0] for g in sole_geoms]  # read once, not every step
        self._body = [np.array([b]) for b in foot_bodies]

    def rows(self, ctx: Context) -> list[Row]:
        cfg, d, out = ctx.cfg, ctx.d, []
        if cfg.w_hold <= 0:
            return out
        for seg, geoms in enumerate(self.sole_geoms):
            if not ctx.ref.stance[ctx.k, seg] or seg in ctx.contacts.touching:
                continue
            z = d.geom_xpos[geoms, 2] - self.radii[seg]
            low = int(np.argmin(z))
            if z[low] > cfg.hold_height:
                continue
            p = d.geom_xpos[geoms[low]].copy()
            p[2] -= self.radii[seg][low]
            Jp = ctx.point_jacs(p[None], self._body[seg])
            v = Jp @ d.qvel
            acc = -cfg.kd_slip * v
            acc[2] = -cfg.kp_foot * z[low] - cfg.kd_foot * v[2]
            out.append(Row(Jp, acc, np.full(3, cfg.w_hold)))
        return out


class NoSlipTask:
    """Points in contact do not slide: their acceleration is `-kd v`, so they come to rest. A
    point on a segment the reference lifts is let go (holding it would keep the foot down)."""

    def rows(self, ctx: Context) -> list[Row]:
        c = ctx.contacts
        if not len(c):
            return []
        Jc = ctx.contact_jacs()
        w = np.where(c.swing, ctx.cfg.w_slip_swing, ctx.cfg.w_slip)
        return [Row(Jc, -ctx.cfg.kd_slip * (Jc @ ctx.d.qvel), np.repeat(w, 3))]


@dataclass
class WrenchRow:
    """Asks the total external wrench about the CoM, `[force (3); moment (3)]`, to equal
    `target (6,)`, at `weight (6,)` (per N^2 and per (N m)^2)."""

    target: np.ndarray
    weight: np.ndarray


class CentroidalTask:
    """Centre of mass and angular momentum follow the reference.

    The CoM's wanted acceleration is a PD law, `cdd = cdd_ref + kp_com (c_ref - c) + kd_com
    (cd_ref - cd)`, and its force `m (cdd - g)`; the angular momentum about the CoM, L, its
    rate `Ldot = Ldot_ref + kd_angmom (L_ref - L)`. Soft CoM gains on purpose: with the
    divergent component of motion xi = c + cd / w (w = sqrt(g / z)), tracking xi at rate k
    is the PD law with kp = k w, kd = w + k (k = 3: about 10 and 6); stiffer gains ask for a
    centre of pressure outside the feet on every small error and the loop rocks itself over.
    """

    def __init__(self, h: Humanoid):
        self.h = h
        self.pelvis = int(h.body_id[sk.PELVIS])

    def wrench(self, ctx: Context) -> tuple[WrenchRow, np.ndarray, np.ndarray]:
        """The wanted wrench, and the CoM position and velocity `(3,)` it was computed from."""
        h, d, ref, k, cfg = self.h, ctx.d, ctx.ref, ctx.k, ctx.cfg
        mujoco.mj_subtreeVel(h.model, d)  # subtree linear and angular momenta (needs mj_comVel)
        com = d.subtree_com[self.pelvis].copy()
        com_vel = d.subtree_linvel[self.pelvis].copy()
        L = d.subtree_angmom[self.pelvis].copy()
        cdd = ref.com_acc[k] + cfg.kp_com * (ref.com[k] - com) + cfg.kd_com * (ref.com_vel[k] - com_vel)
        force = h.mass * (cdd - h.model.opt.gravity)
        ldot = ref.angmom_rate[k] + cfg.kd_angmom * (ref.angmom[k] - L)
        # weights per (m/s^2)^2: a force error of m * 1 m/s^2 and a moment error of m * 1 m^2/s^2
        weight = np.array([cfg.w_com] * 3 + [cfg.w_angmom] * 3) / h.mass**2
        return WrenchRow(np.concatenate([force, ldot]), weight), com, com_vel
