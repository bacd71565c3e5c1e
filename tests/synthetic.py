"""Synthetic labelled motion: periodic joint motions of eight action-like classes.

For tests and benchmarks of the evaluation stage when no real data is at hand. Each class
is a set of sinusoidal joint rotations (axis-angle components in the joint's canonical
frame: x = the body's left, y = up, z = forward) plus a root speed, turning rate and
vertical profile. Clips of one class differ in amplitude, frequency, phase, heading, start
position and a few small extra joint oscillations, so a class is a distribution, not a
template. Every frame is grounded (lowest sole corner at z = 0), except during the flight
phase of "jump". These are not realistic motions; they are a controlled distribution.
"""

from __future__ import annotations

import numpy as np

from motionloop import body
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.motion import Motion

# each oscillator: (joint, axis 0/1/2, amplitude rad, frequency multiple of the class's base rate, phase rad, bias rad)
_L, _R = 0.0, np.pi  # phases of left and right limbs in alternating gaits

CLASSES: dict[str, dict] = {
    "walk": dict(
        f0=1.0,
        speed=1.2,
        yaw_rate=0.0,
        osc=[
            (sk.LEFT_HIP, 0, 0.4, 1, _L, 0.0),
            (sk.RIGHT_HIP, 0, 0.4, 1, _R, 0.0),
            (sk.LEFT_KNEE, 0, 0.3, 1, _L + 1.2, 0.35),
            (sk.RIGHT_KNEE, 0, 0.3, 1, _R + 1.2, 0.35),
            (sk.LEFT_SHOULDER, 1, 0.3, 1, _R, 0.0),
            (sk.RIGHT_SHOULDER, 1, 0.3, 1, _L, 0.0),
            (sk.LEFT_SHOULDER, 2, 0.0, 1, 0.0, -1.2),
            (sk.RIGHT_SHOULDER, 2, 0.0, 1, 0.0, 1.2),
        ],
    ),
    "run": dict(
        f0=1.5,
        speed=3.0,
        yaw_rate=0.0,
        osc=[
            (sk.LEFT_HIP, 0, 0.7, 1, _L, -0.1),
            (sk.RIGHT_HIP, 0, 0.7, 1, _R, -0.1),
            (sk.LEFT_KNEE, 0, 0.6, 1, _L + 1.2, 0.8),
            (sk.RIGHT_KNEE, 0, 0.6, 1, _R + 1.2, 0.8),
            (sk.LEFT_ELBOW, 1, 0.0, 1, 0.0, 1.4),
            (sk.RIGHT_ELBOW, 1, 0.0, 1, 0.0, -1.4),
            (sk.LEFT_SHOULDER, 1, 0.6, 1, _R, 0.0),
            (sk.RIGHT_SHOULDER, 1, 0.6, 1, _L, 0.0),
            (sk.SPINE1, 0, 0.05, 2, 0.0, 0.2),
        ],
    ),
    "wave": dict(
        f0=1.2,
        speed=0.0,
        yaw_rate=0.0,
        osc=[
            (sk.RIGHT_SHOULDER, 2, 0.1, 1, 0.0, -1.2),
            (sk.RIGHT_ELBOW, 1, 0.6, 1, 0.0, -1.0),
            (sk.LEFT_SHOULDER, 2, 0.0, 1, 0.0, -1.2),
            (sk.HEAD, 1, 0.1, 0.5, 0.0, 0.0),
        ],
    ),
    "squat": dict(
        f0=0.4,
        speed=0.0,
        yaw_rate=0.0,
        osc=[
            (sk.LEFT_HIP, 0, 0.6, 1, 0.0, -0.6),
            (sk.RIGHT_HIP, 0, 0.6, 1, 0.0, -0.6),
            (sk.LEFT_KNEE, 0, 0.6, 1, np.pi, 0.6),
            (sk.RIGHT_KNEE, 0, 0.6, 1, np.pi, 0.6),
            (sk.LEFT_ANKLE, 0, 0.2, 1, 0.0, 0.0),
            (sk.RIGHT_ANKLE, 0, 0.2, 1, 0.0, 0.0),
            (sk.LEFT_SHOULDER, 1, 0.0, 1, 0.0, -1.2),
            (sk.RIGHT_SHOULDER, 1, 0.0, 1, 0.0, 1.2),
        ],
    ),
    "jump": dict(
        f0=0.8,
        speed=0.0,
        yaw_rate=0.0,
        flight=0.25,
        osc=[
            (sk.LEFT_KNEE, 0, 0.4, 1, 0.0, 0.4),
            (sk.RIGHT_KNEE, 0, 0.4, 1, 0.0, 0.4),
            (sk.LEFT_HIP, 0, 0.3, 1, np.pi, -0.3),
            (sk.RIGHT_HIP, 0, 0.3, 1, np.pi, -0.3),
            (sk.LEFT_SHOULDER, 2, 0.8, 1, 0.0, 0.0),
            (sk.RIGHT_SHOULDER, 2, 0.8, 1, np.pi, 0.0),
        ],
    ),
    "turn": dict(
        f0=1.0,
        speed=0.0,
        yaw_rate=1.5,
        osc=[
            (sk.LEFT_HIP, 0, 0.15, 1, _L, 0.0),
            (sk.RIGHT_HIP, 0, 0.15, 1, _R, 0.0),
            (sk.LEFT_SHOULDER, 2, 0.0, 1, 0.0, -1.2),
            (sk.RIGHT_SHOULDER, 2, 0.0, 1, 0.0, 1.2),
            (sk.SPINE2, 1, 0.2, 0.5, 0.0, 0.0),
        ],
    ),
    "kick": dict(
        f0=0.6,
        speed=0.0,
        yaw_rate=0.0,
        osc=[
            (sk.RIGHT_HIP, 0, 0.8, 1, 0.0, -0.5),
            (sk.RIGHT_KNEE, 0, 0.5, 1, 1.5, 0.5),
            (sk.LEFT_SHOULDER, 2, 0.2, 1, 0.0, -0.8),
            (sk.RIGHT_SHOULDER, 2, 0.2, 1, 0.0, 0.8),
        ],
    ),
    "punch": dict(
        f0=1.3,
        speed=0.0,
        yaw_rate=0.0,
        osc=[
            (sk.LEFT_SHOULDER, 1, 0.6, 1, _L, 1.0),
            (sk.RIGHT_SHOULDER, 1, 0.6, 1, _R, -1.0),
            (sk.LEFT_ELBOW, 1, 0.8, 1, _L + np.pi, 1.0),
            (sk.RIGHT_ELBOW, 1, 0.8, 1, _R + np.pi, -1.0),
            (sk.SPINE3, 1, 0.2, 1, 0.0, 0.0),
        ],
    ),
}
LABELS: tuple[str, ...] = tuple(CLASSES)


