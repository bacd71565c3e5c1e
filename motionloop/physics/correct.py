"""`correct(motions, config) -> (motions, reports)`: physics correction of a batch of clips.

Each clip is (1) repaired kinematically (grounded, feet planted, balanced: repair.py), (2)
tracked by the simulated humanoid with the whole-body controller, and (3) replaced by the
simulated trajectory. Tracking is tried first with no residual force at all (`free`). Where
that body falls, the simulation is wound back `rewind_s` and the stretch up to
`assist_after_s` past the fall is tracked with a bounded root residual, priced by
`strength`, before going on free (`assist = "local"`, tracker.py): the residual is spent
only where the body could not follow without it (`assist = "whole"`: no such stretches,
the free attempt is reset where it falls). Unless the body never fell and ended within
`verify_mpjpe_mm` of the input, the whole clip is then tracked again with the residual.
With `unsmoothed_first` (the default) each of the two is tried first on the unsmoothed
reference and then, if that was not enough, on the controllers' own smoothing
(`TrackerConfig.smooth_s`): smoothing helps the body follow noisy clips but moves the output
away from the data. The order (`CorrectionConfig.ladder`): residual-free unsmoothed, then
smoothed, stopping at one that never fell and ended within `close_mpjpe_mm` (40 mm) of the
input; where both fell, optionally (`unbalanced`) the unsmoothed reference repaired without
the balance shift, and then a second residual-free controller (`firm`) on a reference whose
pelvis is lowered where the planted feet are out of reach, kept only if it reaches the end;
where that fell too (`planned`), the residual-free controller on the reference whose centre
of mass follows the whole-clip centroidal plan (plan.py), unsmoothed, then smoothed, each
kept only if it reaches the end; where those fell too (`search`), the residual-free search
(search.py: at each fall, the stretch is tracked again on references shifted by a random
horizontal bump, backtracking where none gets through), kept only if it reaches the end,
and tried only where the free attempt on its reference fell at most
`SearchConfig.max_falls` times;
then the whole clip with the residual, unsmoothed, then smoothed, stopping once an attempt
is verified and within `close_mpjpe_mm` of the input; optionally (`sparing`), where some
attempt is a success but none is verified, the whole clip once more with the residual priced
higher (10 times: SPARING_PRICE), smoothed, kept only if it is a success; where no attempt so
far is a success
(`planned`), the whole clip with the residual once more, smoothed, on the planned reference,
whose centre of mass needs less of it, kept only if it is a success. Of all attempts the output is a success before a failure (a reset or the
budget broken), then verified before not, then fewer resets, then the closer one. A clip
that cannot be corrected (bad values, absurd placement, time limit) comes back
unchanged with a report that says why; it never stops the batch.

What a report's verdicts mean (and what the field calls them):
- `success_free`: a residual-free attempt (either smoothing, the firm controller, the
  planned reference, or the search) was
  tracked to the end with no residual force and no reset: the number PHC and UHC report as
  success rate.
- `success`: no reset, and the residual stayed within its small budget: mean force at most
  `budget_bw` of body weight, no `budget_window_s` stretch above `budget_peak_bw`, the root
  torque (in body weight x 1 m) alike. A clip tracked free is a success.
- `verified`: success, and the tracked clip within `verify_mpjpe_mm` of the input: what a
  self-consuming loop may train on (Morph's filter).

The strength knob `s` in [0, 1]: s = 0 returns the clip unchanged (nothing is tracked: the
report says success, MPJPE 0, and `verified` False, since no physics checked it); above, the
residual (assisted stretches and the whole-clip attempt) is priced geometrically from 1e2
(s -> 0) to 1e5 (s = 1), and
the ZMP balance repair of the reference (balance.py) is applied at share 2 s - 1 above
s = 0.5.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from motionloop import raycluster
from motionloop.config import at_least, check_choices
from motionloop.errors import ConfigError, MotionloopError
from motionloop.motion import Motion
from motionloop.physics import metrics as pm
from motionloop.physics.config import FIRM_TRACKER, FREE_TRACKER, AssistMode, SearchConfig, TrackerConfig
from motionloop.physics.executor import ExecutorName, make_executor
from motionloop.physics.feasibility import feasibility_bw
from motionloop.physics.model import Humanoid
from motionloop.physics.plan import centroidal_repair
from motionloop.physics.reference import Reference
from motionloop.physics.repair import RepairConfig, repair
from motionloop.physics.search import search_track
from motionloop.physics.tracker import TrackResult, track

log = logging.getLogger(__name__)

# strength -> price of the residual wrench relative to tracking, geometric in between:
# s = 0.25 / 0.5 / 0.75 / 1 give 5.6e2 / 3.2e3 / 1.8e4 / 1e5 (prices below ~1e3 all track
# about as closely, so the knob spends its range above)
_W_RESIDUAL = (1e2, 1e5)
SPARING_PRICE = 10.0  # CorrectionConfig.sparing's measured setting: the residual 10x dearer
MIN_FRAMES = 3  # a clip needs this many frames to have a velocity and an acceleration


@dataclass(frozen=True)
class CorrectionConfig:
    """Settings of `correct`.

    Attributes:
        strength: 0 = unchanged clip, 1 = full physics (see module docstring).
        tracker: controller of assisted tracking (local stretches and the whole-clip
            attempt); its `w_residual` is set by `strength`.
        free: controller of the first, residual-free attempt (its residual is off whatever
            it says); None skips that attempt.
        firm, firm_pelvis_drop_m: a second residual-free controller (physics.config.
            FIRM_TRACKER), tried only where every `free` attempt fell, on the reference
            repaired with `RepairConfig.pelvis_drop_m` = `firm_pelvis_drop_m` (m), without
            assistance; it stops at a fall and is kept only if it reaches the end. None
            skips it. The controllers fall on different clips (benchmarks/bench_free_rungs):
            clips that some residual-free rung tracks to the end, 47 real clips 27 -> 29
            (walk/turn/stand/gesture/crawl 24 -> 25 of 27), bench_physics's 128 generated
            45 -> 50; with the start velocity perturbed (N(0, 0.02) per dof, 3 draws) real
            26 / 27 / 26 -> 27 / 30 / 29 (easy 25 in each), generated 43 / 45 / 44 -> 47 /
            48 / 50.
        planned: where every residual-free attempt fell (the firm one too), two more with the
            `free` controller, unsmoothed and smoothed (`ladder`), on the repaired reference
            whose centre of mass follows the whole-clip centroidal plan (plan.py: momentum
            from contact forces in friction cones at the clip's contacts, ballistic flight),
            without assistance, each kept only if it reaches the end. The plan changes the
            reference of every clip it is applied to, and on its own (RepairConfig.plan)
            it carried clips with body contacts (crawl, getups, falls) worse than the
            unplanned reference; as the last residual-free rungs it only adds clips. And
            where no attempt at all is a success (every assisted one broke the budget or
            reset), the whole clip with the residual on the planned reference, smoothed, kept
            only if it is a success: a momentum that contact forces can give leaves less to
            the residual (dm_run: mean residual 8.2 -> 4.0 %BW, MPJPE 129 -> 112 mm). A plan
            that does not converge skips the rungs (logged).
        search: where every residual-free attempt fell (the planned ones too), the
            residual-free search of physics/search.py with the `free` controller on its own
            smoothing (SearchConfig: shifts, rewinds, budget), kept only if it reaches the
            end, and tried only where that controller's attempt (smoothed, with local
            assistance) fell at most `SearchConfig.max_falls` times; None skips it. Like
            SAMCON's sampling it finds residual-free paths the controller alone does not: of
            the 47 real clips, 14 fell every other way, and it carried 4 of them to the end
            (bench_physics; 4 / 3 / 2 with seeds 0 / 1 / 2 of the shifts, and 4 / 4 / 3 / 4
            real and 11 / 8 / 10 / 9 of the 128 generated clips in bench_free_rungs'
            unperturbed and perturbed draws, 10 / 9 / 11 / 8 before the grounding followed a
            drifting floor; 4 / 4 / 2, 4 / 4 / 4 / 5 and 10 / 10 / 11 / 8 without
            `max_falls`), 104-156 mm from their inputs,
            so the output stays a closer assisted attempt where one is verified. It is the
            dearest rung: an exhausted search simulates up to `SearchConfig.budget` times the
            clip; on the real clips the corrector cost 1.52x with it (bench_cost_ab, paired),
            before `max_falls` left out the clips that fell 3 or more times.
            A search that raises is logged and skipped.
        sparing: where some attempt is a success but none is verified (the closest success
            lies beyond `verify_mpjpe_mm`), the whole clip once more with the residual
            priced this many times higher than `strength` prices it, on the assisting
            controller's own smoothing, kept only if it is a success; None (the default)
            skips it, SPARING_PRICE (10) is the measured setting. Such a
            clip's success is usually residual-free but far (the planned or searched
            reference, 104-209 mm from the input) while its whole-clip attempts at the usual
            price broke the budget (6-13 %BW): a dearer residual stays within it and keeps
            the body closer. At 10x, of the real clips it changed dm_spinkick (209 -> 141 mm,
            1.4 %BW), of bench_physics's 128 generated ones 7 (MPJPE mean 151 -> 150 mm,
            median 143 -> 139, verified 0.359 -> 0.367), at 1.03x the CPU time on the real
            clips (bench_cost_ab --new-set sparing=10.0, paired). Where no attempt is a
            success it seldom made one (1 of the 55 such generated clips, farther from its
            input than the failure kept), so it is not tried there; at 3x the price it changed 2 of the 27 generated clips
            it is tried on, at 10x 7 (prototype runs, the same clips). Off by default: the
            smoothed output it gives dm_spinkick moves the real clips' FID change +2.97 ->
            +3.01 (one draw seed of five: +2.39 -> +2.56), over the +3 of the issue's target,
            and it cost 1.05x and 1.15x the CPU time on the generated clips in two
            bench_physics runs (against the default in the same run).
        unbalanced: where both residual-free attempts fell, one more (with local assistance,
            by `assist`) on the unsmoothed reference repaired without the ZMP balance shift
            (`RepairConfig.balance` off: grounded, feet planted, flights ballistic), before
            the firm one. The shift moves the upper body (up to 25 cm) wherever the
            reference needs a ZMP outside its support; it is the repair's largest departure
            from the input (MPJPE of the repaired reference to the input, mean / median:
            real clips 29 / 20 mm with it, 8 / 5 without; bench_physics's 128 generated
            clips 128 / 120 with, 69 / 47 without). Off by default: in bench_physics (same
            run) it kept outputs closer (real MPJPE 55 -> 53 mm mean, generated 160 -> 145,
            median 165 -> 144), almost all through locally assisted attempts, and carried
            one more real clip (dm_kick) residual-free (in none of bench_free_rungs'
            perturbed draws), but verified stayed 0.81 / 0.30, the real outputs kept 0.7 mm
            more phys_err, and it cost 1.21x the CPU time on the real clips
            (benchmarks/bench_cost_ab.py --new-set unbalanced=true, paired). (Figures of the
            round that built it; since the search carries dm_kick too, it adds no
            residual-free clip: README.) Over four draws of the start state (unperturbed and
            three perturbed; benchmarks/bench_quality_ab.py, paired) the closeness holds:
            real MPJPE 1.9 mm lower (sd 0.4), generated 7.8 mm (sd 1.9), success unchanged,
            while the real outputs keep 0.32 mm more phys_err (sd 0.11).
        assist: "local" (falls of the free attempt are wound back and assisted locally) or
            "whole" (they are reset; only the whole-clip assisted attempt has a residual).
        unsmoothed_first: try each kind of attempt first on the unsmoothed reference
            (`smooth_s` 0), and on the controllers' own `smooth_s` only if that was not
            enough (`ladder`). Smoothing lets the body follow clips whose noise it cannot
            (one smoothing for every attempt, 47 real clips: success 0.62 unsmoothed, 0.81
            at 0.05 s), but it is what moves corrected real clips away from the data (FID
            change +2.2 unsmoothed, +8.1 at 0.05 s; bench_smoothing). Trying the unsmoothed
            reference first keeps the clips that can be tracked as they are, at the cost of
            more attempts on the others.
        rewind_s, assist_after_s: with "local", how far before a fall tracking is wound
            back, and how long after it the residual stays allowed, s. Chosen with local
            assistance alone (no whole-clip attempt after it) on bench_physics's 47 real and
            128 generated clips: 0.75 / 0.25 s gave 35 / 54 successes, 1.0 / 0.5 s 37 / 48,
            0.5 / 0.25 s 33 / 54, 1.5 / 0.5 s 34 / 44.
        repair: kinematic repair settings applied before tracking.
        budget_bw, budget_peak_bw, budget_window_s: the residual budget of `success` (module
            docstring), fractions of body weight and seconds.
        verify_mpjpe_mm: MPJPE bound of `verified`, mm.
        close_mpjpe_mm: a residual-free attempt that never fell and ended within this MPJPE
            of the input ends the ladder; a farther one (even if verified) is followed by the
            remaining attempts, and the closest verified output is kept. On the 47 real
            clips, stopping at any verified residual-free attempt gave MPJPE mean / median
            62 / 51 mm, at 40 mm 59 / 43, with the same FID change and success (both rules
            replayed on the same stored attempts, before the start-state settling of
            tracker.set_state). The assisted rungs stop alike: once an attempt is verified
            and this close. Stopping them at any verified attempt left out the smoothed
            assisted attempt wherever a far residual-free one was verified and the unsmoothed
            assisted one broke the budget (cmu01_03_walk_c: free 78 mm kept, assisted
            smoothed 33 mm at 1.3 %BW never tried); with this rule 7 of the 47 real clips
            came out closer (MPJPE mean / median 57.3 / 43 -> 54.3 / 35 mm, success and
            success_free unchanged; the FID change +2.76 -> +2.97), 7 of the 128 generated
            clips of bench_physics alike (152.0 -> 151.4 mm), at 1.04x the CPU time on the
            real clips (bench_cost_ab, paired).
        workers: 1 = serial, N = local process pool, 0 = one per core (executor "local"; with
            "ray" it must stay 1).
        executor: "local" (serial or process pool, by `workers`) or "ray" (batches of clips
            as Ray tasks on a cluster, physics.executor.RayExecutor; the `ray` extra).
        address: with executor "ray", `HOST:PORT` of the cluster's head node or "auto"; None
            starts a local Ray instance.
    """

    strength: float = 1.0
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    free: TrackerConfig | None = FREE_TRACKER
    firm: TrackerConfig | None = FIRM_TRACKER
    firm_pelvis_drop_m: float = 0.02
    unbalanced: bool = False
    planned: bool = True
    search: SearchConfig | None = field(default_factory=SearchConfig)
    sparing: float | None = None
    assist: AssistMode = "local"  # Literal["local", "whole"]
    unsmoothed_first: bool = True
    rewind_s: float = 0.75
    assist_after_s: float = 0.25
    repair: RepairConfig = field(default_factory=RepairConfig)
    budget_bw: float = 0.05
    budget_peak_bw: float = 0.2
    budget_window_s: float = 0.5
    verify_mpjpe_mm: float = 100.0
    close_mpjpe_mm: float = 40.0
    workers: int = 1
    executor: ExecutorName = "local"  # Literal["local", "ray"]
    address: str | None = None

    def __post_init__(self) -> None:
        check_choices(self)
        try:
            raycluster.check_address(self.address)
        except ConfigError:
            raise ConfigError(
                f"CorrectionConfig.address {self.address!r}: expected HOST:PORT of a Ray head node or 'auto'"
            ) from None
        if self.address is not None and self.executor != "ray":
            raise ConfigError(f"CorrectionConfig.address {self.address!r}: a Ray address needs executor 'ray'")
        if self.executor == "ray" and self.workers != 1:
            raise ConfigError(
                f"CorrectionConfig.workers {self.workers}: only with executor 'local'; with 'ray' the cluster's CPUs decide"
            )
        if self.search is not None and not isinstance(self.search, SearchConfig):
            raise ConfigError(f"CorrectionConfig.search: expected a SearchConfig or None, got {self.search!r}")
        for name in ("unsmoothed_first", "unbalanced", "planned"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"CorrectionConfig.{name}: expected true or false, got {getattr(self, name)!r}")
        if not 0.0 <= float(self.strength) <= 1.0:
            raise ConfigError(f"CorrectionConfig.strength: must be in [0, 1], got {self.strength}")
        if int(self.workers) < 0:
            raise ConfigError(f"CorrectionConfig.workers: must be >= 0, got {self.workers}")
        sparing = self.sparing
        if sparing is not None and (
            isinstance(sparing, bool) or not isinstance(sparing, (int, float)) or not 1.0 < sparing < float("inf")
        ):
            raise ConfigError(f"CorrectionConfig.sparing: expected a finite number > 1 or None, got {sparing!r}")
        for name in ("rewind_s", "assist_after_s", "firm_pelvis_drop_m"):
            at_least(f"CorrectionConfig.{name}", getattr(self, name), 0, integer=False)
        for name in ("budget_bw", "budget_peak_bw", "budget_window_s", "verify_mpjpe_mm", "close_mpjpe_mm"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ConfigError(f"CorrectionConfig.{name}: must be a number > 0, got {v!r}")

    def tracker_for_strength(self, smooth_s: float | None = None) -> TrackerConfig:
        """The assisting controller: `w_residual` set by `strength`; `smooth_s` replaces
        the tracker's own if given."""
        s = float(self.strength)
        w = _W_RESIDUAL[0] * (_W_RESIDUAL[1] / _W_RESIDUAL[0]) ** s
        out = dataclasses.replace(self.tracker, w_residual=w)
        return out if smooth_s is None else dataclasses.replace(out, smooth_s=smooth_s)

    def sparing_tracker(self) -> TrackerConfig | None:
        """The assisting controller on its own smoothing with the residual `sparing` times
        dearer (None: no such attempt)."""
        if self.sparing is None:
            return None
        out = self.tracker_for_strength()
        return dataclasses.replace(out, w_residual=out.w_residual * self.sparing)

    def free_tracker(self, smooth_s: float | None = None) -> TrackerConfig | None:
        """The residual-free controller (None: no such attempt); `smooth_s` as above."""
        if self.free is None:
            return None
        out = dataclasses.replace(self.free, residual_max_bw=0.0)
        return out if smooth_s is None else dataclasses.replace(out, smooth_s=smooth_s)

    def firm_tracker(self) -> TrackerConfig | None:
        """The second residual-free controller (None: no such attempt)."""
        return None if self.firm is None else dataclasses.replace(self.firm, residual_max_bw=0.0)

    def unbalanced_repair(self) -> RepairConfig:
        """The repair of the unbalanced attempt's reference: `repair_for_strength` without the
        ZMP balance shift."""
        return dataclasses.replace(self.repair_for_strength(), balance=False)

    def firm_repair(self) -> RepairConfig:
        """The repair of the firm attempt's reference: `repair_for_strength` with the pelvis
        lowered where planted feet are out of reach."""
        return dataclasses.replace(self.repair_for_strength(), pelvis_drop_m=self.firm_pelvis_drop_m)

    def ladder(self) -> list[tuple[float | None, str]]:
        """The attempts of `correct_one` in order, as (reference smoothing, kind): kind "free"
        is the residual-free controller (with local assistance, by `assist`), "unbalanced"
        the same controller on the reference repaired without the balance shift (only with
        `unbalanced` and a balance shift at this strength, on the least smoothing tried;
        where every residual-free attempt fell, and not where the balance repair shifted
        nothing), "firm" the second residual-free controller (tried only where every
        residual-free attempt fell; no assistance, and kept only if it reaches the end),
        "planned" the residual-free controller on the reference with the centroidal plan
        (with `planned`, unless the repair plans every reference anyway; tried, like the
        firm one, only where every residual-free attempt fell, without assistance, and kept
        only if it reaches the end), "searched" the residual-free search (search.py) with
        the free controller on its own smoothing (with `search`; only where every
        residual-free attempt fell, and that controller's at most `SearchConfig.max_falls`
        times; kept only if it reaches the end), "assisted" the whole
        clip with the residual, "planned_assisted" the same on the planned reference (with
        `planned`; the last rung, tried only where no attempt is a success, and kept only if
        it is one), "sparing" the whole clip with the residual `sparing` times dearer (with
        `sparing`; after the assisted rungs and before the planned assisted one, tried only
        where some attempt is a success but none is verified, and kept only if it is a
        success); smoothing
        0 is the unsmoothed reference, None the controller's own `smooth_s`. Residual-free before assisted, and with `unsmoothed_first` (unless the
        controllers do not smooth anyway) each unsmoothed before smoothed; the firm
        controller on its own smoothing only; no residual-free rungs without a `free`
        controller."""
        own = {self.tracker.smooth_s} | ({self.free.smooth_s} if self.free is not None else set())
        smoothing = [0.0, None] if self.unsmoothed_first and own != {0.0} else [None]
        rungs = [(smooth, "free") for smooth in smoothing] if self.free is not None else []
        balanced = self.repair.balance and self.repair_for_strength().balance_amount > 0
        if self.free is not None and self.unbalanced and balanced:
            rungs.append((smoothing[0], "unbalanced"))
        if self.free is not None and self.firm is not None:
            rungs.append((None, "firm"))
        if self.free is not None and self.planned and not self.repair.plan:
            rungs += [(smooth, "planned") for smooth in smoothing]
        if self.free is not None and self.search is not None:
            rungs.append((None, "searched"))
        rungs += [(smooth, "assisted") for smooth in smoothing]
        if self.sparing is not None:
            rungs.append((None, "sparing"))
        if self.planned and not self.repair.plan:
            rungs.append((None, "planned_assisted"))
        return rungs

    def repair_for_strength(self) -> RepairConfig:
        share = min(1.0, max(0.0, 2.0 * float(self.strength) - 1.0))
        return dataclasses.replace(self.repair, balance_amount=share * self.repair.balance_amount)


