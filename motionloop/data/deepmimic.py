"""DeepMimic motion clips (`humanoid3d_*.txt`, JSON) as a `SourceMotion` (importers.py retargets it).

The file: `{"Loop": "wrap" | "none", "Frames": [[...44 numbers...], ...]}`, one row per keyframe:
duration (s, of the step to the next keyframe), root position (3), root rotation (quaternion
w x y z), chest (4), neck (4), right hip (4), right knee (1, angle in radians), right ankle
(4), right shoulder (4), right elbow (1), left hip (4), left knee (1), left ankle (4), left
shoulder (4), left elbow (1). Rotations are local to the parent joint, y is up, the character
faces +x with its right side at +z. Knees and elbows are hinges about their local z axis.

The character's joint offsets (`OFFSETS`, metres) are those of the DeepMimic humanoid as
shipped with pybullet: `pybullet_data/humanoid/humanoid.urdf` (bullet3, zlib licence), loaded
there with `globalScaling=0.25` (pybullet_envs/deep_mimic/env/humanoid_stable_pd.py), i.e. the
urdf's numbers times 0.25. The ankle's collision box (urdf: centre (0.18, -0.09, 0), size
0.708 x 0.22 x 0.36, times 0.25) puts the sole 0.05 m below the ankle and the foot 0.177 m long.

Joint positions come from forward kinematics of these offsets; then `retarget` (one retargeter
for every positions format) maps them to SMPL-24. Three extra points stand in for SMPL joints
the humanoid lacks (`VIRTUAL_POINTS`): a head point on the neck, and a ball-of-foot point on
each foot, placed where SMPL's rest skeleton has them relative to its neck and ankles, so a flat
DeepMimic foot retargets to a flat SMPL foot. DeepMimic's chest joint (level with SMPL's
spine2) maps to spine2; spine1, spine3, collars and hands are filled by the retargeter.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from motionloop import body
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data.source import SourceMotion
from motionloop.errors import ConfigError, FormatError

FRAME_SIZE = 44
# DeepMimic joint -> (parent, offset from the parent in metres, DeepMimic frame: x fwd, y up, z right)
OFFSETS: dict[str, tuple[str | None, tuple[float, float, float]]] = {
    "root": (None, (0.0, 0.0, 0.0)),
    "chest": ("root", (0.0, 0.236151, 0.0)),
    "neck": ("chest", (0.0, 0.223894, 0.0)),
    "right_hip": ("root", (0.0, 0.0, 0.084887)),
    "right_knee": ("right_hip", (0.0, -0.421546, 0.0)),
    "right_ankle": ("right_knee", (0.0, -0.40987, 0.0)),
    "right_shoulder": ("chest", (-0.02405, 0.2435, 0.18311)),
    "right_elbow": ("right_shoulder", (0.0, -0.274788, 0.0)),
    "right_wrist": ("right_elbow", (0.0, -0.258947, 0.0)),
    "left_hip": ("root", (0.0, 0.0, -0.084887)),
    "left_knee": ("left_hip", (0.0, -0.421546, 0.0)),
    "left_ankle": ("left_knee", (0.0, -0.40987, 0.0)),
    "left_shoulder": ("chest", (-0.02405, 0.2435, -0.18311)),
    "left_elbow": ("left_shoulder", (0.0, -0.274788, 0.0)),
    "left_wrist": ("left_elbow", (0.0, -0.258947, 0.0)),
}
# Where each joint's rotation sits in a frame row: (start column, 4 = quaternion | 1 = hinge angle).
COLUMNS: dict[str, tuple[int, int]] = {
    "root": (4, 4),
    "chest": (8, 4),
    "neck": (12, 4),
    "right_hip": (16, 4),
    "right_knee": (20, 1),
    "right_ankle": (21, 4),
    "right_shoulder": (25, 4),
    "right_elbow": (29, 1),
    "left_hip": (30, 4),
    "left_knee": (34, 1),
    "left_ankle": (35, 4),
    "left_shoulder": (39, 4),
    "left_elbow": (43, 1),
}
DM_FOOT_LENGTH = 0.177  # m, heel to toe of DeepMimic's foot box


def _to_dm(v_canonical: np.ndarray) -> np.ndarray:
    """SMPL canonical axes (x left, y up, z fwd) -> DeepMimic's (x fwd, y up, z right)."""
    x, y, z = v_canonical
    return np.array([z, y, -x])


