"""Configuration of physics correction (frozen, validated, loadable from TOML)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Literal, get_args

from motionloop.errors import ConfigError


@dataclass(frozen=True)
class TrackerConfig:
    """Gains and weights of the whole-body tracking controller (wbc.py, tasks.py).

    Gains are accelerations per unit error: kp in 1/s^2, kd in 1/s. Weights are relative
    (dimensionless after each task's own scaling). `w_residual` prices the root residual
    wrench against tracking: large = physics wins, small = the reference wins.

    Attributes (the less obvious ones):
        control_hz: control rate; the nearest rate that holds a whole number of physics
            steps is used (tracker.control_rate).
        smooth_s: Gaussian width (s) that low-passes the reference before its splines are
            fitted; mocap noise at 20 fps otherwise becomes accelerations of several g. It
            trades tracking against fidelity (bench_smoothing, 47 real clips, one smoothing
            for every attempt): 0 / 0.025 / 0.05 s give success 0.72 / 0.72 / 0.87
            and an FID change of the corrected clips of +2.2 / +2.2 / +7.9. `correct` tries the
            unsmoothed reference first (CorrectionConfig.unsmoothed_first) and this
            smoothing only where that fails.
        kp_com, kd_com, w_com: the CoM's PD law and weight (CentroidalTask). Soft gains keep
            a residual-free body from rocking itself over (see FREE_TRACKER); stiff ones track
            closer when a residual is allowed.
        w_angmom, kd_angmom: the angular momentum about the CoM follows the reference's at
            this weight, with this damping of its error (1/s).
        w_slip_swing: no-slip weight of touching points on foot segments the reference lifts.
        swing_force_scale: contact forces on segments the reference lifts cost this many
            times more (they may still push, e.g. on a toe the reference lifts a little early).
        leg_weight_scale, trunk_weight_scale: joint-tracking weight of the leg and spine
            joints relative to `w_joint`. A contact wrench that cannot give the motion tasks
            their root wrench leaves the difference to the cheapest joints; at a spine weight
            of 1 that bent the trunk: on 128 generated clips the tracked trunk leaned 19.7
            degrees from the generated one on average (real mocap 7.2), at 10 (and root
            orientation 30) 8.9 (3.1), with lower MPJPE (178 -> 166 mm; 64 -> 56 on real).
            (Leans as measured in that round, before metrics.trunk_pitch_deg; with it the
            corrected clips change pitch by 1.1 degrees real, 3.4 generated: bench_physics.)
        flat_foot_height: a planted segment is levelled only when its origin is this low (m).
        flat_foot_joint_scale: weight share kept by the ankle joint PD while levelling.
        w_hold, hold_height: a planted segment that came off the floor (lowest corner below
            hold_height, m) is stopped and brought down at weight w_hold.
        cp_gain: swing feet land off their reference spot by this share of the capture
            point's error (0 = off).
        w_force: regularisation of contact forces (per N^2, times body weight^2).
        residual_max_bw: bound on each root residual force component (fraction of body
            weight; the torque bound is the same times 1 m); 0 = no residual at all.
        friction: friction coefficient the QP plans with; below the floor's (1.0) on purpose.
        contact_margin: a floor contact this close (m) counts as touching.
        sole_gap: corners of a touching foot segment this close to the floor (m) may push.
        plan_contact_height: corners of a planted but not yet touching segment this close
            may push (0 = never).
        reset_error_m: mean body error (m) at which the fail-safe resets to the reference.
        time_limit_s: CPU seconds allowed per clip.
    """

    control_hz: float = 80.0
    smooth_s: float = 0.05
    kp: float = 400.0
    kd: float = 40.0
    kp_root: float = 400.0
    kd_root: float = 40.0
    kp_com: float = 100.0
    kd_com: float = 40.0
    kd_slip: float = 20.0
    w_joint: float = 1.0
    leg_weight_scale: float = 2.0
    trunk_weight_scale: float = 10.0
    w_root_rot: float = 30.0
    w_com: float = 100.0
    w_angmom: float = 10.0
    kd_angmom: float = 10.0
    w_slip: float = 10.0
    w_slip_swing: float = 0.0
    swing_force_scale: float = 100.0
    kp_flat: float = 400.0
    kd_flat: float = 40.0
    w_flat: float = 10.0
    flat_foot_height: float = 0.12
    flat_foot_joint_scale: float = 0.1
    kp_foot: float = 200.0
    kd_foot: float = 30.0
    w_foot: float = 1.0
    w_hold: float = 10.0
    hold_height: float = 0.05
    cp_gain: float = 0.0
    w_force: float = 1e-4
    w_residual: float = 100.0
    residual_max_bw: float = 0.2
    friction: float = 0.5
    contact_margin: float = 0.002
    sole_gap: float = 0.005
    plan_contact_height: float = 0.0
    reset_error_m: float = 0.5
    time_limit_s: float = 120.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
                raise ConfigError(f"TrackerConfig.{f.name}: expected a number, got {v!r}")
            if v < 0:
                raise ConfigError(f"TrackerConfig.{f.name}: must be >= 0, got {v}")
        for name in ("control_hz", "w_residual", "friction"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"TrackerConfig.{name}: must be > 0, got {getattr(self, name)}")


# The first, residual-free attempt of `correct`: soft centroidal gains (the divergent-component
# law of tasks.CentroidalTask with k = 3 gives kp 10, kd 6; 30 / 12 tracked walks closer at the
# same stability) and a weighted angular momentum. On the 47 bundled clips, residual-free:
# kp_com 100 / kd 40 reached the end on 16, 30 / 12 on 22-24, 10 / 7 on 22.
FREE_TRACKER = TrackerConfig(kp_com=30.0, kd_com=12.0, w_angmom=100.0, w_root_rot=10.0, residual_max_bw=0.0)

# The second residual-free controller of `correct` (CorrectionConfig.firm), for clips the first
# lets fall: the centre of mass weighted 2x over the motion tasks. The contact forces the QP
# picks are a compromise between the root wrench the motion tasks' optimum asks for and the
# centroidal one; where a planted foot rolls or is pulled flat, the motion tasks asked for
# root accelerations of 20-90 m/s^2 (dm_walker_turn_left0) and the planned CoM acceleration
# had the opposite sign of the wanted one. It is tracked on a reference whose pelvis is
# lowered where flat feet are out of reach (RepairConfig.pelvis_drop_m): a hovering planted
# foot is lifted off the floor by the tracker, and the body loses the support behind it.
FIRM_TRACKER = dataclasses.replace(FREE_TRACKER, w_com=200.0)


@dataclass(frozen=True)
class SearchConfig:
    """The residual-free search of `correct` where every other residual-free attempt fell
    (search.py): at a fall, the stretch from `rewinds_s` before it (each in turn) to
    `after_s` past it is tracked again on references shifted by a horizontal bump of random
    amplitude, up to `samples` shifts per rewind whose spread grows to `sigma_m` (m); the
    first that gets through is kept, and where none does, the previous stretch's next shift
    is tried (depth first). `budget`: at most this many simulated control steps per step of
    the reference, over the whole search. `seed`: of the shifts (the same for every clip,
    so a clip's search is reproducible). `max_falls`: `correct` searches only clips whose
    residual-free attempt on the search's own smoothing fell at most this many times (None:
    every clip). Every fall is a stretch that some shift must get through, and at a fall
    that none does, all of them are simulated in vain. Of the clips bench_physics searches
    (14 of the 47 real ones, 76 of its 128 generated ones), the 24 whose attempt fell 3 or
    more times took 70 % of the search's simulated steps on the real clips, and it carried
    1 of them in 120 searches (seeds 0-4), against 14 of the 66 that fell once or twice
    with seed 0; in bench_free_rungs' four runs (three with perturbed starts) the limit
    cost 3 of its 56 carries."""

    samples: int = 8
    sigma_m: float = 0.2
    rewinds_s: tuple[float, ...] = (0.75, 1.5)
    after_s: float = 0.5
    budget: float = 20.0
    seed: int = 0
    max_falls: int | None = 2

    def fell_too_often(self, falls: int) -> bool:
        """Whether a clip whose residual-free attempt fell `falls` times is past `max_falls`."""
        return self.max_falls is not None and falls > self.max_falls

    def __post_init__(self) -> None:
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 1:
            raise ConfigError(f"SearchConfig.samples: expected an integer >= 1, got {self.samples!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"SearchConfig.seed: expected an integer >= 0, got {self.seed!r}")
        falls = self.max_falls
        if falls is not None and (isinstance(falls, bool) or not isinstance(falls, int) or falls < 1):
            raise ConfigError(f"SearchConfig.max_falls: expected an integer >= 1 or None, got {falls!r}")
        for name in ("sigma_m", "after_s", "budget"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or v == float("inf"):
                raise ConfigError(f"SearchConfig.{name}: expected a finite number > 0, got {v!r}")
        rewinds = self.rewinds_s
        if (
            isinstance(rewinds, (str, bytes))
            or not hasattr(rewinds, "__iter__")
            or not rewinds
            or any(isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r < float("inf") for r in rewinds)
        ):
            raise ConfigError(f"SearchConfig.rewinds_s: expected one or more finite numbers > 0, got {rewinds!r}")
        object.__setattr__(self, "rewinds_s", tuple(float(r) for r in rewinds))


# where correction allows the root residual (physics.correct.CorrectionConfig.assist)
AssistMode = Literal["local", "whole"]
ASSIST_MODES: tuple[str, ...] = get_args(AssistMode)
