"""Residual-free tracking by search, where the whole-body controller alone falls.

The controller (wbc.py, no residual) tracks the reference; where the body falls (the fail-safe
test of tracker.py: mean joint error above `reset_error_m`), the simulation is wound back
`rewinds_s` (each in turn) and the stretch from there to `after_s` past the fall is tracked
again on copies of the reference translated by a smooth horizontal bump (reference.shifted):
the swing feet land, and the centre of mass passes, off the original path, and both are back
on it at the stretch's end. The bump's amplitude is random, with a spread that grows from
`sigma_m / samples` to `sigma_m`, so small departures are tried first; the first shift that
gets through the stretch is kept and tracking goes on with the unshifted reference. Where no
shift of any rewind gets through, the search backtracks to the previous stretch and tries
its next shift (depth first). A rewind that reaches back into the stretch before tracks
from there with its own shift only (the earlier bump is dropped from that step on, so the
target jumps by what was left of it). It is bounded by `budget` simulated control steps per
step of the reference; a search that runs out reports the furthest step reached.

As in SAMCON (Liu et al. 2010, "Sampling-based contact-rich motion control") the controller
is fixed and the search is over its targets, with roll-back and re-simulation; unlike it,
stretches are searched only where the body fell, so a clip that the controller tracks alone
costs nothing more. The fall test is always against the unshifted reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import mujoco
import numpy as np

from motionloop.motion import Motion
from motionloop.physics.config import SearchConfig, TrackerConfig
from motionloop.physics.model import Humanoid
from motionloop.physics.reference import Reference, build_reference, shifted
from motionloop.physics.tracker import (
    CHECKPOINT_STEPS,
    SIM_STATE,
    TrackResult,
    apply_and_step,
    body_error,
    control_rate,
    output_steps,
    reference_period_check,
    set_state,
)
from motionloop.physics.wbc import WholeBodyController

Window = tuple[int, int, np.ndarray]  # (first step, last step, shift (3,) m)


@dataclass
class Segment:
    """What one run of the simulation did: the step at which the body fell (None: it did not),
    what it recorded per control step (`(qpos, qp ok)`), the states saved for winding back
    (step -> state), and the state after its last step (to go on from)."""

    fell: int | None
    steps: dict[int, tuple[np.ndarray, bool]]
    checkpoints: dict[int, object]
    state: object = None
    last: int = -1


class OutOfBudget(Exception):
    """The search simulated more control steps than its budget allows."""


class Simulation:
    """The humanoid tracking `ref` with `cfg`'s controller from saved states; `run` tracks a
    stretch, on a shifted reference inside its window. Counts the control steps it simulates
    (`steps`)."""

    def __init__(self, h: Humanoid, cfg: TrackerConfig, ref: Reference):
        self.h, self.cfg, self.ref = h, cfg, ref
        self.model = h.model
        self.data = mujoco.MjData(h.model)
        self.ctl = WholeBodyController(h, cfg)
        self.num_steps, self.dt = ref.num_steps, ref.dt
        self.substeps = reference_period_check(h, ref)
        self.size = mujoco.mj_stateSize(h.model, SIM_STATE)
        self.steps = 0

    def start(self) -> np.ndarray:
        """The state at step 0 (tracker.set_state)."""
        set_state(self.h, self.data, self.ref, 0, self.ctl.sole_geoms)
        return self._save()

    def _save(self) -> np.ndarray:
        state = np.empty(self.size)
        mujoco.mj_getState(self.model, self.data, state, SIM_STATE)
        return state

    def run(self, state: np.ndarray, k: int, stop: int, window: Window | None = None) -> Segment:
        """Track steps `k`..`stop` from `state` (the state at step `k`), or up to a fall."""
        m, d, ref = self.model, self.data, self.ref
        mujoco.mj_setState(m, d, state, SIM_STATE)
        target = ref if window is None else shifted(ref, *window)
        out = Segment(None, {}, {})
        last = min(stop, self.num_steps - 1)
        while True:
            if k % CHECKPOINT_STEPS == 0:
                out.checkpoints[k] = self._save()
            mujoco.mj_step1(m, d)
            self.steps += 1
            if body_error(self.h, d, ref.body_pos[k]) > self.cfg.reset_error_m:
                out.fell = k
                return out
            if k == self.num_steps - 1:
                out.steps[k] = (d.qpos.copy(), True)
                out.last = k
                return out
            cmd = self.ctl.compute(d, target, k)
            out.steps[k] = (d.qpos.copy(), cmd.ok)
            if not apply_and_step(m, d, cmd.ctrl, 0.0, self.substeps):  # residual-free
                out.fell = k + 1
                return out
            if k == last:
                out.state, out.last = self._save(), k
                return out
            k += 1


@dataclass
class SearchOutcome:
    """The tracked path (control step -> `(qpos, qp ok)`; None where the search failed), the
    furthest step any run reached without a fall, and the shifts kept (fall step, shift)."""

    path: dict[int, tuple[np.ndarray, bool]] | None
    furthest: int
    shifts: list[tuple[int, np.ndarray]] = field(default_factory=list)


def depth_first(sim, search: SearchConfig, time_limit_s: float = np.inf) -> SearchOutcome:
    """The search of the module docstring over `sim` (a `Simulation`, or anything with its
    `start`, `run`, `num_steps`, `dt` and `steps`)."""
    rng = np.random.default_rng(search.seed)
    n, dt = sim.num_steps, sim.dt
    budget = search.budget * n
    after = max(1, round(search.after_s / dt))
    rewinds = [max(1, round(r / dt)) for r in search.rewinds_s]
    t0 = time.process_time()
    furthest = [-1]
    kept: list[tuple[int, np.ndarray]] = []

    def note(seg: Segment) -> Segment:
        reached = (seg.fell - 1) if seg.fell is not None else seg.last
        furthest[0] = max(furthest[0], reached)
        return seg

    def advance(state, k: int, saved: dict) -> dict | None:
        """The path from step `k` on (None: no shift gets the body to the end)."""
        seg = note(sim.run(state, k, n - 1))
        if seg.fell is None:
            return seg.steps
        saved = {**saved, **seg.checkpoints}
        tried: set[int] = set()
        for back in rewinds:
            start = max((j for j in saved if j <= seg.fell - back), default=min(saved))
            if start in tried:
                continue
            tried.add(start)
            end = min(n - 1, seg.fell + after)
            before = {j: s for j, s in saved.items() if j <= start}
            for i in range(search.samples):
                if sim.steps > budget or time.process_time() - t0 > time_limit_s:
                    raise OutOfBudget
                spread = search.sigma_m * (i + 1) / search.samples
                delta = np.array([rng.normal(0.0, spread), rng.normal(0.0, spread), 0.0])
                win = note(sim.run(saved[start], start, end, (start, end, delta)))
                if win.fell is not None:
                    continue
                depth = len(kept)
                kept.append((seg.fell, delta))
                rest = {} if win.last >= n - 1 else advance(win.state, win.last + 1, {**before, **win.checkpoints})
                if rest is not None:
                    return {j: v for j, v in seg.steps.items() if j < start} | win.steps | rest
                del kept[depth:]
        return None

    start = sim.start()
    try:
        path = advance(start, 0, {})
    except OutOfBudget:
        path = None
    return SearchOutcome(path, furthest[0], list(kept) if path is not None else [])


def search_track(
    h: Humanoid,
    motion: Motion,
    cfg: TrackerConfig,
    search: SearchConfig,
    reference: Reference | None = None,
) -> TrackResult:
    """Track `motion` (or a prepared `reference` of it) residual-free with the search of the
    module docstring. The result is a `TrackResult` with no residual; `stopped_at` is -1
    where the body reached the end, else the furthest step reached (its states are then
    zero: it is worth something only if it reaches the end)."""
    t0 = time.process_time()
    ref = reference if reference is not None else build_reference(h, motion, control_rate(h, cfg), cfg.smooth_s)
    sim = Simulation(h, cfg, ref)
    outcome = depth_first(sim, search, cfg.time_limit_s)
    n = ref.num_steps
    out_steps = output_steps(motion, ref)
    qpos = np.zeros((motion.num_frames, h.nq))
    failed = 0
    if outcome.path is not None:
        qpos = np.stack([outcome.path[k][0] for k in out_steps])
        failed = sum(not outcome.path[k][1] for k in range(n - 1))
    used = max(1, n - 1)
    return TrackResult(
        qpos,
        np.zeros(used),
        np.zeros(used),
        0 if outcome.path is not None else 1,
        failed,
        time.process_time() - t0,
        ref.dt,
        stopped_at=-1 if outcome.path is not None else max(outcome.furthest, 0),
        assisted=np.zeros(used, dtype=bool),
    )