@dataclass
class TrackingReport:
    """What happened to one clip (one JSON object per clip in a report file).

    Residuals are fractions of body weight (torques: body weight x 1 m); `*_peak_bw` is the
    largest mean over a `budget_window_s` stretch. `attempt` says which output the clip got:
    "free" (no residual), "local" (free with assisted stretches where it fell), "assisted"
    (the whole clip with the residual), "unchanged" (strength 0) or "failed" (error set).
    `free_fall_s` is when the first residual-free attempt's body first fell (-1: it did
    not, or was not tracked); `assisted_share` the share of the output's control steps at
    which the residual was allowed (0 free, 1 whole-clip assisted); `smooth_s` the reference
    smoothing the output was tracked with (0: unsmoothed); `firm` whether the output is the
    firm controller's attempt (CorrectionConfig.firm); `unbalanced` whether the output
    tracked the reference repaired without the balance shift (CorrectionConfig.unbalanced);
    `planned` whether it tracked the reference with the centroidal plan
    (CorrectionConfig.planned: residual-free, or, with `attempt` "assisted", the last rung);
    `sparing` whether it is the whole-clip attempt with the dearer residual
    (CorrectionConfig.sparing). `trunk_pitch_change_deg` is the mean absolute change of the
    trunk's forward lean from the input to the output over the clip's frames,
    `trunk_pitch_bias_deg` its signed mean (positive: the output leans further forward;
    metrics.pitch_change_deg).
    """

    clip: str
    success: bool
    resets: int
    residual_bw: float
    residual_bw_max: float
    mpjpe_mm: float
    feasibility_bw: float
    cpu_s: float
    before: dict
    after: dict
    error: str | None = None
    qp_failures: int = 0
    mpjpe_local_mm: float = 0.0
    feasibility_after_bw: float = 0.0
    strength: float = 1.0
    metrics_cpu_s: float = 0.0
    residual_torque_bw: float = 0.0
    success_free: bool = False
    verified: bool = False
    attempt: str = "assisted"
    free_fall_s: float = -1.0
    assisted_share: float = 0.0
    residual_peak_bw: float = 0.0
    residual_torque_peak_bw: float = 0.0
    smooth_s: float = 0.0
    firm: bool = False
    unbalanced: bool = False
    planned: bool = False
    searched: bool = False
    sparing: bool = False
    trunk_pitch_change_deg: float = 0.0
    trunk_pitch_bias_deg: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def failed_report(
    name: str,
    cfg: CorrectionConfig,
    error: str,
    before: dict,
    feasibility: float = float("nan"),
    cpu_s: float = 0.0,
    metrics_cpu_s: float = 0.0,
) -> TrackingReport:
    """The report of a clip that could not be corrected (it stays unchanged): `error` says why."""
    nan = float("nan")
    return TrackingReport(
        clip=name,
        success=False,
        resets=0,
        residual_bw=nan,
        residual_bw_max=nan,
        mpjpe_mm=nan,
        mpjpe_local_mm=nan,
        trunk_pitch_change_deg=nan,
        trunk_pitch_bias_deg=nan,
        feasibility_bw=feasibility,
        cpu_s=cpu_s,
        before=before,
        after=before,
        error=error,
        strength=float(cfg.strength),
        metrics_cpu_s=metrics_cpu_s,
        attempt="failed",
    )


