"""Foot plant repair: a planted foot lies on the floor the way a rigid foot can, and stays put.

The bundled data (and the body that tracks it) has rigid feet: the toes never bend. A rigid
foot on a flat floor carries weight in one of three ways: flat (its whole sole down), on its
heel (the sole pitched up about the heel's edge, as at heel strike) or on its toes (pitched
down about the toes' front, as at push-off). Mocap, retargeting and generated clips often have
a "planted" foot tilted 10-20 degrees with one end a few centimetres in the air, sliding, or
sunk into the floor; a simulated foot that copies that stands on one corner and cannot balance.

Per foot and frame, the mode comes from which of its two segments is planted
(contacts.stance): both = flat, rear only = heel, toes only = toe, none = swing. Then:
- flat frames: the foot is turned level by the smallest rotation (its heading is kept);
- every planted frame: the supporting part (the whole sole, the heel, or the toes) is put on
  the floor, and held still horizontally at the median of where it is over each run of one
  mode;
- the ankle moves by that correction through two-bone leg IK (only hip and knee turn), and
  both the correction and the levelling fade in and out over `ramp_s` around each run, so the
  swing leg does not jump.

A foot laid flat may be out of the leg's reach: at push-off the heel has risen, the leg is
straight, and turning the sole level about the ankle asks the ankle to go lower than the leg
is long, so the IK leaves the flat foot hovering a centimetre or more above the floor while
it is called planted. With `max_pelvis_drop_m`, the pelvis is lowered there (smoothly, by at
most that much) until the planted feet reach the floor (`reach_drop`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from motionloop import body as bd
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.errors import ConfigError
from motionloop.ik import LEGS, reach
from motionloop.motion import Motion
from motionloop.physics import contacts

SWING, FLAT, HEEL, TOE = 0, 1, 2, 3
_REAR = slice(0, 4)  # sole_points lists the rear foot's 4 corners first, then the toes'
_TOES = slice(4, 8)
_ANKLES = (sk.LEFT_ANKLE, sk.RIGHT_ANKLE)
GRAVITY = 9.81
MAX_FLIGHT_ERROR_M = 0.1  # a no-contact run whose pelvis strays this far from free fall is no flight
# a planted foot is levelled only when its sole is within this angle of facing the floor: the
# feet of a body lying prone (a crawl) stand on their toe tips, soles facing back or up, and
# turning them flat lifts the hips off the floor (dm_crawl tracked 203 mm from its input so)
LEVEL_MAX_TILT_DEG = 45.0
DROP_PASSES = 3  # reach_drop is measured and applied this many times at most (a lower pelvis bends the legs)
DROP_TOL_M = 0.001  # m: a drop this small is not applied
REACH_SLACK_M = 0.003  # m: a planted foot counts as reached when the leg is this much short of straight


@dataclass(frozen=True)
class PlantConfig:
    """Attributes:
    ramp_s: corrections fade out over this many seconds before and after a planted run, s.
    max_correction_m: longer ankle corrections are scaled down to this (a foot that slides
        further is not a sliding foot but a different motion), m.
    level: turn flat-planted feet level.
    fill_support: stand on the lower foot where no foot is planted outside free flight
        (foot_modes).
    max_pelvis_drop_m: lower the pelvis by up to this much where a planted foot is out of the
        leg's reach (module docstring; 0 = never), m.
    """

    ramp_s: float = 0.1
    max_correction_m: float = 0.3
    level: bool = True
    fill_support: bool = True
    max_pelvis_drop_m: float = 0.0

    def __post_init__(self) -> None:
        if self.ramp_s < 0 or self.max_correction_m <= 0 or not self.max_pelvis_drop_m >= 0:
            raise ConfigError(
                f"PlantConfig: ramp_s and max_pelvis_drop_m must be >= 0 and max_correction_m > 0, got {self}"
            )


def foot_modes(soles: np.ndarray, dt: float, pelvis: np.ndarray | None = None) -> np.ndarray:
    """Contact mode `(T, 2)` (SWING, FLAT, HEEL, TOE) of each foot from its sole corners
    `soles (T, 2, 8, 3)` (body.sole_points) sampled every `dt` seconds.

    With the pelvis path `pelvis (T, 3)`, frames where no foot qualifies as planted but the
    body is not in free flight (support_gaps) stand flat on their lower foot: generated
    clips often let both feet hover or skate a few centimetres up while they walk, and a body
    has to stand on something."""
    T = len(soles)
    planted = contacts.stance(soles.reshape(T, 4, 4, 3), dt).reshape(T, 2, 2)  # (T, foot, rear/toes)
    rear, toes = planted[..., 0], planted[..., 1]
    modes = np.select([rear & toes, rear, toes], [FLAT, HEEL, TOE], SWING)
    if pelvis is not None:
        gaps = support_gaps(modes != SWING, pelvis, dt)
        lower = np.argmin(soles[..., 2].min(axis=2), axis=1)  # (T,) the foot with the lowest corner
        modes[gaps, lower[gaps]] = FLAT
    return modes


def support_gaps(
    planted: np.ndarray, pelvis: np.ndarray, dt: float, max_error_m: float = MAX_FLIGHT_ERROR_M
) -> np.ndarray:
    """Frames `(T,)` with no foot planted (`planted (T, 2)`) that are not free flight.

    A run of such frames between supported ones is flight when the pelvis follows the
    free-fall parabola through the run's ends within `max_error_m`; otherwise (and for runs
    touching the clip's ends, whose flight cannot be checked) the body is taken to stand."""
    T = len(planted)
    none = ~planted.any(axis=1)
    gaps = np.zeros(T, dtype=bool)
    for a, b in true_runs(none):
        if a == 0 or b == T:
            gaps[a:b] = True
            continue
        t = (np.arange(a, b) - (a - 1)) * dt
        span = (b - (a - 1)) * dt
        s = t / span
        line = (1 - s)[:, None] * pelvis[a - 1] + s[:, None] * pelvis[b]
        line[:, 2] += 0.5 * GRAVITY * t * (span - t)
        if np.abs(line - pelvis[a:b]).max() > max_error_m:
            gaps[a:b] = True
    return gaps


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges `[a, b)` where `mask (T,)` is True."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def fade_weights(held: np.ndarray, frames: int) -> np.ndarray:
    """Weight `(T,)` that is 1 on `held (T,)` frames and falls linearly to 0 within `frames`
    frames of the nearest held frame."""
    T = len(held)
    if not held.any():
        return np.zeros(T)
    idx = np.arange(T)
    dist = np.abs(idx[:, None] - np.flatnonzero(held)[None]).min(axis=1)
    return np.clip(1.0 - dist / (frames + 1), 0.0, 1.0) if frames > 0 else held.astype(np.float64)


