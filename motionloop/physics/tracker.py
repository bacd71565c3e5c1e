"""Simulate the humanoid tracking one reference clip; the simulated trajectory is the output.

Loop: at each control step (cfg.control_hz) the whole-body controller computes torques and the
root residual from the current state, which are held for the physics substeps until the next
control step. The state is recorded at the clip's own frame times. A fail-safe as in UHC: when
the mean joint-position error against the reference exceeds `reset_error_m`, the body is reset
to the reference state and tracking continues; the reset is counted and the clip is not a
success.

Local assistance (`assist`; no learning: the roll-back and re-simulation of sampling-based
trackers such as SAMCON, with one alternative controller instead of random samples): the
clip is tracked with `cfg` (normally residual-free); when the body falls (the error test
above), the simulation is wound back `rewind_s` to a saved state and that stretch, up to
`assist_after_s` past the fall, is tracked again with the `assist` controller (a bounded
root residual); then tracking goes on with `cfg`. A second fall before the stretch ends is
reset as usual. The residual is then spent only where the body could not follow without it,
which is what the residual budget of `correct` asks for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import mujoco
import numpy as np

from motionloop.errors import MotionloopError
from motionloop.motion import Motion
from motionloop.physics.config import TrackerConfig
from motionloop.physics.feasibility import TORQUE_ARM
from motionloop.physics.model import ROOT_DOFS, Humanoid
from motionloop.physics.reference import Reference, build_reference
from motionloop.physics.wbc import WholeBodyController


class TrackingTimeout(MotionloopError):
    """Tracking one clip took longer than its time limit."""


@dataclass
class TrackResult:
    """Outcome of tracking one clip.

    Attributes:
        qpos: `(T, nq)` simulated state at the clip's frame times.
        residual_bw: `(K,)` root residual force per control step, fraction of body weight.
        residual_torque_bw: `(K,)` root residual torque per control step, in body weight x 1 m.
        resets: number of fail-safe resets.
        qp_failures: control steps where the QP failed (zero command applied).
        cpu_s: process CPU seconds spent.
        control_dt: control period in s (the spacing of the residual series).
        reset_steps: control steps at which the fail-safe reset the body.
        falls: control steps at which the body fell and was wound back to be assisted.
        assisted: `(K,)` bool, control steps tracked with the assisting controller.
        stopped_at: control step at which tracking ended at a fall (`stop_at_fall`; -1: it
            ran to the end). The states recorded after it are zero.
    """

    qpos: np.ndarray
    residual_bw: np.ndarray
    residual_torque_bw: np.ndarray
    resets: int
    qp_failures: int
    cpu_s: float
    control_dt: float
    reset_steps: list[int] = field(default_factory=list)
    falls: list[int] = field(default_factory=list)
    assisted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    stopped_at: int = -1

    @property
    def fell(self) -> list[int]:
        """The control steps at which the body fell: those wound back to be assisted, or,
        tracked with no assistance, those at which it was reset."""
        return self.falls or self.reset_steps


# a reference whose planted soles hover up to this high (m) at the step the simulation starts
# or is reset to is lowered onto them (set_state)
SETTLE_MAX_M = 0.05


def set_state(h: Humanoid, d: mujoco.MjData, ref: Reference, k: int, soles: list[np.ndarray]) -> None:
    """Put the body in the reference state of step `k`, lowered so that the lowest corner of
    its planted sole segments (`soles`: each segment's sole-corner geoms, Reference.stance
    order) touches the floor. The plant repair leaves planted feet up to a centimetre or so
    above the floor where the leg cannot reach down; started there, the body dropped onto
    them, and the impact cost the short walker turns their balance (one more of the 47
    real clips reached the end residual-free, FID change of corrected real clips +3.3 ->
    +2.7 +- 0.8, at 1-2 mm more MPJPE)."""
    m = h.model
    d.qpos[:] = ref.qpos[k]
    d.qvel[:] = ref.qvel[k]
    d.qacc_warmstart[:] = 0.0
    mujoco.mj_kinematics(m, d)
    heights = [float((d.geom_xpos[g, 2] - m.geom_size[g, 0]).min()) for g, on in zip(soles, ref.stance[k]) if on]
    if heights and 0.0 < min(heights) <= SETTLE_MAX_M:
        d.qpos[2] -= min(heights)
    mujoco.mj_forward(m, d)


def body_error(h: Humanoid, d: mujoco.MjData, ref_xpos: np.ndarray) -> float:
    """The fall test's measure: mean distance (m) of the 24 simulated bodies from `ref_xpos
    (24, 3)`, the reference's body positions at this step."""
    return float(np.linalg.norm(d.xpos[h.body_id] - ref_xpos, axis=-1).mean())


def control_rate(h: Humanoid, cfg: TrackerConfig) -> float:
    """The control rate in Hz nearest `cfg.control_hz` that holds a whole number of physics
    steps (else simulated and reference time drift apart)."""
    substeps = max(1, round(1.0 / (cfg.control_hz * h.model.opt.timestep)))
    return 1.0 / (substeps * h.model.opt.timestep)


def reference_period_check(h: Humanoid, ref: Reference) -> int:
    """The physics steps per control step of `ref`; MotionloopError unless its period holds a
    whole number of them."""
    step = h.model.opt.timestep
    substeps = max(1, round(ref.dt / step))
    if abs(substeps * step - ref.dt) > 1e-9:
        raise MotionloopError(
            f"reference period {ref.dt} s is not a whole number of physics steps ({step} s); "
            "build it at control_rate(h, cfg)"
        )
    return substeps


def output_steps(motion: Motion, ref: Reference) -> np.ndarray:
    """The control step of `ref` whose state each frame of `motion` records, `(frames,)`."""
    return np.minimum(np.round(np.arange(motion.num_frames) / motion.fps / ref.dt).astype(int), ref.num_steps - 1)


def apply_and_step(
    m: mujoco.MjModel, d: mujoco.MjData, ctrl: np.ndarray, residual: np.ndarray | float, substeps: int
) -> bool:
    """Apply the actuator torques `ctrl` and the root `residual` wrench (6,) to the state that
    mj_step1 has prepared, finish that physics step (mj_step2) and take the control step's
    other `substeps - 1`; whether the state is still finite."""
    d.ctrl[:] = ctrl
    d.qfrc_applied[:ROOT_DOFS] = residual
    mujoco.mj_step2(m, d)
    for _ in range(substeps - 1):
        mujoco.mj_step(m, d)
    return bool(np.all(np.isfinite(d.qpos)))


CHECKPOINT_STEPS = 8  # control steps between saved states for winding back
SIM_STATE = mujoco.mjtState.mjSTATE_INTEGRATION  # what a saved state for winding back holds


def track(
    h: Humanoid,
    motion: Motion,
    cfg: TrackerConfig,
    reference: Reference | None = None,
    assist: TrackerConfig | None = None,
    rewind_s: float = 0.75,
    assist_after_s: float = 0.25,
    stop_at_fall: bool = False,
) -> TrackResult:
    """Track `motion` (or a prepared `reference` of it) with the whole-body controller; with
    `assist`, a fall winds back `rewind_s` and tracks the stretch with `assist` (module
    docstring). With `stop_at_fall` (not with `assist`), tracking ends at the first fall: the
    result counts it as a reset, says where (`stopped_at`), and its states after it are zero.
    A try that is worth something only if it reaches the end costs no more than it needs."""
    t0 = time.process_time()
    m = h.model
    d = mujoco.MjData(m)
    ref = reference if reference is not None else build_reference(h, motion, control_rate(h, cfg), cfg.smooth_s)
    substeps = reference_period_check(h, ref)
    if stop_at_fall and assist is not None:
        raise MotionloopError("track: stop_at_fall ends at a fall; it cannot also be assisted there")
    if rewind_s < 0 or assist_after_s < 0:
        raise MotionloopError(f"rewind_s and assist_after_s must be >= 0, got {rewind_s}, {assist_after_s}")
    ctl = WholeBodyController(h, cfg)
    helper = WholeBodyController(h, assist) if assist is not None else None
    back, ahead = round(rewind_s / ref.dt), round(assist_after_s / ref.dt)

    out_steps = output_steps(motion, ref)
    qpos_out = np.zeros((motion.num_frames, h.nq))
    residual = np.zeros(ref.num_steps)
    residual_torque = np.zeros(ref.num_steps)
    assisted = np.zeros(ref.num_steps, dtype=bool)
    qp_failed = np.zeros(ref.num_steps, dtype=bool)  # per step: steps tracked again count once
    resets, reset_steps, falls = 0, [], []
    stopped = -1
    saved: dict[int, np.ndarray] = {}  # control step -> state before its mj_step1
    state_size = mujoco.mj_stateSize(m, SIM_STATE)
    window_end = -1  # last step of the current assisted stretch
    set_state(h, d, ref, 0, ctl.sole_geoms)
    k = frame = 0
    while k < ref.num_steps:
        if k % 32 == 0 and time.process_time() - t0 > cfg.time_limit_s:
            raise TrackingTimeout(f"{motion.source or 'clip'}: tracking exceeded {cfg.time_limit_s:.0f} s CPU")
        if helper is not None and (k % CHECKPOINT_STEPS == 0 or not saved):
            saved[k] = np.empty(state_size)
            mujoco.mj_getState(m, d, saved[k], SIM_STATE)
            for old in [j for j in saved if j < k - back - CHECKPOINT_STEPS]:
                del saved[old]
        # the first half of a physics step: kinematics, inertia, contacts and bias forces of
        # the current state, which the controller reads; mj_step2 then integrates with the
        # command (together they are one mj_step, for the Euler and implicit integrators)
        mujoco.mj_step1(m, d)
        if body_error(h, d, ref.body_pos[k]) > cfg.reset_error_m:
            if stop_at_fall:
                resets += 1
                reset_steps.append(k)
                stopped = k
                break
            if helper is not None and k > window_end:
                # wind back and track the stretch before and just after the fall with help
                start = max((j for j in saved if j <= k - back), default=min(saved))
                falls.append(k)
                assisted[start : k + ahead + 1] = True
                window_end = k + ahead
                mujoco.mj_setState(m, d, saved[start], SIM_STATE)
                saved = {j: v for j, v in saved.items() if j <= start}
                k, frame = start, int(np.searchsorted(out_steps, start))  # frames from there are recorded again
                continue
            set_state(h, d, ref, k, ctl.sole_geoms)
            resets += 1
            reset_steps.append(k)
            saved.clear()
        while frame < motion.num_frames and out_steps[frame] == k:
            qpos_out[frame] = d.qpos
            frame += 1
        if k == ref.num_steps - 1:
            break
        cmd = (helper if assisted[k] else ctl).compute(d, ref, k)
        qp_failed[k] = not cmd.ok
        residual[k] = np.linalg.norm(cmd.residual[:3]) / h.weight
        residual_torque[k] = np.linalg.norm(cmd.residual[3:]) / (h.weight * TORQUE_ARM)
        if not apply_and_step(m, d, cmd.ctrl, cmd.residual, substeps):
            if stop_at_fall:
                resets += 1
                reset_steps.append(k + 1)
                stopped = k + 1
                break
            set_state(h, d, ref, k + 1, ctl.sole_geoms)
            resets += 1
            reset_steps.append(k + 1)
            saved.clear()
        k += 1
    used = slice(0, max(1, ref.num_steps - 1))  # the last step takes no command
    return TrackResult(
        qpos_out,
        residual[used],
        residual_torque[used],
        resets,
        int(qp_failed.sum()),
        time.process_time() - t0,
        ref.dt,
        reset_steps,
        falls,
        assisted[used],
        stopped,
    )
