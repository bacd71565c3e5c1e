"""Features: a Motion as a `(T, D)` array for the model, with an exact inverse.

Layout `smpl24-rot6d-v1` (`D = FEATURE_DIM = 221`), per frame, in this order (`SLICES`):

- `root_z` (1): pelvis height above the floor, metres.
- `root_vel` (2): planar pelvis velocity, m/s, backward difference expressed in the heading
  frame of the previous frame (x forward, y left); 0 at frame 0.
- `yaw_rate` (1): heading change from the previous frame, rad/s, each step wrapped to
  (-pi, pi]; 0 at frame 0. Heading = `rotations.yaw_of` of the root (body +z forward).
- `root_tilt` (6): 6D of `Rz(-yaw) @ R_root`, the root orientation without its heading.
- `local_rot` (23 * 6): 6D of the local rotations of joints 1..23, joint-major.
- `joint_pos` (23 * 3): joints 1..23 relative to the pelvis, in the heading frame, metres
  (default skeleton: body shape is not encoded). Redundant; for the model and aux losses.
- `contacts` (4): left ankle, right ankle, left foot, right foot in {0, 1}: 1 when the
  lowest sole corner of that foot box (`body.sole_points`) is below `CONTACT_HEIGHT` and
  the joint's world speed is below `CONTACT_SPEED`.

Everything except the first frame's position and heading is invariant to moving the clip
on the floor, so features describe `canonicalize(m)`; decoding integrates velocities and
yaw rate from `start_xy`, `start_yaw` and reads only root_z, root_vel, yaw_rate, root_tilt
and local_rot (joint_pos and contacts are ignored). The first frame's root_vel and
yaw_rate are ignored too, so a model's output there cannot shift the clip.
"""

from __future__ import annotations

import functools

import numpy as np

from motionloop import body
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data.augment import rotate_heading
from motionloop.errors import MotionValidationError
from motionloop.motion import Motion

LAYOUT = "smpl24-rot6d-v1"
DEFAULT_FPS = 20.0  # the rate every importer resamples to

NUM_LOCAL = sk.NUM_JOINTS - 1  # joints 1..23: every joint but the root
_SIZES = (
    ("root_z", 1),
    ("root_vel", 2),
    ("yaw_rate", 1),
    ("root_tilt", 6),
    ("local_rot", NUM_LOCAL * 6),
    ("joint_pos", NUM_LOCAL * 3),
    ("contacts", len(sk.FEET)),
)
SLICES: dict[str, slice] = {
    name: slice(start, start + size)
    for (name, size), start in zip(_SIZES, np.cumsum([0] + [size for _, size in _SIZES]).tolist())
}
FEATURE_DIM = sum(size for _, size in _SIZES)

# A standing foot's sole is at 0 m on the default body; 5 cm tolerates floor offsets of
# retargeted mocap. A swinging toe passes lower than that in walking (clearance of a
# couple of cm), so height alone is not enough: the speed test rejects the swing.
CONTACT_HEIGHT = 0.05  # metres
# A planted foot is nearly still, a swinging one moves faster than the body (metres per
# second); 0.5 m/s keeps heel-strike and toe-off frames in contact and rejects a foot that
# slides at walking speed.
CONTACT_SPEED = 0.5  # m/s


@functools.lru_cache(maxsize=1)
def _default_geometry() -> list:
    return body.geometry(None)


def _wrap(angle: np.ndarray) -> np.ndarray:
    """Angles wrapped to (-pi, pi]."""
    return np.pi - np.mod(np.pi - angle, 2.0 * np.pi)


def _rz(angle: np.ndarray) -> np.ndarray:
    return rot.axis_rotation("Z", angle)


def contacts(positions: np.ndarray, glob: np.ndarray, fps: float, offsets: np.ndarray | None = None) -> np.ndarray:
    """Foot contacts `(T, 4)` in {0, 1} (order `skeleton.FEET`) from FK of one clip.

    Args:
        positions: `(T, 24, 3)` world joint positions, metres; glob: `(T, 24, 3, 3)`.
        fps: frames per second, for the joint speeds (backward difference; frame 0 uses
            frame 1's speed so a clip's first frame is judged like the others).
        offsets: rest offsets the positions were computed with (default skeleton if None).
    """
    geoms = _default_geometry() if offsets is None else body.geometry(offsets)
    soles = body.sole_points(geoms, positions, glob)  # (T, 2 feet, 8 corners, 3)
    # rear-foot (ankle box) corners first, then the toes' (foot box): see body.sole_points
    low_ankle = soles[:, :, :4, 2].min(-1)  # (T, 2): left, right
    low_toes = soles[:, :, 4:, 2].min(-1)
    low = np.concatenate([low_ankle, low_toes], axis=1) < CONTACT_HEIGHT  # (T, 4) in FEET order
    feet = positions[:, list(sk.FEET)]  # (T, 4, 3)
    speed = np.zeros(low.shape)
    if len(feet) > 1:
        speed[1:] = np.linalg.norm(np.diff(feet, axis=0), axis=-1) * fps
        speed[0] = speed[1]
    return (low & (speed < CONTACT_SPEED)).astype(np.float32)