def _virtual_points() -> dict[str, tuple[str, np.ndarray]]:
    """Extra points: name -> (DeepMimic joint they ride on, offset in its frame, metres)."""
    rest = body.geometry()
    boxes = [g for g in rest if isinstance(g, body.Box) and g.joint in (sk.LEFT_ANKLE, sk.LEFT_FOOT)]
    heel = min(b.corners()[:, 2].min() for b in boxes if b.joint == sk.LEFT_ANKLE)
    toe = max(b.corners()[:, 2].max() for b in boxes if b.joint == sk.LEFT_FOOT) + sk.REST_OFFSETS[sk.LEFT_FOOT, 2]
    foot_scale = DM_FOOT_LENGTH / (toe - heel)
    dm_leg = -(OFFSETS["left_knee"][1][1] + OFFSETS["left_ankle"][1][1])
    our_leg = np.linalg.norm(sk.REST_OFFSETS[sk.LEFT_KNEE]) + np.linalg.norm(sk.REST_OFFSETS[sk.LEFT_ANKLE])
    return {
        "head": ("neck", _to_dm(sk.REST_OFFSETS[sk.HEAD]) * dm_leg / our_leg),
        "left_ball": ("left_ankle", _to_dm(sk.REST_OFFSETS[sk.LEFT_FOOT]) * foot_scale),
        "right_ball": ("right_ankle", _to_dm(sk.REST_OFFSETS[sk.RIGHT_FOOT]) * foot_scale),
    }


VIRTUAL_POINTS = _virtual_points()
NAMES: tuple[str, ...] = (*OFFSETS, *VIRTUAL_POINTS)
SMPL_MAP: dict[str, str] = {
    "pelvis": "root",
    "spine2": "chest",
    "neck": "neck",
    "head": "head",
    **{
        f"{s}_{j}": f"{s}_{j}"
        for s in ("left", "right")
        for j in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")
    },
    "left_foot": "left_ball",
    "right_foot": "right_ball",
}
# DeepMimic's y-up world into motionloop's z-up one: +90 degrees about x (y -> z, z -> -y).
Y_TO_Z = rot.axis_rotation("X", np.pi / 2)


def read_deepmimic(path: str | Path) -> tuple[np.ndarray, bool]:
    """The keyframes `(N, 44)` of a DeepMimic clip file and whether it loops ("Loop": "wrap")."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FormatError(f"{path}: not a DeepMimic JSON clip ({e})") from None
    if not isinstance(data, dict) or "Frames" not in data:
        raise FormatError(f"{path}: no 'Frames' list (not a DeepMimic clip)")
    rows = data["Frames"]
    if not isinstance(rows, list) or not rows:
        raise FormatError(f"{path}: 'Frames' is empty")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != FRAME_SIZE:
            n = len(row) if isinstance(row, list) else type(row).__name__
            raise FormatError(f"{path}: frame {i} has {n} values, expected {FRAME_SIZE} (DeepMimic humanoid3d layout)")
    try:
        frames = np.array(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise FormatError(f"{path}: 'Frames' holds non-numbers") from None
    if not np.all(np.isfinite(frames)):
        bad = np.argwhere(~np.isfinite(frames))[0]
        raise FormatError(f"{path}: non-finite value in frame {bad[0]}, column {bad[1]}")
    if len(frames) > 1 and np.any(frames[:-1, 0] <= 0):
        raise FormatError(f"{path}: frame {int(np.argmax(frames[:-1, 0] <= 0))} has a non-positive duration")
    loop = str(data.get("Loop", "none")).lower()
    return frames, loop == "wrap"


def _local_rotations(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Joint name -> local rotation quaternions `(N, 4)` wxyz (hinges as rotations about z)."""
    out = {}
    for name, (col, width) in COLUMNS.items():
        if width == 4:
            out[name] = rot.quat_normalize(frames[:, col : col + 4])
        else:
            half = 0.5 * frames[:, col]
            out[name] = np.stack([np.cos(half), 0 * half, 0 * half, np.sin(half)], axis=-1)
    out.update({n: np.tile([1.0, 0.0, 0.0, 0.0], (len(frames), 1)) for n in OFFSETS if n not in out})
    return out