def _mpjpe(a: Motion, b: Motion) -> tuple[float, float]:
    """Global and pelvis-relative mean joint-position error in mm."""
    ja, jb = a.joints(), b.joints()
    glob = np.linalg.norm(ja - jb, axis=-1).mean()
    loc = np.linalg.norm((ja - ja[:, :1]) - (jb - jb[:, :1]), axis=-1).mean()
    return float(glob * 1000.0), float(loc * 1000.0)


def window_peak(values: np.ndarray, window: int) -> float:
    """Largest mean of `values (K,)` over `window` consecutive entries (the whole mean if
    shorter)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return 0.0
    if len(values) <= window:
        return float(values.mean())
    c = np.r_[0.0, np.cumsum(values)]
    return float(((c[window:] - c[:-window]) / window).max())


def within_budget(result: TrackResult, cfg: CorrectionConfig, control_dt: float) -> tuple[bool, float, float]:
    """Whether a tracking result is a `success` (module docstring), and its force and torque
    peaks over `budget_window_s`."""
    window = max(1, round(cfg.budget_window_s / control_dt))
    peak = window_peak(result.residual_bw, window)
    peak_t = window_peak(result.residual_torque_bw, window)
    mean = float(result.residual_bw.mean()) if len(result.residual_bw) else 0.0
    mean_t = float(result.residual_torque_bw.mean()) if len(result.residual_torque_bw) else 0.0
    ok = (
        result.resets == 0
        and mean <= cfg.budget_bw
        and mean_t <= cfg.budget_bw
        and peak <= cfg.budget_peak_bw
        and peak_t <= cfg.budget_peak_bw
    )
    return ok, peak, peak_t


@dataclass
class Attempt:
    """One tracking of a clip, with what choosing among attempts needs (best_attempt).

    Attributes:
        name: "free", "local" or "assisted" (TrackingReport.attempt).
        result: the tracker's result; share: share of its control steps with the residual.
        out: the tracked clip; mpjpe: its global and pelvis-relative MPJPE to the input, mm.
        ok, verified: the report's `success` and `verified` for this attempt.
        peak, peak_t: its residual force and torque peaks over the budget window.
        smooth_s: the reference smoothing it was tracked with, s.
        fall_s: for a residual-free attempt, when its body first fell (inf: never), s.
        firm: tracked by the firm controller on its own reference (CorrectionConfig.firm).
        planned: tracked on the planned reference (CorrectionConfig.planned).
        searched: tracked by the residual-free search (CorrectionConfig.search).
        unbalanced: tracked on the reference without the balance shift
            (CorrectionConfig.unbalanced).
        falls: for a residual-free attempt, how many times its body fell (each wound back
            and assisted, or reset).
        sparing: the whole clip with the dearer residual (CorrectionConfig.sparing).
    """

    name: str
    result: TrackResult
    share: float
    out: Motion
    mpjpe: tuple[float, float]
    ok: bool
    verified: bool
    peak: float
    peak_t: float
    smooth_s: float = 0.0
    fall_s: float = np.inf
    firm: bool = False
    unbalanced: bool = False
    planned: bool = False
    searched: bool = False
    falls: int = 0
    sparing: bool = False


def _attempt(
    name: str,
    result: TrackResult,
    share: float,
    h: Humanoid,
    motion: Motion,
    cfg: CorrectionConfig,
    smooth_s: float,
    fall_s: float = np.inf,
    firm: bool = False,
    unbalanced: bool = False,
    planned: bool = False,
    searched: bool = False,
    falls: int = 0,
    sparing: bool = False,
) -> Attempt:
    out = h.motion_from_qpos(result.qpos, motion)
    mpjpe = _mpjpe(out, motion)
    ok, peak, peak_t = within_budget(result, cfg, result.control_dt)
    verified = ok and mpjpe[0] <= cfg.verify_mpjpe_mm
    return Attempt(
        name,
        result,
        share,
        out,
        mpjpe,
        ok,
        verified,
        peak,
        peak_t,
        smooth_s,
        fall_s,
        firm,
        unbalanced,
        planned,
        searched,
        falls,
        sparing,
    )


def best_attempt(attempts: list[Attempt]) -> Attempt:
    """The output among tracked attempts: a success before a failure, then verified before
    not, then fewer resets, then the smaller MPJPE (the first of equals)."""
    return max(attempts, key=lambda a: (a.ok, a.verified, -a.result.resets, -a.mpjpe[0]))


def _describe(e: Exception) -> str:
    """How a report or warning names an error: our own errors by their message, others with
    their type as well."""
    return str(e) if isinstance(e, MotionloopError) else f"{type(e).__name__}: {e}"


def _planned_reference(name: str, fixed: Motion, h: Humanoid) -> Motion | bool:
    """The repaired reference `fixed` with its CoM on the whole-clip centroidal plan, or
    False where the plan cannot be solved (logged; the planned rungs are then skipped). Any
    error of the plan is caught here: the attempts tracked before it are kept."""
    try:
        return centroidal_repair(h, fixed)[0]
    except Exception as e:
        msg = _describe(e)
        log.warning("%s: no centroidal plan, planned rungs skipped: %s", name, msg)
        return False


def track_free(
    h: Humanoid, fixed: Motion, cfg: CorrectionConfig, smooth_s: float | None, reference: Reference | None = None
) -> TrackResult:
    """The ladder's residual-free attempt on `fixed` (its "free" rungs): the `free`
    controller, smoothed by `smooth_s` (None: its own), with the residual over the stretches
    where it fell if `cfg.assist` is "local" (else each fall is reset); on `reference` if
    given (a prepared reference of `fixed` at that smoothing)."""
    assist = cfg.tracker_for_strength(smooth_s) if cfg.assist == "local" else None
    return track(
        h,
        fixed,
        cfg.free_tracker(smooth_s),
        reference=reference,
        assist=assist,
        rewind_s=cfg.rewind_s,
        assist_after_s=cfg.assist_after_s,
    )


def _track_attempt(
    h: Humanoid, motion: Motion, fixed: Motion, cfg: CorrectionConfig, smooth_s: float | None, kind: str
) -> Attempt | None:
    """One rung of `CorrectionConfig.ladder` on the reference `fixed`: the residual-free
    controller (with local assistance where it fell, if `cfg.assist` is "local"), the firm
    one or the free one on the planned reference, or the residual-free search (None if it
    fell: these are tried only for a residual-free end, and stop at a fall), or
    the whole clip with the residual ("assisted", and "planned_assisted" on the planned
    reference), smoothed by `smooth_s` (None: the controller's own)."""
    if kind == "searched":
        free_cfg = cfg.free_tracker(smooth_s)
        result = search_track(h, fixed, free_cfg, cfg.search)
        if result.stopped_at >= 0:
            return None  # the search did not get the body to the end
        return _attempt("free", result, 0.0, h, motion, cfg, free_cfg.smooth_s, np.inf, searched=True)
    if kind in ("firm", "planned"):
        stop_cfg = cfg.firm_tracker() if kind == "firm" else cfg.free_tracker(smooth_s)
        result = track(h, fixed, stop_cfg, stop_at_fall=True)
        if result.stopped_at >= 0:
            return None
        return _attempt(
            "free",
            result,
            0.0,
            h,
            motion,
            cfg,
            stop_cfg.smooth_s,
            np.inf,
            firm=kind == "firm",
            planned=kind == "planned",
        )
    if kind in ("free", "unbalanced"):
        free_cfg = cfg.free_tracker(smooth_s)
        first = track_free(h, fixed, cfg, smooth_s)
        fell = first.fell
        name, share = "local" if first.falls else "free", float(first.assisted.mean())
        fall_s = fell[0] * first.control_dt if fell else np.inf
        return _attempt(
            name,
            first,
            share,
            h,
            motion,
            cfg,
            free_cfg.smooth_s,
            fall_s,
            unbalanced=kind == "unbalanced",
            falls=len(fell),
        )
    sparing = kind == "sparing"
    assist_cfg = cfg.sparing_tracker() if sparing else cfg.tracker_for_strength(smooth_s)
    planned = kind == "planned_assisted"
    result = track(h, fixed, assist_cfg)
    return _attempt("assisted", result, 1.0, h, motion, cfg, assist_cfg.smooth_s, planned=planned, sparing=sparing)


def _search_falls(attempts: list[Attempt], cfg: CorrectionConfig) -> int | None:
    """How many times the residual-free attempt on the search's own reference (the free
    controller's smoothing) fell (None: no such attempt), for `SearchConfig.max_falls`."""
    smooth = cfg.free_tracker(None).smooth_s
    own = [
        a.falls
        for a in attempts
        if a.name in ("free", "local") and a.smooth_s == smooth and not (a.firm or a.unbalanced or a.planned)
    ]
    return min(own) if own else None


def correct_one(job: tuple[str, Motion, CorrectionConfig]) -> tuple[Motion, TrackingReport]:
    """Correct one clip; never raises for a bad clip (the report says what failed).

    `cpu_s` counts the correction itself (repair and tracking, every attempt); the metrics
    of the report (physics metrics, feasibility floors before and after) are timed apart in
    `metrics_cpu_s`.
    """
    name, motion, cfg = job
    t_metrics = time.process_time()
    before = pm.physics_metrics(motion)
    try:
        feas = feasibility_bw(motion)
    except Exception as e:
        feas = float("nan")
        log.warning("%s: feasibility failed: %s", name, e)
    metrics_cpu = time.process_time() - t_metrics
    if cfg.strength == 0.0:
        return motion, TrackingReport(
            clip=name,
            success=True,
            resets=0,
            residual_bw=0.0,
            residual_bw_max=0.0,
            mpjpe_mm=0.0,
            feasibility_bw=feas,
            cpu_s=0.0,
            before=before,
            after=before,
            strength=0.0,
            feasibility_after_bw=feas,
            metrics_cpu_s=metrics_cpu,
            attempt="unchanged",
        )
    t0 = time.process_time()
    try:
        if motion.num_frames < MIN_FRAMES:
            raise MotionloopError(f"{name}: {motion.num_frames} frame(s); tracking needs at least {MIN_FRAMES}")
        h = Humanoid()
        fixed = repair(motion, cfg.repair_for_strength(), h)
        attempts: list[Attempt] = []
        planned: Motion | bool | None = None  # the planned reference, once needed (False: no plan)
        for smooth, kind in cfg.ladder():
            if kind in ("unbalanced", "firm", "planned", "searched") and any(
                a.fall_s == np.inf for a in attempts if a.name in ("free", "local")
            ):
                continue  # a free attempt reached the end
            if kind == "planned_assisted" and any(a.ok for a in attempts):
                continue  # a success already
            if kind == "sparing" and not (any(a.ok for a in attempts) and not any(a.verified for a in attempts)):
                continue  # tried only where a success is far from the input (none verified)
            if kind == "searched":
                falls = _search_falls(attempts, cfg)
                if falls is not None and cfg.search.fell_too_often(falls):
                    log.debug(
                        "%s: residual-free search skipped: its free attempt fell %d times (SearchConfig.max_falls %d)",
                        name,
                        falls,
                        cfg.search.max_falls,
                    )
                    continue
            if kind in ("planned", "planned_assisted"):
                if planned is None:
                    planned = _planned_reference(name, fixed, h)
                if planned is False:
                    continue
                reference = planned
            elif kind == "firm":
                reference = repair(motion, cfg.firm_repair(), h)
            elif kind == "unbalanced":
                reference = repair(motion, cfg.unbalanced_repair(), h)
                if np.array_equal(reference.poses, fixed.poses) and np.array_equal(reference.trans, fixed.trans):
                    continue  # the balance repair shifted nothing: tracked already
            else:
                reference = fixed
            try:
                attempt = _track_attempt(h, motion, reference, cfg, smooth, kind)
            except Exception as e:
                if kind != "searched":
                    raise
                # the search is a last try: its failure keeps the attempts tracked before it
                msg = _describe(e)
                log.warning("%s: residual-free search failed, skipped: %s", name, msg)
                continue
            if attempt is None:
                continue  # a firm, planned or searched attempt that fell: not kept
            if kind in ("sparing", "planned_assisted") and not attempt.ok:
                continue  # tried for a (closer) success only: a failure is not kept
            attempts.append(attempt)
            last = attempt
            if kind != "assisted" and last.name == "free" and last.verified and last.mpjpe[0] <= cfg.close_mpjpe_mm:
                break  # residual-free, and close to the input
            if kind == "assisted" and any(a.verified and a.mpjpe[0] <= cfg.close_mpjpe_mm for a in attempts):
                break  # verified and close to the input
        fall_times = [a.fall_s for a in attempts if a.name in ("free", "local")]  # inf: never fell
        success_free = any(t == np.inf for t in fall_times)
        free_fall_s = round(fall_times[0], 4) if fall_times and fall_times[0] < np.inf else -1.0
        best = best_attempt(attempts)
        result, out, (glob, loc) = best.result, best.out, best.mpjpe
        cpu = time.process_time() - t0
        t_metrics = time.process_time()
        after = pm.physics_metrics(out)
        feas_after = feasibility_bw(out, h)
        pitch_change, pitch_bias = pm.pitch_change_stats(pm.pitch_change_deg(motion, out))
        report = TrackingReport(
            clip=name,
            success=best.ok,
            resets=result.resets,
            residual_bw=float(result.residual_bw.mean()),
            residual_bw_max=float(result.residual_bw.max()),
            residual_torque_bw=float(result.residual_torque_bw.mean()),
            mpjpe_mm=glob,
            feasibility_bw=feas,
            cpu_s=cpu,
            before=before,
            after=after,
            qp_failures=result.qp_failures,
            mpjpe_local_mm=loc,
            feasibility_after_bw=feas_after,
            strength=float(cfg.strength),
            metrics_cpu_s=metrics_cpu + time.process_time() - t_metrics,
            success_free=success_free,
            attempt=best.name,
            free_fall_s=free_fall_s,
            assisted_share=best.share,
            smooth_s=best.smooth_s,
            residual_peak_bw=best.peak,
            residual_torque_peak_bw=best.peak_t,
            verified=best.verified,
            firm=best.firm,
            unbalanced=best.unbalanced,
            planned=best.planned,
            searched=best.searched,
            sparing=best.sparing,
            trunk_pitch_change_deg=pitch_change,
            trunk_pitch_bias_deg=pitch_bias,
        )
        return out, report
    except Exception as e:
        msg = _describe(e)
        log.warning("%s: correction failed: %s", name, msg)
        return motion, failed_report(name, cfg, msg, before, feas, time.process_time() - t0, metrics_cpu)


def lost_one(job: tuple[str, Motion, CorrectionConfig], error: str) -> tuple[Motion, TrackingReport]:
    """The executor's fallback for a clip whose worker died (every Ray retry, or a local worker
    process): the clip unchanged, with a failed report whose `error` is the executor's text
    (feasibility not computed: NaN)."""
    name, motion, cfg = job
    log.warning("%s: correction lost: %s", name, error)
    try:
        before = pm.physics_metrics(motion)
    except Exception as e:
        before = {}
        log.warning("%s: physics metrics failed: %s", name, e)
    return motion, failed_report(name, cfg, error, before)


def correct(
    motions: list[Motion], config: CorrectionConfig = CorrectionConfig(), names: list[str] | None = None
) -> tuple[list[Motion], list[TrackingReport]]:
    """Physics-correct every clip. Returns corrected clips and reports, in input order.

    A clip that fails comes back unchanged with `success=False` and `error` set; so does one
    whose worker died (on every Ray retry, or a broken local process pool: `lost_one`).
    """
    names = names or [m.source or f"clip_{i:04d}" for i, m in enumerate(motions)]
    jobs = [(n, m, config) for n, m in zip(names, motions)]
    out_m, out_r = [], []
    executor = make_executor(config.workers, config.executor, config.address)
    for m, r in executor.map(correct_one, jobs, fallback=lost_one):
        out_m.append(m)
        out_r.append(r)
    return out_m, out_r