def _extend(values: np.ndarray, held: np.ndarray) -> np.ndarray:
    """`values (T, ...)` on held frames, the nearest held frame's value elsewhere."""
    held_idx = np.flatnonzero(held)
    nearest = held_idx[np.abs(np.arange(len(held))[:, None] - held_idx[None]).argmin(axis=1)]
    return values[nearest]


def sole_tilt_deg(R: np.ndarray) -> np.ndarray:
    """Angle `(...)` in degrees between the soles of feet with global rotations `R (..., 3, 3)`
    and the floor (0: the sole, local -y, faces straight down)."""
    return np.degrees(np.arccos(np.clip(R[..., 2, 1], -1.0, 1.0)))


def _level(R: np.ndarray) -> np.ndarray:
    """The rotations `(T, 3, 3)` nearest `R` whose sole (local -y) faces straight down."""
    up = np.broadcast_to([0.0, 0.0, 1.0], R[:, :, 1].shape)
    return rot.rotation_between(R[:, :, 1], up) @ R


def plant_corrections(
    motion: Motion, cfg: PlantConfig = PlantConfig(), offsets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What `plant_feet` does to each foot: ankle displacements `(T, 2, 3)` (m), target global
    ankle rotations `(T, 2, 3, 3)`, and the modes `(T, 2)`."""
    off = sk.REST_OFFSETS if offsets is None else offsets
    T = motion.num_frames
    pos, glob = motion.fk(off)
    soles = bd.sole_points(bd.geometry(off), pos, glob)  # (T, 2, 8, 3)
    modes = foot_modes(soles, 1.0 / motion.fps, pos[:, sk.PELVIS] if cfg.fill_support else None)
    frames = round(cfg.ramp_s * motion.fps)
    corr = np.zeros((T, 2, 3))
    target_rot = glob[:, list(_ANKLES)].copy()
    for f, ankle in enumerate(_ANKLES):
        mode = modes[:, f]
        planted = mode != SWING
        if not planted.any():
            continue
        R = glob[:, ankle]
        level = (mode == FLAT) & (sole_tilt_deg(R) <= LEVEL_MAX_TILT_DEG)
        if cfg.level and level.any():
            w = fade_weights(level, frames)
            q = rot.quat_slerp(rot.mat_to_quat(R), rot.mat_to_quat(_level(R)), w)
            target_rot[:, f] = rot.quat_to_mat(q)
        # the sole's corners with the new orientation, the ankle where it is
        turn = target_rot[:, f] @ np.swapaxes(R, -1, -2)  # (T, 3, 3)
        corners = pos[:, ankle, None] + np.einsum("tij,tcj->tci", turn, soles[:, f] - pos[:, ankle, None])
        part = {FLAT: slice(0, 8), HEEL: _REAR, TOE: _TOES}
        c = np.zeros((T, 3))
        for m, sl in part.items():
            on = mode == m
            if not on.any():
                continue
            pts = corners[on, sl]  # (n, k, 3)
            centre = pts[..., :2].mean(axis=1)
            for a, b in true_runs(on):
                # index of frames a..b-1 within the `on` selection
                i0 = int(on[:a].sum())
                sub = centre[i0 : i0 + b - a]
                c[a:b, :2] = np.median(sub, axis=0) - sub
            c[on, 2] = -pts[..., 2].min(axis=1)
        # fade the correction out around the planted runs, from the nearest planted frame
        w = fade_weights(planted, frames)
        corr[:, f] = np.where(planted[:, None], c, _extend(c, planted) * w[:, None])
    norm = np.linalg.norm(corr, axis=-1, keepdims=True)
    corr *= np.minimum(1.0, cfg.max_correction_m / np.maximum(norm, 1e-12))
    return corr, target_rot, modes


def plant_feet(motion: Motion, cfg: PlantConfig = PlantConfig(), offsets: np.ndarray | None = None) -> Motion:
    """The clip with its planted feet on the floor and still (see the module docstring)."""
    if motion.num_frames < 2:
        return motion
    off = sk.REST_OFFSETS if offsets is None else offsets
    corr, target_rot, modes = plant_corrections(motion, cfg, off)
    if not (modes != SWING).any():
        return motion
    if cfg.max_pelvis_drop_m > 0:
        total = np.zeros(motion.num_frames)
        for _ in range(DROP_PASSES):
            drop = np.minimum(reach_drop(motion, corr, modes, cfg, off), cfg.max_pelvis_drop_m - total)
            if drop.max() <= DROP_TOL_M:
                break
            total += drop
            motion = motion.replace(trans=motion.trans - (drop[:, None] * [0.0, 0.0, 1.0]).astype(motion.trans.dtype))
            corr, target_rot, modes = plant_corrections(motion, cfg, off)
    pos, glob = motion.fk(off)
    for f, leg in enumerate(LEGS):
        glob = reach(glob, pos, leg, pos[:, leg[2]] + corr[:, f], off)
        # the ankle takes its new global rotation; the toes keep theirs relative to it
        toe = sk.LEFT_FOOT if f == 0 else sk.RIGHT_FOOT
        toe_local = np.swapaxes(glob[:, leg[2]], -1, -2) @ glob[:, toe]
        glob[:, leg[2]] = target_rot[:, f]
        glob[:, toe] = target_rot[:, f] @ toe_local
        pos, _ = sk.fk_mats(sk.local_rotations(glob), motion.trans, off)
    return motion.replace(poses=rot.mat_to_aa(sk.local_rotations(glob)))


def reach_drop(
    motion: Motion, corr: np.ndarray, modes: np.ndarray, cfg: PlantConfig, offsets: np.ndarray
) -> np.ndarray:
    """How far `(T,)` (m, >= 0) to lower the pelvis so that every planted ankle's target
    (`corr (T, 2, 3)`, `modes (T, 2)` of plant_corrections) is within the straight leg's
    reach, less REACH_SLACK_M. The need of each frame is spread over `ramp_s` either side (a
    running maximum, then a Gaussian of half that width), so the pelvis sinks and rises
    smoothly around it; a target further out horizontally than the leg can reach at all
    counts as at 95 % of it."""
    pos, _ = motion.fk(offsets)
    need = np.zeros(motion.num_frames)
    for f, (hip, knee, ankle) in enumerate(LEGS):
        leg = float(np.linalg.norm(offsets[knee]) + np.linalg.norm(offsets[ankle])) - REACH_SLACK_M
        to = pos[:, ankle] + corr[:, f] - pos[:, hip]
        across = np.minimum(np.linalg.norm(to[:, :2], axis=-1), 0.95 * leg)
        short = -to[:, 2] - np.sqrt(leg * leg - across * across)  # how much lower the hip must be
        need = np.maximum(need, np.where(modes[:, f] != SWING, short, 0.0))
    need = np.maximum(need, 0.0)
    frames = max(1, round(cfg.ramp_s * motion.fps))
    return gaussian_filter1d(maximum_filter1d(need, 2 * frames + 1), frames / 2, mode="nearest")
