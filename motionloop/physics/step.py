"""Step repair of a reference: move a planted foot under the ZMP the reference needs.

The balance repair (balance.py) brings a needed ZMP that lies outside the feet back over them
by shifting the pelvis, with the feet kept where they are. Where the ZMP lies far outside,
as in many generated clips (a dance or a punch on one foot with the centre of mass 20-40 cm
beside it), that moves the whole upper body, and with it most of the joints MPJPE counts. The
other way to the same balance is to move the support: put the foot that carries the body
where the ZMP is, as a person who would otherwise fall takes a step. Only the leg moves.

For each foot and each run of frames in which it is planted (contacts.stance), the frames of
that run where it carries the body alone (the other foot not planted, no other body part on
the floor) ask for the shift that brings the needed ZMP into the support polygon (shrunk by
`margin_m`: balance.project_to_polygon); the run's step is the median of those shifts, so a
few frames do not move a foot that balances the rest of the time. A step is cut to
`max_step_m` and to what the leg reaches with the foot still on the floor (a straight
stance leg, as in many generated walks, cannot put its foot further out without lifting
it), and dropped if that leaves it shorter than `min_step_m`. The foot holds its run's step
throughout the run (a planted foot stays put) and moves linearly from one run's step to the
next over the swing between them; it keeps its orientation, and hip and knee follow by
two-bone IK (ik.reach). The balance repair then runs on the stepped clip and shifts the
pelvis for what is left.

Frames where the needed ZMP means little are left out: the first and last `edge_frames`
(its second derivative there is one-sided) and frames where the floor carries less than
`min_load` of the body's weight (`cdd_z + g < min_load g`: a body about to leave the floor,
whose ZMP runs off to metres as the vertical force goes to zero).

It is an option (`RepairConfig.step_feet`, `correct --step-feet`, `motion.step_feet` in a
loop), off by default. Paired over four start-state draws (benchmarks/bench_quality_ab.py),
the generated clips' MPJPE median falls by 12 mm (lower in every draw) at the same success
rate; on the real clips more are tracked residual-free (+0.02) but one fewer is a success in
three of the four draws, and MPJPE rises by about 1 mm (README, "Measured figures").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionloop import body as bd
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.errors import ConfigError
from motionloop.ik import LEGS, reach
from motionloop.motion import Motion
from motionloop.physics import contacts
from motionloop.physics.balance import project_to_polygon, zmp_and_support
from motionloop.physics.model import Humanoid
from motionloop.physics.plant import REACH_SLACK_M, true_runs


@dataclass(frozen=True)
class StepConfig:
    """Attributes (module docstring):
    margin_m: the ZMP is brought this far inside the support polygon, m.
    min_step_m: shorter steps are not taken, m.
    max_step_m: longer steps are cut to this length, m.
    min_frames: a run's step needs at least this many usable single-support frames.
    min_load: frames where the floor carries less than this share of body weight are left out.
    edge_frames: this many frames at each end of the clip are left out.
    """

    margin_m: float = 0.02
    min_step_m: float = 0.02
    max_step_m: float = 0.3
    min_frames: int = 2
    min_load: float = 0.7
    edge_frames: int = 2

    def __post_init__(self) -> None:
        if not (0 <= self.margin_m and 0 <= self.min_step_m < self.max_step_m and 0 <= self.min_load):
            raise ConfigError(
                f"StepConfig: need margin_m, min_step_m, min_load >= 0 and min_step_m < max_step_m: {self}"
            )
        for name in ("min_frames", "edge_frames"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name == "min_frames" else 0):
                raise ConfigError(
                    f"StepConfig.{name}: expected an integer >= {1 if name == 'min_frames' else 0}, got {v!r}"
                )


def zmp_shifts(h: Humanoid, motion: Motion, cfg: StepConfig = StepConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Per frame the shift `(T, 2)` (m) that would bring the needed ZMP into the support
    polygon (zero where it is inside), NaN on frames left out (module docstring); and
    whether a body part other than the feet is on the floor `(T,)`."""
    T = motion.num_frames
    zmp, support, on_body, _, fz = zmp_and_support(h, motion)
    load = fz / -float(h.model.opt.gravity[2])
    shifts = np.full((T, 2), np.nan)
    for t in range(cfg.edge_frames, T - cfg.edge_frames):
        if len(support[t]) == 0 or np.isnan(zmp[t]).any() or on_body[t] or load[t] < cfg.min_load:
            continue
        shifts[t] = zmp[t] - project_to_polygon(zmp[t], support[t], cfg.margin_m)
    return shifts, on_body


