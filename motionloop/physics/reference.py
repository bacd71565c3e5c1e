"""The reference trajectory a tracker follows: qpos, qvel, qacc and CoM at the control rate.

Clips arrive at 20-30 fps; the controller runs at ~120 Hz. Hinge angles and the root position
are interpolated with cubic splines (C2, so accelerations have no spikes at the source
frames); the root orientation with a spline through the unwrapped rotation vectors relative
to the first frame is not safe for turning clips, so it is interpolated by slerp and its
angular velocity/acceleration taken by finite differences, lightly smoothed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import mujoco
import numpy as np
from scipy.interpolate import CubicSpline
from scipy.ndimage import gaussian_filter1d

from motionloop import body as bd
from motionloop import rotations as rot
from motionloop.motion import Motion
from motionloop.physics import contacts
from motionloop.physics.model import Humanoid, trajectory_kinematics

LIMIT_MARGIN_DEG = 2.0  # the reference keeps this far inside the hinge ranges


@dataclass(frozen=True)
class Reference:
    """A reference sampled every `dt` seconds.

    Attributes:
        qpos: `(K, nq)`; qvel, qacc: `(K, nv)` (root angular parts in the body frame, as MuJoCo).
        com: `(K, 3)` whole-body centre of mass, m; com_vel, com_acc: its derivatives.
        angmom: `(K, 3)` angular momentum about the CoM, kg m^2/s; angmom_rate: its derivative.
        stance: `(K, 4)` bool, foot segment (L rear, L toes, R rear, R toes) planted in the
            reference (contacts.stance).
        body_pos: `(K, 24, 3)` world position of each SMPL joint's body, m; body_vel,
            body_acc: its derivatives (finite differences).
        dt: sample period in s.
    """

    qpos: np.ndarray
    qvel: np.ndarray
    qacc: np.ndarray
    com: np.ndarray
    com_vel: np.ndarray
    com_acc: np.ndarray
    stance: np.ndarray
    body_pos: np.ndarray
    body_vel: np.ndarray
    body_acc: np.ndarray
    angmom: np.ndarray
    angmom_rate: np.ndarray
    dt: float

    @property
    def num_steps(self) -> int:
        return len(self.qpos)


def build_reference(h: Humanoid, motion: Motion, rate: float, smooth_s: float = 0.0) -> Reference:
    """Sample `motion` at `rate` Hz (its duration, rounded down to whole steps).

    `smooth_s` (seconds) low-passes hinge angles, root position and root angular velocity
    with a Gaussian of that width first, taking out frame-to-frame noise that would
    otherwise become large accelerations.
    """
    q_src = h.qpos_from_motion(motion)
    hinge = np.unique(h.hinge_qpos[h.hinge_qpos >= 0])
    # Euler angles can wrap by 2 pi between frames; unwrap before interpolating
    q_src[:, hinge] = np.unwrap(q_src[:, hinge], axis=0)
    if smooth_s > 0 and motion.num_frames > 2:
        lin = np.r_[0:3, hinge]
        q_src[:, lin] = smooth_keeping_ends(q_src[:, lin], smooth_s * motion.fps)
    # a reference beyond a joint limit would have the controller push against the limit's
    # constraint force, which its model does not include: keep it just inside
    lo, hi = h.model.jnt_range[h.hinge_joint].T
    margin = np.deg2rad(LIMIT_MARGIN_DEG)
    q_src[:, h.hinge_qpos_sorted] = np.clip(q_src[:, h.hinge_qpos_sorted], lo + margin, hi - margin)
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
        # not-a-knot ends: a "natural" spline has zero acceleration at both ends, which bends
        # the first and last frames' velocity
        spline = CubicSpline(t_src, q_src[:, lin], axis=0)
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
        sigma = max(1.0, rate / motion.fps / 2, smooth_s * rate)
        omega = gaussian_filter1d(omega, sigma, axis=0, mode="nearest")
        qvel[:, 3:6] = omega
        qacc[:, 3:6] = np.gradient(omega, dt, axis=0)
    else:
        qpos[:] = q_src[0]
    com, com_vel, angmom, body_pos = trajectory_kinematics(h, qpos, qvel)
    if n > 1:
        com_acc = np.gradient(com_vel, dt, axis=0)
        angmom_rate = np.gradient(angmom, dt, axis=0)
        body_vel = np.gradient(body_pos, dt, axis=0)
        body_acc = np.gradient(body_vel, dt, axis=0)
    else:
        com_acc, angmom_rate = np.zeros_like(com), np.zeros_like(angmom)
        body_vel, body_acc = np.zeros_like(body_pos), np.zeros_like(body_pos)
    return Reference(
        qpos,
        qvel,
        qacc,
        com,
        com_vel,
        com_acc,
        _stance(h, motion, n, rate),
        body_pos,
        body_vel,
        body_acc,
        angmom,
        angmom_rate,
        dt,
    )


def shifted(ref: Reference, start: int, end: int, delta: np.ndarray) -> Reference:
    """A copy of `ref` translated by `delta (3,)` m along a smooth bump over steps `start` to
    `end`: `w(t) delta` with `w = sin^2(pi u)`, `u` the share of the stretch gone, so the
    shift and its velocity are zero at both ends and outside (its acceleration steps there,
    to `2 (pi / T)^2 delta`, T the stretch's duration; a C2 bump, sin^4, carried fewer
    falling clips through in search.py). The root, the centre of mass
    and every body move together, with the velocities and accelerations of the bump added
    (angular momentum, joint angles and stance are unchanged: a translation does not alter
    them). Where the whole-body controller follows it, the swing feet land and the centre of
    mass passes off the original path and come back to it by `end` (search.py)."""
    if not 0 <= start < end < ref.num_steps:
        raise ValueError(f"shifted: need 0 <= start < end < {ref.num_steps}, got {start}, {end}")
    delta = np.asarray(delta, dtype=float)
    t = (np.arange(ref.num_steps) - start) * ref.dt
    span = (end - start) * ref.dt
    u = np.clip(t / span, 0.0, 1.0)
    inside = (u > 0.0) & (u < 1.0)
    c = np.pi / span
    w = np.sin(np.pi * u) ** 2
    wd = np.where(inside, c * np.sin(2 * np.pi * u), 0.0)
    wdd = np.where(inside, 2 * c**2 * np.cos(2 * np.pi * u), 0.0)
    off, off_v, off_a = np.outer(w, delta), np.outer(wd, delta), np.outer(wdd, delta)
    qpos, qvel, qacc = ref.qpos.copy(), ref.qvel.copy(), ref.qacc.copy()
    qpos[:, :3] += off  # the free joint's position and linear velocity are in the world frame
    qvel[:, :3] += off_v
    qacc[:, :3] += off_a
    return dataclasses.replace(
        ref,
        qpos=qpos,
        qvel=qvel,
        qacc=qacc,
        com=ref.com + off,
        com_vel=ref.com_vel + off_v,
        com_acc=ref.com_acc + off_a,
        body_pos=ref.body_pos + off[:, None],
        body_vel=ref.body_vel + off_v[:, None],
        body_acc=ref.body_acc + off_a[:, None],
    )


def smooth_keeping_ends(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian low-pass of `x (T, D)` along time (`sigma` in frames) that keeps the end values
    and slopes: the signal is extended past each end by its point reflection (x0 - (x_k - x0)),
    so a clip that starts in motion keeps its starting velocity. (Replicating the end value, as
    `mode="nearest"` does, flattens the ends: a walk sampled from mid-stride started the
    simulated body 0.4 m/s too slow.)"""
    T = len(x)
    pad = min(T - 1, int(np.ceil(4 * sigma)))
    if pad < 1:
        return x.copy()
    head = 2 * x[:1] - x[pad:0:-1]
    tail = 2 * x[-1:] - x[-2 : -pad - 2 : -1]
    y = gaussian_filter1d(np.concatenate([head, x, tail]), sigma, axis=0, mode="nearest")
    return y[pad : pad + T]


def _stance(h: Humanoid, motion: Motion, n: int, rate: float) -> np.ndarray:
    """Planted foot segments `(n, 4)` at the control steps: the clip's own contact schedule,
    found on its source frames and held to the nearest one (found on the interpolated
    trajectory instead, a foot near the speed threshold flickers between stance and swing
    from one control step to the next)."""
    off = h.spec.offsets_array()
    pos, glob = motion.fk(off)
    planted = contacts.stance(
        bd.sole_points(bd.geometry(off), pos, glob).reshape(motion.num_frames, 4, 4, 3), 1.0 / motion.fps
    )
    frame = np.minimum(np.round(np.arange(n) / rate * motion.fps).astype(int), motion.num_frames - 1)
    return planted[frame]


def _hinge_dofs(h: Humanoid, hinge_qpos: np.ndarray) -> np.ndarray:
    order = {int(a): int(d) for a, d in zip(h.hinge_qpos.ravel(), h.hinge_dof.ravel()) if a >= 0}
    return np.array([order[int(a)] for a in hinge_qpos])