def forward_kinematics(root_pos: np.ndarray, local: dict[str, np.ndarray]) -> np.ndarray:
    """Positions `(T, len(NAMES), 3)` in DeepMimic's y-up frame from root positions `(T, 3)` and local quaternions."""
    glob: dict[str, np.ndarray] = {}
    pos: dict[str, np.ndarray] = {}
    for name, (parent, offset) in OFFSETS.items():
        if parent is None:
            glob[name], pos[name] = rot.quat_to_mat(local[name]), root_pos
        else:
            pos[name] = pos[parent] + glob[parent] @ np.asarray(offset)
            glob[name] = glob[parent] @ rot.quat_to_mat(local[name])
    for name, (joint, offset) in VIRTUAL_POINTS.items():
        pos[name] = pos[joint] + glob[joint] @ offset
    return np.stack([pos[n] for n in NAMES], axis=1)


def _sample(frames: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """Root positions and local quaternions on a uniform time grid at the clip's keyframe rate.

    DeepMimic plays a clip by interpolating between keyframes (slerp for rotations, linear for
    the root position and hinge angles, which are rotations about one axis); this does the same.
    """
    local = _local_rotations(frames)
    if len(frames) == 1:
        return frames[:, 1:4], local, 30.0
    durations = frames[:-1, 0]
    fps = 1.0 / float(np.median(durations))
    key_t = np.concatenate([[0.0], np.cumsum(durations)])
    t = np.arange(int(np.floor(key_t[-1] * fps + 1e-6)) + 1) / fps
    i0 = np.clip(np.searchsorted(key_t, t, side="right") - 1, 0, len(frames) - 2)
    w = np.clip((t - key_t[i0]) / durations[i0], 0.0, 1.0)
    root = (1 - w[:, None]) * frames[i0, 1:4] + w[:, None] * frames[i0 + 1, 1:4]
    sampled = {n: rot.quat_slerp(q[i0], q[i0 + 1], w) for n, q in local.items()}
    return root, sampled, fps


def _repeat_cycles(pos: np.ndarray, cycles: int) -> np.ndarray:
    """`cycles` copies of one looping cycle `pos (T, P, 3)` (z-up), each starting where the last ended.

    As DeepMimic plays a looping clip (cMotionController::CalcPose adds the cycle's root offset
    to the root position): each copy moves by the cycle's horizontal root displacement and is
    not turned. (Turning each copy by the root's heading change would walk the walk clip in
    circles: its pelvis ends 7 degrees off its start heading, mid-sway.) The first frame of
    every copy after the first is dropped; it repeats the previous copy's last frame.
    """
    step = (pos[-1, 0] - pos[0, 0]) * np.array([1.0, 1.0, 0.0])
    copies = [pos] + [pos[1:] + k * step for k in range(1, cycles)]
    return np.concatenate(copies, axis=0)


def deepmimic_to_source(path: str | Path, cycles: int = 1, label: str | None = None) -> SourceMotion:
    """Read a DeepMimic humanoid clip as world joint positions (z up, metres).

    Args:
        path: the `.txt` clip (JSON).
        cycles: how many times to play a looping ("Loop": "wrap") clip; each cycle continues
            from where the previous one ended, as DeepMimic plays it (`_repeat_cycles`).
        label: action label to attach.
    Returns:
        `SourceMotion` with positions `(T, 18, 3)` (the 15 DeepMimic joints and `VIRTUAL_POINTS`)
        at the clip's keyframe rate; meta holds format, loop, cycles, keyframes, fps.
    Raises:
        FormatError: missing file or not a DeepMimic clip. ConfigError: bad `cycles`.
    """
    if not isinstance(cycles, (int, np.integer)) or cycles < 1:
        raise ConfigError(f"deepmimic cycles: must be an integer >= 1, got {cycles!r}")
    frames, loops = read_deepmimic(path)
    if cycles > 1 and not loops:
        raise ConfigError(f'{path}: the clip does not loop ("Loop" is not "wrap"); cycles must be 1')
    root, local, fps = _sample(frames)
    pos = forward_kinematics(root, local) @ Y_TO_Z.T  # (T, P, 3) z up
    if cycles > 1:
        pos = _repeat_cycles(pos, int(cycles))
    meta = {"format": "deepmimic", "loop": loops, "cycles": int(cycles), "keyframes": len(frames), "fps": fps}
    return SourceMotion(pos, NAMES, dict(SMPL_MAP), fps, str(path), label, meta)
