"""Clips shared by the tests, synthetic and bundled (importable because pytest puts tests/ on
the path)."""

import numpy as np

from motionloop import skeleton as sk
from motionloop.data.bundled import list_bundled
from motionloop.motion import Motion

UPRIGHT_AA = np.array([np.pi / 2, 0.0, 0.0])


def bundled_clip(clip_id: str) -> Motion:
    """The bundled clip with id `clip_id` (`motionloop data list`)."""
    return Motion.load(next(c for c in list_bundled() if c.id == clip_id).path)


def standing(frames: int = 61, fps: float = 20.0, lift: float = 0.0) -> Motion:
    """The default body standing still, soles on the floor (+ `lift` metres)."""
    poses = np.zeros((frames, sk.NUM_JOINTS, 3))
    poses[:, sk.PELVIS] = UPRIGHT_AA
    trans = np.zeros((frames, 3))
    trans[:, 2] = sk.PELVIS_HEIGHT + lift
    return Motion(trans=trans, poses=poses, fps=fps, label="stand", source="standing")


def random_motion(
    rng: np.random.Generator,
    T: int = 60,
    fps: float = 20.0,
    label: str | None = None,
    source: str = "test",
    offset: bool = True,
    betas: bool = False,
) -> Motion:
    """Upright root with small random tilts, random heading walk, random walk of the pelvis.

    `offset` starts the pelvis somewhere in a 10 m square (else near the origin); `betas`
    gives the clip a random body shape.
    """
    from motionloop import rotations as rot

    yaw = rng.uniform(-np.pi, np.pi) + np.cumsum(rng.normal(0, 0.2, T))
    root = rot.axis_rotation("Z", yaw) @ sk.UPRIGHT @ rot.aa_to_mat(rng.normal(0, 0.15, (T, 3)))
    poses = rng.normal(0, 0.3, (T, sk.NUM_JOINTS, 3))
    poses[:, sk.PELVIS] = rot.mat_to_aa(root)
    trans = np.cumsum(rng.normal(0, 0.05, (T, 3)), axis=0)
    if offset:
        trans += [*rng.uniform(-5, 5, 2), 0.0]
    trans[:, 2] = 0.9 + rng.normal(0, 0.02, T)
    shape = rng.normal(0, 1, 10) if betas else np.zeros(10)
    return Motion(trans=trans, poses=poses, fps=fps, label=label, source=source, betas=shape)
