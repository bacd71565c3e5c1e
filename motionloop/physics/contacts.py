"""Which foot segments of a kinematic clip stand on the floor (its contact schedule).

A segment (rear foot or toes of either foot) is planted when its lowest sole corner is near
the floor and its centre moves slowly. The height threshold is loose on purpose: retargeted
clips often hold a standing foot a centimetre or two above the floor (a sole pitched by the
retarget, a leg a little short), and such a foot still carries the body; what tells stance
from swing is mostly speed, and a slow foot high in the air (a raised leg) is excluded by
the height.
"""

from __future__ import annotations

import numpy as np

STANCE_HEIGHT = 0.04  # m: lowest sole corner at most this high
STANCE_SPEED = 0.5  # m/s: horizontal speed of the segment's centre at most this


def stance(segments: np.ndarray, dt: float) -> np.ndarray:
    """Planted foot segments `(T, S)` bool from sole corners `segments (T, S, C, 3)` (metres)
    sampled every `dt` seconds."""
    low = segments[..., 2].min(axis=-1)  # (T, S)
    centre = segments[..., :2].mean(axis=-2)  # (T, S, 2)
    speed = np.zeros(low.shape)
    if len(segments) > 1:
        step = np.linalg.norm(np.diff(centre, axis=0), axis=-1) / dt  # (T-1, S)
        # the slower of the two adjacent differences: a foot that lands or leaves in this
        # frame still stands in it
        speed[1:-1] = np.minimum(step[:-1], step[1:])
        speed[0], speed[-1] = step[0], step[-1]
    return (low < STANCE_HEIGHT) & (speed < STANCE_SPEED)
