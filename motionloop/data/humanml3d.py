"""HumanML3D joint positions (`new_joints/*.npy`) as a `SourceMotion` (importers.py retargets it).

A file holds `(T, 22, 3)` float positions in metres: the first 22 SMPL joints in SMPL order
(no hands), y up, 20 frames per second, the floor at y = 0. They are turned into motionloop's
z-up world by +90 degrees about x (y -> z) and retargeted like any other positions format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data.source import SourceMotion
from motionloop.errors import FormatError
from motionloop.io import NUMPY_READ_ERRORS, check_declared_sizes, numpy_error_text

NUM_JOINTS = 22
NAMES: tuple[str, ...] = sk.JOINTS[:NUM_JOINTS]
SOURCE_FPS = 20.0
Y_TO_Z = rot.axis_rotation("X", np.pi / 2)


def read_joints(path: str | Path) -> np.ndarray:
    """The `(T, 22, 3)` float64 positions of a HumanML3D `.npy` file, as stored (y up)."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    try:
        check_declared_sizes(path)
        arr = np.load(path, allow_pickle=False)
    except NUMPY_READ_ERRORS as e:
        raise FormatError(f"{path}: not a readable .npy array ({numpy_error_text(e)})") from None
    if not isinstance(arr, np.ndarray):  # an .npz archive
        arr.close()
        raise FormatError(
            f"{path}: an .npz archive, expected one .npy array (T, {NUM_JOINTS}, 3) of HumanML3D joint positions"
        )
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3) or len(arr) == 0:
        raise FormatError(
            f"{path}: array of shape {arr.shape}, expected (T, {NUM_JOINTS}, 3) HumanML3D joint positions"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise FormatError(f"{path}: array of dtype {arr.dtype}, expected numbers")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        frame = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise FormatError(f"{path}: non-finite joint position in frame {frame}")
    return arr


def humanml3d_to_source(path: str | Path, source_fps: float = SOURCE_FPS, label: str | None = None) -> SourceMotion:
    """A HumanML3D joints file as a `SourceMotion` `(T, 22, 3)`, z up, metres, at `source_fps`."""
    pos = read_joints(path) @ Y_TO_Z.T
    meta = {"format": "humanml3d", "frames": len(pos), "fps": float(source_fps)}
    return SourceMotion(pos, NAMES, {n: n for n in NAMES}, float(source_fps), str(path), label, meta)
