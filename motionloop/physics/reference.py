"""The reference trajectory a tracker follows: qpos, qvel, qacc and CoM at the control rate.

Clips arrive at 20-30 fps; the controller runs at ~120 Hz. Hinge angles and the root position
are interpolated with cubic splines (C2, so accelerations have no spikes at the source
frames); the root orientation with a spline through the unwrapped rotation vectors relative
to the first frame is not safe for turning clips, so it is interpolated by slerp and its
angular velocity/acceleration taken by finite differences, lightly smoothed.
"""
from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
from scipy.interpolate import CubicSpline
from scipy.ndimage import gaussian_filter1d

from motionloop import rotations as rot
from motionloop.motion import Motion
from motionloop.physics.model import Humanoid


@dataclass(frozen=True)
class Reference:
    """A reference sampled every `dt` seconds.

    Attributes:
        qpos: `(K, nq)`; qvel, qacc: `(K, nv)` (root angular parts in the body frame, as MuJoCo).
        com: `(K, 3)` whole-body centre of mass, m; com_vel, com_acc: its derivatives.
        dt: sample period in s.
    """

    qpos: np.ndarray
    qvel: np.ndarray
    qacc: np.ndarray
    com: np.ndarray
    com_vel: np.ndarray
    com_acc: np.ndarray
    dt: float

    @property
    def num_steps(self) -> int:
        return len(self.qpos)


def build_reference(h: Humanoid, motion: Motion, rate: float) -> Reference:
    """Sample `motion` at `rate` Hz (its duration, rounded down to whole steps)."""
    q_src = h.qpos_from_motion(motion)
    hinge = np.unique(h.hinge_qpos[1:].ravel())
    # Euler angles can wrap by 2 pi between frames; unwrap before interpolating
    q_src[:, hinge] = np.unwrap(q_src[:, hinge], axis=0)
    t_src = np.arange(motion.num_frames) / motion.fps
    n = int(np.floor(motion.duration * rate + 1e-6)) + 1
    t = np.arange(n) / rate
    dt = 1.0 / rate
    nv = h.nv
    qpos = np.zeros((n, h.nq))
    qvel = np.zeros((n, nv))
    qacc = np.zeros((n, nv))
    if motion.num_frames >= 2:
        lin = np.r_[0:3, hinge]
        spline = CubicSpline(t_src, q_src[:, lin], axis=0, bc_type="natural")
        qpos[:, lin] = spline(t)
        # hinge dofs follow the qpos order of hinges one to one; the free joint's 3 linear dofs too
        dof_lin = np.r_[0:3, _hinge_dofs(h, hinge)]
        qvel[:, dof_lin] = spline(t, 1)
        qacc[:, dof_lin] = spline(t, 2)
        rs = motion.resample(rate)
        quat = rot.aa_to_quat(rs.poses[:n, 0])
        qpos[:, 3:7] = quat
        omega = np.zeros((n, 3))
        for k in range(n - 1):
            mujoco.mju_subQuat(omega[k], quat[k + 1], quat[k])  # body-frame rotation vector
        omega[:-1] /= dt
        omega[-1] = omega[-2] if n > 1 else 0.0
        # smooth over about one source frame so the slerp's corners do not become spikes
        sigma = max(1.0, rate / motion.fps / 2)
        omega = gaussian_filter1d(omega, sigma, axis=0, mode="nearest")
        qvel[:, 3:6] = omega
        qacc[:, 3:6] = np.gradient(omega, dt, axis=0)
    else:
        qpos[:] = q_src[0]
    com, com_vel = _com_path(h, qpos, qvel)
    com_acc = np.gradient(com_vel, dt, axis=0) if n > 1 else np.zeros_like(com)
    return Reference(qpos, qvel, qacc, com, com_vel, com_acc, dt)


def _hinge_dofs(h: Humanoid, hinge_qpos: np.ndarray) -> np.ndarray:
    order = {int(a): int(d) for a, d in zip(h.hinge_qpos[1:].ravel(), h.hinge_dof[1:].ravel())}
    return np.array([order[int(a)] for a in hinge_qpos])


def _com_path(h: Humanoid, qpos: np.ndarray, qvel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole-body CoM `(K, 3)` and its velocity along a trajectory."""
    m, d = h.model, h.data
    pelvis = int(h.body_id[0])
    com = np.zeros((len(qpos), 3))
    vel = np.zeros((len(qpos), 3))
    jac = np.zeros((3, h.nv))
    for k in range(len(qpos)):
        d.qpos[:] = qpos[k]
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        com[k] = d.subtree_com[pelvis]
        mujoco.mj_jacSubtreeCom(m, d, jac, pelvis)
        vel[k] = jac @ qvel[k]
    return com, vel
