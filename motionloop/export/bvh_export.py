"""BVH export of a Motion: the SMPL-24 skeleton with its joint names, for Blender and friends.

The hierarchy is SMPL's (pelvis root, joints named as in `skeleton.JOINTS`) with the rest
offsets of the default skeleton (or the ones given), plus End Sites at the head top, the
hands and the toes so every leaf bone has a length. The root has 6 channels (position,
then rotation), every other joint 3 rotation channels, in degrees.

Axes (`up`):
- "y" (default): y up, the convention Blender's BVH importer assumes (its defaults, forward
  -Z and up Y, bring the clip in standing on Blender's z-up floor). World z-up points map
  as (x, y, z) -> (x, z, -y); the rest skeleton is SMPL's canonical frame, which is y-up
  already, so a standing body has a near-identity root rotation.
- "z": the world as it is in motionloop (z up); the rest skeleton is stood up by
  `skeleton.UPRIGHT`. Import it in Blender with up = Z, forward = Y.
Both store exactly the same joint positions up to that change of axes.

Euler channels (`order`, e.g. "ZXY" or "XYZ") are intrinsic rotations in the listed order,
`R = R_a @ R_b @ R_c` (rotations.py), unwrapped over time so no channel jumps by 360 degrees.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Literal

import numpy as np

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.errors import FormatError, UnknownNameError
from motionloop.io import write_text
from motionloop.motion import Motion

UNITS = {"cm": 100.0, "m": 1.0}  # BVH length unit -> units per metre
# the rotation orders the writer accepts: all six Tait-Bryan orders
ORDERS = tuple("".join(p) for p in itertools.permutations("XYZ"))
# End Site offsets of the leaf joints in the canonical frame (x left, y up, z forward), metres
_END_SITES = {
    sk.HEAD: (0.0, 0.14, 0.0),  # head top (skeleton.height_of uses the same 0.14 m)
    sk.LEFT_HAND: (0.08, 0.0, 0.0),
    sk.RIGHT_HAND: (-0.08, 0.0, 0.0),
    sk.LEFT_FOOT: (0.0, 0.0, 0.05),  # toe tip, forward of the ball of the foot
    sk.RIGHT_FOOT: (0.0, 0.0, 0.05),
}


def axes(up: Literal["y", "z"]) -> tuple[np.ndarray, np.ndarray]:
    """`(W, B)`: W `(3, 3)` maps motionloop's z-up world to the file's; B maps the canonical body frame to the file's rest frame."""
    if up == "y":
        return rot.axis_rotation("X", -np.pi / 2), np.eye(3)
    if up == "z":
        return np.eye(3), np.asarray(sk.UPRIGHT, dtype=np.float64)
    raise UnknownNameError("BVH up axis", str(up), ("y", "z"))


def _depth_first(j: int = sk.PELVIS) -> list[int]:
    return [j] + [k for c in sk.children(j) for k in _depth_first(c)]


def write_bvh(
    motion: Motion,
    path: str | Path,
    up: Literal["y", "z"] = "y",
    order: str = "ZXY",
    unit: Literal["cm", "m"] = "cm",
    offsets: np.ndarray | None = None,
) -> Path:
    """Write `motion` as a BVH file (atomically); returns the path.

    Args:
        motion: the clip; its fps sets the Frame Time.
        path: output file, ending in ".bvh".
        up: "y" (Blender's default) or "z"; see the module docstring.
        order: Euler order of the rotation channels, one of the six permutations of "XYZ".
        unit: "cm" (the common BVH unit) or "m".
        offsets: `(24, 3)` rest offsets in metres, canonical frame (default `skeleton.REST_OFFSETS`).
    Raises:
        FormatError: the path does not end in ".bvh"; UnknownNameError: bad up, order or unit.
    """
    path = Path(path)
    if path.suffix.lower() != ".bvh":
        raise FormatError(f"{path}: BVH files must end in .bvh")
    order = str(order).upper()
    if order not in ORDERS:
        raise UnknownNameError("Euler order", order, ORDERS)
    if unit not in UNITS:
        raise UnknownNameError("BVH unit", str(unit), UNITS)
    W, B = axes(up)
    scale = UNITS[unit]
    off = sk.REST_OFFSETS if offsets is None else np.asarray(offsets, dtype=np.float64)
    if off.shape != (sk.NUM_JOINTS, 3):
        raise FormatError(f"{path}: offsets have shape {off.shape}, expected ({sk.NUM_JOINTS}, 3)")

    local = rot.aa_to_mat(motion.poses)  # (T, 24, 3, 3) canonical frame
    # G'_j = W G_j B^T for every joint: root R'_0 = W R_0 B^T, others R'_j = B R_j B^T
    local[:, sk.PELVIS] = W @ local[:, sk.PELVIS] @ B.T
    local[:, 1:] = B @ local[:, 1:] @ B.T
    euler = rot.mat_to_euler(local, order, degrees=False)  # (T, 24, 3) radians
    euler = np.rad2deg(np.unwrap(euler, axis=0))
    root_pos = motion.trans.astype(np.float64) @ W.T * scale  # (T, 3): rows W @ p

    joints = _depth_first()
    lines = ["HIERARCHY"]
    rot_channels = " ".join(f"{a}rotation" for a in order)

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        o = B @ off[j] * scale
        if j == sk.PELVIS:
            lines.extend(
                [
                    f"ROOT {sk.JOINTS[j]}",
                    "{",
                    "  OFFSET 0.000000 0.000000 0.000000",
                    f"  CHANNELS 6 Xposition Yposition Zposition {rot_channels}",
                ]
            )
        else:
            lines.extend(
                [
                    f"{pad}JOINT {sk.JOINTS[j]}",
                    f"{pad}{{",
                    f"{pad}  OFFSET {o[0]:.6f} {o[1]:.6f} {o[2]:.6f}",
                    f"{pad}  CHANNELS 3 {rot_channels}",
                ]
            )
        for c in sk.children(j):
            emit(c, depth + 1)
        if j in _END_SITES:
            e = B @ np.asarray(_END_SITES[j]) * scale
            lines.extend(
                [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {e[0]:.6f} {e[1]:.6f} {e[2]:.6f}", f"{pad}  }}"]
            )
        lines.append(f"{pad}}}")

    emit(sk.PELVIS, 0)
    lines.extend(["MOTION", f"Frames: {motion.num_frames}", f"Frame Time: {1.0 / motion.fps:.8f}"])
    values = np.concatenate([root_pos, euler[:, joints].reshape(motion.num_frames, -1)], axis=1)  # (T, 3 + 72)
    buf = io.StringIO()
    np.savetxt(buf, values, fmt="%.6f")
    write_text(path, "\n".join(lines) + "\n" + buf.getvalue())
    return path
