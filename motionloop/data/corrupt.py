"""Deliberate damage to clips, for validating metrics and the physics corrector.

Each function returns a new Motion and never modifies its input; random ones take a
`numpy.random.Generator` so results are reproducible.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from motionloop import rotations as rot
from motionloop.motion import Motion


def lift(m: Motion, metres: float) -> Motion:
    """Move the whole clip up by `metres` (negative sinks it into the floor)."""
    return m.replace(trans=m.trans + np.array([0.0, 0.0, metres], dtype=np.float32))


def jitter(m: Motion, sigma_rad: float, rng: np.random.Generator) -> Motion:
    """Add i.i.d. Gaussian noise of `sigma_rad` (radians) to every joint rotation, every frame.

    The noise is a random rotation vector applied after each local rotation.
    """
    noise = rng.normal(scale=sigma_rad, size=m.poses.shape)
    noisy = rot.aa_to_mat(m.poses) @ rot.aa_to_mat(noise)
    return m.replace(poses=rot.mat_to_aa(noisy))


def smooth(m: Motion, sigma_s: float) -> Motion:
    """Temporal over-smoothing: Gaussian blur of rotations (6D) and translation, `sigma_s` seconds."""
    sigma = sigma_s * m.fps
    if sigma <= 0:
        return m
    d6 = gaussian_filter1d(rot.mat_to_6d(rot.aa_to_mat(m.poses)), sigma, axis=0, mode="nearest")
    trans = gaussian_filter1d(m.trans, sigma, axis=0, mode="nearest")
    return m.replace(poses=rot.mat_to_aa(rot.sixd_to_mat(d6)), trans=trans)


def slide(m: Motion, speed_mps: float, rng: np.random.Generator | None = None) -> Motion:
    """Sliding feet: the whole body drifts horizontally at `speed_mps` in a fixed random direction.

    The feet move with the body while they should be planted, so every stance phase skates.
    """
    angle = 0.0 if rng is None else rng.uniform(0, 2 * np.pi)
    t = np.arange(m.num_frames)[:, None] / m.fps
    drift = speed_mps * t * np.array([[np.cos(angle), np.sin(angle), 0.0]])
    return m.replace(trans=m.trans + drift.astype(np.float32))