def _reach_along(hip: np.ndarray, ankle: np.ndarray, u: np.ndarray, leg: float) -> float:
    """How far (m, >= 0) the ankles `(n, 3)` can move horizontally along the unit vector `u
    (2,)` at their own height with every hip `(n, 3)` within `leg` of them: the least over
    the frames (0 where one is already out of reach)."""
    v = ankle - hip
    along = v[:, :2] @ u
    disc = along**2 - np.einsum("ij,ij->i", v, v) + leg * leg
    return float(np.clip(-along + np.sqrt(np.maximum(disc, 0.0)), 0.0, None).min())


def step_offsets(h: Humanoid, motion: Motion, cfg: StepConfig = StepConfig()) -> tuple[np.ndarray, int]:
    """Horizontal ankle displacements `(T, 2, 2)` (m) per frame and foot (left, right), and
    how many planted runs take a step."""
    T = motion.num_frames
    off = h.spec.offsets_array()
    pos, glob = motion.fk(off)
    soles = bd.sole_points(bd.geometry(off), pos, glob).reshape(T, 4, 4, 3)
    planted = contacts.stance(soles, 1.0 / motion.fps).reshape(T, 2, 2).any(axis=2)  # (T, foot)
    shifts, on_body = zmp_shifts(h, motion, cfg)
    legs = [float(np.linalg.norm(off[knee]) + np.linalg.norm(off[ankle])) - REACH_SLACK_M for _, knee, ankle in LEGS]
    offsets = np.zeros((T, 2, 2))
    taken = 0
    for f in range(2):
        runs = true_runs(planted[:, f])
        steps = []
        for a, b in runs:
            alone = np.arange(a, b)
            alone = alone[~planted[alone, 1 - f] & ~np.isnan(shifts[alone, 0])]
            step = np.zeros(2)
            if len(alone) >= cfg.min_frames and not on_body[a:b].any():
                step = np.median(shifts[alone], axis=0)
                length = float(np.linalg.norm(step))
                if length > 0:
                    reach_m = _reach_along(pos[a:b, LEGS[f][0]], pos[a:b, LEGS[f][2]], step / length, legs[f])
                    length = min(length, cfg.max_step_m, reach_m)
                    step = step / np.linalg.norm(step) * length if length >= cfg.min_step_m else np.zeros(2)
            steps.append(step)
        n = sum(bool(s.any()) for s in steps)
        if not n:
            continue
        taken += n
        o = offsets[:, f]
        for (a, b), s in zip(runs, steps):
            o[a:b] = s
        # the swing between two runs goes linearly from one's step to the next's; before
        # the first run and after the last the foot keeps that run's step
        for (_, b0), (a1, _), s0, s1 in zip(runs[:-1], runs[1:], steps[:-1], steps[1:]):
            w = (np.arange(b0, a1) - b0 + 1)[:, None] / (a1 - b0 + 1)
            o[b0:a1] = (1 - w) * s0 + w * s1
        o[: runs[0][0]] = steps[0]
        o[runs[-1][1] :] = steps[-1]
    return offsets, taken


def step_repair(h: Humanoid, motion: Motion, cfg: StepConfig = StepConfig()) -> tuple[Motion, dict]:
    """The clip with each planted foot moved by its step (`step_offsets`), hip and knee by
    leg IK; also `{steps, max_step_m}`: how many foot-runs moved, and the longest move."""
    offsets, taken = step_offsets(h, motion, cfg)
    moved = np.linalg.norm(offsets, axis=-1)  # (T, 2)
    if not moved.any():
        return motion, {"steps": 0, "max_step_m": 0.0}
    off = h.spec.offsets_array()
    pos, glob = motion.fk(off)
    for f, leg in enumerate(LEGS):
        if not moved[:, f].any():
            continue
        target = pos[:, leg[2]].copy()
        target[:, :2] += offsets[:, f]
        glob = reach(glob, pos, leg, target, off)
        pos, _ = sk.fk_mats(sk.local_rotations(glob), motion.trans, off)
    out = motion.replace(poses=rot.mat_to_aa(sk.local_rotations(glob)))
    return out, {"steps": taken, "max_step_m": float(moved.max())}