def motion_to_features(m: Motion, offsets: np.ndarray | None = None) -> np.ndarray:
    """Features `(T, FEATURE_DIM)` float32 of a clip (layout in the module docstring).

    Args:
        m: the clip; its fps sets the units of the velocities (per second).
        offsets: `(24, 3)` rest offsets for joint_pos and contacts (default skeleton).
    """
    T = m.num_frames
    mats = rot.aa_to_mat(m.poses)  # (T, 24, 3, 3) float64
    pos, glob = sk.fk_mats(mats, m.trans, offsets)  # (T, 24, 3), (T, 24, 3, 3)
    root = mats[:, sk.PELVIS]
    yaw = rot.yaw_of(root)  # (T,)
    unyaw = _rz(-yaw)  # (T, 3, 3): world -> heading frame of each frame

    out = np.zeros((T, FEATURE_DIM), dtype=np.float64)
    trans = m.trans.astype(np.float64)
    out[:, SLICES["root_z"]] = trans[:, 2:3]
    if T > 1:
        step = np.diff(trans[:, :2], axis=0) * m.fps  # (T-1, 2) world m/s
        # velocity of frame t in the heading frame of frame t-1
        out[1:, SLICES["root_vel"]] = np.einsum("tij,tj->ti", unyaw[:-1, :2, :2], step)
        out[1:, SLICES["yaw_rate"]] = (_wrap(np.diff(yaw)) * m.fps)[:, None]
    out[:, SLICES["root_tilt"]] = rot.mat_to_6d(unyaw @ root)
    out[:, SLICES["local_rot"]] = rot.mat_to_6d(mats[:, 1:]).reshape(T, -1)
    rel = pos[:, 1:] - pos[:, sk.PELVIS : sk.PELVIS + 1]  # (T, 23, 3) world
    out[:, SLICES["joint_pos"]] = (rel @ unyaw.transpose(0, 2, 1)).reshape(T, -1)  # rows: unyaw_t @ rel_tk
    out[:, SLICES["contacts"]] = contacts(pos, glob, m.fps, offsets)
    return out.astype(np.float32)


