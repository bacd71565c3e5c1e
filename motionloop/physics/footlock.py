"""Foot locking: planted feet of a kinematic clip stay put on the floor (leg IK).

A foot segment in stance (contacts.stance) should neither slide nor hover: mocap noise,
retargeting and generated clips all let planted feet drift by centimetres, and a tracker that
follows such a reference either skates or fights its own contact forces. For every stance
run of a segment we take the median horizontal position of its sole centre over the run as
where it stands, and the floor as its height; the foot (ankle) is moved by the mean
correction of its planted segments, through the two-bone leg IK (only hip and knee turn, the
foot keeps its orientation), and the correction fades in and out linearly over `ramp_s`
around each stance so the swing leg does not jump.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionloop import body as bd
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data.legik import LEGS, reach
from motionloop.errors import ConfigError
from motionloop.motion import Motion
from motionloop.physics import contacts


@dataclass(frozen=True)
class FootLockConfig:
    """Attributes:
    ramp_s: the correction fades out over this many seconds before and after a stance.
    max_correction_m: corrections longer than this are scaled down to it (a clip whose feet
        slide further than this is not a sliding foot but a different motion).
    """

    ramp_s: float = 0.1
    max_correction_m: float = 0.3

    def __post_init__(self) -> None:
        if self.ramp_s < 0 or self.max_correction_m <= 0:
            raise ConfigError(f"FootLockConfig: ramp_s must be >= 0 and max_correction_m > 0, got {self}")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges `[a, b)` where `mask (T,)` is True."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def _fade(corr: np.ndarray, held: np.ndarray, frames: int) -> np.ndarray:
    """Extend corrections `corr (T, 3)` defined where `held (T,)` to the other frames, fading
    linearly to zero over `frames` frames from the nearest held frame."""
    T = len(corr)
    out = np.where(held[:, None], corr, 0.0)
    if frames <= 0 or not held.any():
        return out
    idx = np.arange(T)
    held_idx = np.flatnonzero(held)
    pos = np.searchsorted(held_idx, idx)
    prev = held_idx[np.clip(pos - 1, 0, len(held_idx) - 1)]
    nxt = held_idx[np.clip(pos, 0, len(held_idx) - 1)]
    for near in (prev, nxt):
        w = np.clip(1.0 - np.abs(idx - near) / (frames + 1), 0.0, 1.0)
        cand = corr[near] * w[:, None]
        # the stronger of the two fades (the nearer stance wins)
        take = ~held & (np.linalg.norm(cand, axis=1) > np.linalg.norm(out, axis=1))
        out[take] = cand[take]
    return out


def foot_corrections(motion: Motion, cfg: FootLockConfig = FootLockConfig(),
                     offsets: np.ndarray | None = None) -> np.ndarray:
    """Ankle displacements `(T, 2, 3)` (left, right; metres) that lock planted feet."""
    off = sk.REST_OFFSETS if offsets is None else offsets
    pos, glob = motion.fk(off)
    seg = bd.sole_points(bd.geometry(off), pos, glob).reshape(motion.num_frames, 4, 4, 3)
    planted = contacts.stance(seg, 1.0 / motion.fps)  # (T, 4)
    centre = seg.mean(axis=2)  # (T, 4, 3)
    low = seg[..., 2].min(axis=2)  # (T, 4)
    corr = np.zeros((motion.num_frames, 4, 3))
    for s in range(4):
        for a, b in _runs(planted[:, s]):
            target = np.median(centre[a:b, s, :2], axis=0)
            corr[a:b, s, :2] = target - centre[a:b, s, :2]
            corr[a:b, s, 2] = -low[a:b, s]
    out = np.zeros((motion.num_frames, 2, 3))
    frames = round(cfg.ramp_s * motion.fps)
    for foot in range(2):
        segs = planted[:, 2 * foot : 2 * foot + 2]  # (T, 2)
        n = segs.sum(axis=1)
        held = n > 0
        mean = (corr[:, 2 * foot : 2 * foot + 2] * segs[..., None]).sum(axis=1) / np.maximum(n, 1)[:, None]
        out[:, foot] = _fade(mean, held, frames)
    norm = np.linalg.norm(out, axis=-1, keepdims=True)
    return out * np.minimum(1.0, cfg.max_correction_m / np.maximum(norm, 1e-12))


def lock_feet(motion: Motion, cfg: FootLockConfig = FootLockConfig(), offsets: np.ndarray | None = None) -> Motion:
    """The clip with its planted feet held in place on the floor (see module docstring)."""
    off = sk.REST_OFFSETS if offsets is None else offsets
    corr = foot_corrections(motion, cfg, off)
    if np.abs(corr).max(initial=0.0) < 1e-6:
        return motion
    pos, glob = motion.fk(off)
    for foot, leg in enumerate(LEGS):
        glob = reach(glob, pos, leg, pos[:, leg[2]] + corr[:, foot], off)
        pos, _ = sk.fk_mats(sk.local_rotations(glob), motion.trans, off)
    return motion.replace(poses=rot.mat_to_aa(sk.local_rotations(glob)))
