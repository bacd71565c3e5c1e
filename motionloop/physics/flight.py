"""Ballistic flight: a body with nothing on the floor falls freely.

Between losing and regaining support the centre of mass of a real body follows a parabola
under gravity, whatever the limbs do. Retargeted and generated jumps and runs rarely do: the
apex comes late, the body hangs, the landing drops within a frame, and a tracker needs a large
residual force to follow. For every flight run (frames with no support, between two supported
frames) we replace the CoM path by the parabola through the CoM at the last supported frame
before and the first after, and move the whole body (root translation) by the difference. The
pose is untouched, so the body's angular motion in the air is not corrected. A run whose
parabola lies further than `MAX_SHIFT_M` from the clip is left alone: that is no jump but a
support the stance detection missed (a foot turning on the spot, say).
"""

from __future__ import annotations

import numpy as np

from motionloop.motion import Motion
from motionloop.physics.balance import support_frames
from motionloop.physics.model import Humanoid, centroidal_state

MAX_SHIFT_M = 0.25


def flight_runs(supported: np.ndarray) -> list[tuple[int, int]]:
    """Flight runs `[a, b)` of an unsupported mask: frames a..b-1 have no support, frames a-1
    and b do (runs touching the clip's ends are left out: their ends are unknown)."""
    edges = np.diff(np.r_[0, (~supported).astype(np.int8), 0])
    runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
    return [(int(a), int(b)) for a, b in runs if a > 0 and b < len(supported)]


def centre_of_mass(h: Humanoid, motion: Motion) -> np.ndarray:
    """Whole-body CoM `(T, 3)` of every frame, metres."""
    return centroidal_state(h, motion)[0]


def ballistic_repair(h: Humanoid, motion: Motion) -> tuple[Motion, int]:
    """The clip with its flight runs' CoM on their free-fall parabolas; also how many runs were
    repaired."""
    supported = support_frames(h, motion)
    runs = flight_runs(supported)
    if not runs:
        return motion, 0
    com = centre_of_mass(h, motion)
    g = -float(h.model.opt.gravity[2])
    dt = 1.0 / motion.fps
    shift = np.zeros((motion.num_frames, 3))
    done = 0
    for a, b in runs:
        # the parabola from the CoM at frame a-1 to the CoM at frame b
        t = (np.arange(a, b) - (a - 1)) * dt  # (n,) time since the last supported frame
        span = (b - (a - 1)) * dt
        s = t / span
        line = (1 - s)[:, None] * com[a - 1] + s[:, None] * com[b]
        line[:, 2] += 0.5 * g * t * (span - t)
        if np.abs(line - com[a:b]).max() <= MAX_SHIFT_M:
            shift[a:b] = line - com[a:b]
            done += 1
    return motion.replace(trans=motion.trans + shift.astype(np.float32)), done