def check_features(x, where: str = "features") -> np.ndarray:
    """`x` as a float64 `(T, FEATURE_DIM)` array, or a MotionValidationError naming the layout."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise MotionValidationError(
            f"{where}: not a numeric array ({e}); layout {LAYOUT} expects (T, {FEATURE_DIM})"
        ) from None
    if a.ndim != 2 or a.shape[1] != FEATURE_DIM or len(a) == 0:
        raise MotionValidationError(f"{where}: shape {a.shape}, layout {LAYOUT} expects (T, {FEATURE_DIM}) with T >= 1")
    if not np.all(np.isfinite(a)):
        t, d = (int(i) for i in np.argwhere(~np.isfinite(a))[0])
        name = next(n for n, s in SLICES.items() if s.start <= d < s.stop)
        raise MotionValidationError(f"{where}: non-finite value at frame {t}, dim {d} ({name!r} of layout {LAYOUT})")
    return a


def features_to_motion(
    x: np.ndarray,
    fps: float,
    label: str | None = None,
    source: str = "generated",
    start_xy: tuple[float, float] = (0.0, 0.0),
    start_yaw: float = 0.0,
    betas: np.ndarray | None = None,
) -> Motion:
    """The clip `(T frames)` encoded by features `x (T, FEATURE_DIM)`; inverse of `motion_to_features`.

    Args:
        fps: frames per second the features were computed at (units of root_vel, yaw_rate).
        start_xy: pelvis position on the floor at frame 0, metres; start_yaw: heading, rad.
        betas: `(10,)` body shape to attach (features do not encode it); zeros if None.
    Raises MotionValidationError (naming the layout) for a wrong shape or non-finite values.
    """
    a = check_features(x, "features_to_motion")
    T = len(a)
    try:
        dt = 1.0 / float(fps)
    except (TypeError, ValueError, ZeroDivisionError):
        dt = float("nan")
    if not (np.isfinite(dt) and dt > 0):
        raise MotionValidationError(f"features_to_motion: fps must be a number > 0, got {fps!r}")
    # heading of frame t = start + sum of steps 1..t (frame 0's rate is ignored)
    steps = a[:, SLICES["yaw_rate"]][:, 0] * dt
    steps[0] = 0.0
    yaw = float(start_yaw) + np.cumsum(steps)
    vel = a[:, SLICES["root_vel"]] * dt  # (T, 2) metres per step, heading frame of t-1
    vel[0] = 0.0
    prev_yaw = np.concatenate([[float(start_yaw)], yaw[:-1]])
    c, s = np.cos(prev_yaw), np.sin(prev_yaw)
    step_w = np.stack([c * vel[:, 0] - s * vel[:, 1], s * vel[:, 0] + c * vel[:, 1]], axis=-1)
    xy = np.asarray(start_xy, dtype=np.float64) + np.cumsum(step_w, axis=0)
    trans = np.concatenate([xy, a[:, SLICES["root_z"]]], axis=1)

    mats = np.empty((T, sk.NUM_JOINTS, 3, 3))
    mats[:, sk.PELVIS] = _rz(yaw) @ rot.sixd_to_mat(a[:, SLICES["root_tilt"]])
    mats[:, 1:] = rot.sixd_to_mat(a[:, SLICES["local_rot"]].reshape(T, NUM_LOCAL, 6))
    kw = {} if betas is None else {"betas": betas}
    return Motion(trans=trans, poses=rot.mat_to_aa(mats), fps=fps, label=label, source=source, **kw)


def canonicalize(m: Motion) -> Motion:
    """The clip moved on the floor so frame 0 has its pelvis at xy = 0 and heading 0 (facing +x)."""
    yaw0 = float(rot.yaw_of(rot.aa_to_mat(m.poses[0, sk.PELVIS])))
    start = np.array([m.trans[0, 0], m.trans[0, 1], 0.0])
    return rotate_heading(m.replace(trans=m.trans.astype(np.float64) - start), -yaw0)


def features_to_rotmats_t(x, fps: float = DEFAULT_FPS):
    """Differentiable decoding of a batch, starting at xy = 0, heading 0 (torch).

    Args:
        x: `(B, T, FEATURE_DIM)` features (denormalised).
        fps: frames per second of the features (units of root_vel and yaw_rate).
    Returns:
        rotmats `(B, T, 24, 3, 3)` local rotations (joint 0 in the world) and trans
        `(B, T, 3)` pelvis positions, metres: the inputs of `skeleton.fk_t`.
    """
    import torch

    if x.ndim != 3 or x.shape[-1] != FEATURE_DIM:
        raise MotionValidationError(
            f"features_to_rotmats_t: shape {tuple(x.shape)}, layout {LAYOUT} expects (B, T, {FEATURE_DIM})"
        )
    B, T, _ = x.shape
    dt = 1.0 / float(fps)
    first = torch.zeros_like(x[:, :1, 0])  # (B, 1): frame 0's rates are ignored
    steps = torch.cat([first, x[:, 1:, SLICES["yaw_rate"].start] * dt], dim=1)  # (B, T)
    yaw = torch.cumsum(steps, dim=1)  # (B, T) heading of each frame
    prev_yaw = torch.cat([first, yaw[:, :-1]], dim=1)
    vel = x[:, :, SLICES["root_vel"]] * dt  # (B, T, 2) heading frame of t-1
    c, s = torch.cos(prev_yaw), torch.sin(prev_yaw)
    step_w = torch.stack([c * vel[..., 0] - s * vel[..., 1], s * vel[..., 0] + c * vel[..., 1]], dim=-1)
    step_w = torch.cat([torch.zeros_like(step_w[:, :1]), step_w[:, 1:]], dim=1)
    xy = torch.cumsum(step_w, dim=1)  # (B, T, 2)
    trans = torch.cat([xy, x[:, :, SLICES["root_z"]]], dim=-1)  # (B, T, 3)

    cy, sy = torch.cos(yaw), torch.sin(yaw)
    zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
    rz = torch.stack(
        [torch.stack([cy, -sy, zero], -1), torch.stack([sy, cy, zero], -1), torch.stack([zero, zero, one], -1)], dim=-2
    )  # (B, T, 3, 3)
    root = rz @ rot.sixd_to_mat_t(x[:, :, SLICES["root_tilt"]])  # (B, T, 3, 3)
    local = rot.sixd_to_mat_t(x[:, :, SLICES["local_rot"]].reshape(B, T, NUM_LOCAL, 6))  # (B, T, 23, 3, 3)
    return torch.cat([root.unsqueeze(2), local], dim=2), trans
