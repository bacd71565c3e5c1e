"""`Humanoid`: owns the MjModel/MjData of the humanoid and the Motion <-> qpos mapping.

MuJoCo numbers bodies, joints and dofs in depth-first order of the body tree, not in SMPL
order, so every address below is looked up by name once and kept as index arrays.
"""

from __future__ import annotations

import functools

import mujoco
import numpy as np

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.motion import Motion
from motionloop.physics.humanoid import EULER_ORDER, HumanoidSpec, build_mjcf

ROOT_DOFS = 6


class Humanoid:
    """The simulated body of one skeleton.

    Attributes:
        model, data: the MuJoCo model and a scratch MjData.
        hinge_qpos: `(24, 3)` qpos address of the hinge about x, y, z of each joint (-1 for the
            root and for axes the body does not have, HumanoidSpec.axes).
        hinge_dof: `(24, 3)` matching dof addresses.
        joint_dofs: every hinge dof address, sorted `(nv - 6,)`.
        act_dof: `(nu,)` dof driven by each actuator (actuator order is not dof order).
        body_id: `(24,)` MuJoCo body id of each SMPL joint.
        weight: body weight m*g in N.
    """

    def __init__(self, spec: HumanoidSpec = HumanoidSpec()):
        self.spec = spec
        self.model = mujoco.MjModel.from_xml_string(build_mjcf(spec))
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.body_id = np.array([m.body(n).id for n in sk.JOINTS])
        self.hinge_qpos = -np.ones((sk.NUM_JOINTS, 3), dtype=int)
        self.hinge_dof = -np.ones((sk.NUM_JOINTS, 3), dtype=int)
        for j, name in enumerate(sk.JOINTS[1:], start=1):
            for axis in spec.joint_axes(j):
                jnt = m.joint(f"{name}_{axis.lower()}")
                self.hinge_qpos[j, "XYZ".index(axis)] = jnt.qposadr[0]
                self.hinge_dof[j, "XYZ".index(axis)] = jnt.dofadr[0]
        self.joint_dofs = np.sort(self.hinge_dof[self.hinge_dof >= 0])
        # every hinge joint id and its qpos address, in qpos order
        self.hinge_joint = np.array([j for j in range(m.njnt) if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE])
        self.hinge_qpos_sorted = m.jnt_qposadr[self.hinge_joint]
        self.act_dof = np.array([m.jnt_dofadr[m.actuator_trnid[a, 0]] for a in range(m.nu)])
        self.torque_limit = m.actuator_ctrlrange[:, 1].copy()
        self.mass = float(mujoco.mj_getTotalmass(m))
        self.weight = self.mass * float(-m.opt.gravity[2])
        self.floor_geom = m.geom("floor").id

    @property
    def nq(self) -> int:
        return self.model.nq

    @property
    def nv(self) -> int:
        return self.model.nv

    # ------------------------------------------------------------------ Motion <-> qpos
    def qpos_from_motion(self, motion: Motion) -> np.ndarray:
        """qpos `(T, nq)` of every frame of `motion`."""
        return self.qpos_from_poses(motion.poses, motion.trans)

    def qpos_from_poses(self, poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
        """qpos `(T, nq)` from axis-angle `poses (T, 24, 3)` and pelvis `trans (T, 3)`.

        A joint with fewer than three hinges keeps the Euler angles of the axes it has (the
        others are dropped: the nearest pose this body can take, for the small angles the
        data has there)."""
        poses = np.asarray(poses, dtype=np.float64)
        qpos = np.zeros((len(poses), self.nq))
        qpos[:, 0:3] = trans
        qpos[:, 3:7] = rot.aa_to_quat(poses[:, 0])
        mats = rot.aa_to_mat(poses[:, 1:])
        for j in range(1, sk.NUM_JOINTS):
            order = EULER_ORDER[j]
            angles = rot.mat_to_euler(mats[:, j - 1], order, degrees=False)  # (T, 3) in `order`
            for i, axis in enumerate(order):
                adr = self.hinge_qpos[j, "XYZ".index(axis)]
                if adr >= 0:
                    qpos[:, adr] = angles[:, i]
        return qpos

    def poses_from_qpos(self, qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of `qpos_from_poses`: `(poses (T, 24, 3), trans (T, 3))`."""
        qpos = np.atleast_2d(np.asarray(qpos, dtype=np.float64))
        poses = np.zeros((len(qpos), sk.NUM_JOINTS, 3))
        poses[:, 0] = rot.quat_to_aa(qpos[:, 3:7])
        for j in range(1, sk.NUM_JOINTS):
            order = EULER_ORDER[j]
            adr = [self.hinge_qpos[j, "XYZ".index(a)] for a in order]
            angles = np.stack([qpos[:, a] if a >= 0 else np.zeros(len(qpos)) for a in adr], axis=-1)
            poses[:, j] = rot.mat_to_aa(rot.euler_to_mat(angles, order, degrees=False))
        return poses, qpos[:, 0:3].copy()

    def motion_from_qpos(self, qpos: np.ndarray, like: Motion, source: str = "corrected") -> Motion:
        """A Motion with `like`'s fps/label/betas from a qpos trajectory `(T, nq)`."""
        poses, trans = self.poses_from_qpos(qpos)
        return like.replace(poses=poses, trans=trans, source=source)

    def qvel_from_qpos(self, qpos: np.ndarray, dt: float) -> np.ndarray:
        """Central-difference qvel `(T, nv)` of a qpos trajectory sampled every `dt` seconds."""
        T = len(qpos)
        qvel = np.zeros((T, self.nv))
        if T < 2:
            return qvel
        diff = np.zeros((T - 1, self.nv))
        for t in range(T - 1):
            # mj_differentiatePos handles the free joint's quaternion (angular velocity in the
            # body frame, as qvel expects)
            mujoco.mj_differentiatePos(self.model, diff[t], dt, qpos[t], qpos[t + 1])
        qvel[0], qvel[-1] = diff[0], diff[-1]
        qvel[1:-1] = 0.5 * (diff[:-1] + diff[1:])
        return qvel


def trajectory_kinematics(h: Humanoid, qpos: np.ndarray, qvel: np.ndarray) -> tuple[np.ndarray, ...]:
    """Whole-body CoM `(K, 3)`, its velocity, the angular momentum about it `(K, 3)`, and body
    positions `(K, 24, 3)` along a trajectory of `qpos`/`qvel`. Uses `h.data` as scratch."""
    m, d = h.model, h.data
    pelvis = int(h.body_id[sk.PELVIS])
    com, vel, angmom = np.zeros((len(qpos), 3)), np.zeros((len(qpos), 3)), np.zeros((len(qpos), 3))
    body = np.zeros((len(qpos), len(h.body_id), 3))
    for k in range(len(qpos)):
        d.qpos[:], d.qvel[:] = qpos[k], qvel[k]
        # positions and CoM of every body, their velocities, then the subtree momenta
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        mujoco.mj_comVel(m, d)
        mujoco.mj_subtreeVel(m, d)
        com[k] = d.subtree_com[pelvis]
        vel[k] = d.subtree_linvel[pelvis]
        angmom[k] = d.subtree_angmom[pelvis]
        body[k] = d.xpos[h.body_id]
    return com, vel, angmom, body


def centroidal_state(h: Humanoid, motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """Whole-body CoM `(T, 3)` (m) and angular momentum about it `(T, 3)` (kg m^2/s) of every
    frame of `motion` (velocities by central differences). Uses `h.data` as scratch."""
    qpos = h.qpos_from_motion(motion)
    com, _, angmom, _ = trajectory_kinematics(h, qpos, h.qvel_from_qpos(qpos, 1.0 / motion.fps))
    return com, angmom


@functools.lru_cache(maxsize=4)
def default_humanoid(spec: HumanoidSpec = HumanoidSpec()) -> Humanoid:
    """A cached Humanoid for read-only uses (its `data` is scratch space: do not keep state in it)."""
    return Humanoid(spec)