def synthetic_clip(label: str, rng: np.random.Generator, frames: int = 100, fps: float = 20.0) -> Motion:
    """One clip `(frames)` of class `label` (a key of CLASSES) at `fps`, drawn with `rng`."""
    spec = CLASSES[label]
    t = np.arange(frames) / fps  # (T,) seconds
    f0 = spec["f0"] * rng.uniform(0.85, 1.15)
    amp = rng.uniform(0.8, 1.2)
    phase0 = rng.uniform(0, 2 * np.pi)
    poses = np.zeros((frames, sk.NUM_JOINTS, 3))
    for joint, axis, a, mult, phase, bias in spec["osc"]:
        poses[:, joint, axis] += bias + amp * a * np.sin(2 * np.pi * mult * f0 * t + phase + phase0)
    for joint in rng.choice(np.arange(1, sk.NUM_JOINTS), size=3, replace=False):
        # small idiosyncratic motion, so clips of one class are not all alike
        a, f, phase = rng.uniform(0.02, 0.08), rng.uniform(0.2, 1.5), rng.uniform(0, 2 * np.pi)
        poses[:, joint, rng.integers(3)] += a * np.sin(2 * np.pi * f * t + phase)
    yaw = rng.uniform(-np.pi, np.pi) + spec["yaw_rate"] * amp * t  # (T,)
    root = rot.axis_rotation("Z", yaw) @ sk.UPRIGHT  # (T, 3, 3)
    poses[:, sk.PELVIS] = rot.mat_to_aa(root)
    fwd = root[:, :, 2]  # (T, 3): the body's forward axis in the world
    speed = spec["speed"] * amp
    trans = np.zeros((frames, 3))
    trans[:, :2] = rng.uniform(-2, 2, 2) + np.cumsum(fwd[:, :2] * speed / fps, axis=0)
    pos, glob = sk.fk_mats(rot.aa_to_mat(poses), trans)
    trans[:, 2] -= body.sole_points(body.geometry(), pos, glob)[..., 2].min(axis=(-1, -2))  # ground every frame
    if "flight" in spec:
        trans[:, 2] += spec["flight"] * amp * np.maximum(0.0, np.sin(2 * np.pi * f0 * t + phase0)) ** 2
    return Motion(trans=trans, poses=poses, fps=fps, label=label, source=f"synthetic:{label}")


def synthetic_clips(
    per_label: int, seed: int = 0, frames: int = 100, fps: float = 20.0, labels: tuple[str, ...] = LABELS
) -> list[Motion]:
    """`per_label` clips of each label, in label-major order, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    return [synthetic_clip(label, rng, frames, fps) for label in labels for _ in range(per_label)]
