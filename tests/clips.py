"""Synthetic clips shared by the tests (importable because pytest puts tests/ on the path)."""
import numpy as np

from motionloop import skeleton as sk
from motionloop.motion import Motion

UPRIGHT_AA = np.array([np.pi / 2, 0.0, 0.0])


def standing(frames: int = 61, fps: float = 20.0, lift: float = 0.0) -> Motion:
    """The default body standing still, soles on the floor (+ `lift` metres)."""
    poses = np.zeros((frames, sk.NUM_JOINTS, 3))
    poses[:, sk.PELVIS] = UPRIGHT_AA
    trans = np.zeros((frames, 3))
    trans[:, 2] = sk.PELVIS_HEIGHT + lift
    return Motion(trans=trans, poses=poses, fps=fps, label="stand", source="standing")
