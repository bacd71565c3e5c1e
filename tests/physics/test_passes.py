"""The ladder of attempts: residual-free before assisted, each on the unsmoothed reference
before the smoothed one, optionally the reference without the balance shift where the
residual-free attempts fell, the planned reference where every other residual-free
attempt fell, and with the residual on the planned reference where no attempt is a success
(CorrectionConfig.unsmoothed_first, CorrectionConfig.unbalanced, CorrectionConfig.planned,
CorrectionConfig.ladder)."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
from clips import bundled_clip, standing

from motionloop.errors import ConfigError
from motionloop.physics import correct as pc
from motionloop.physics.correct import SPARING_PRICE, Attempt, CorrectionConfig, correct
from motionloop.physics.summary import summarize, table


def _unsmoothed(cfg: CorrectionConfig) -> CorrectionConfig:
    """`cfg` with controllers that do not smooth (so no smoothed rungs)."""
    return dataclasses.replace(
        cfg,
        tracker=dataclasses.replace(cfg.tracker, smooth_s=0.0),
        free=dataclasses.replace(cfg.free, smooth_s=0.0),
        firm=None if cfg.firm is None else dataclasses.replace(cfg.firm, smooth_s=0.0),
    )


def test_the_ladder_and_its_controllers():
    cfg = CorrectionConfig()
    assert cfg.ladder() == [
        (0.0, "free"),
        (None, "free"),
        (None, "firm"),
        (0.0, "planned"),
        (None, "planned"),
        (None, "searched"),
        (0.0, "assisted"),
        (None, "assisted"),
        (None, "planned_assisted"),
    ]
    single = CorrectionConfig(unsmoothed_first=False)
    assert single.ladder() == [
        (None, "free"),
        (None, "firm"),
        (None, "planned"),
        (None, "searched"),
        (None, "assisted"),
        (None, "planned_assisted"),
    ]
    # without residual-free rungs, the assisted ones (and the planned reference's last)
    assert CorrectionConfig(free=None).ladder() == [(0.0, "assisted"), (None, "assisted"), (None, "planned_assisted")]
    # the dearer residual (an option): after the assisted rungs, the assisting controller on
    # its own smoothing, `sparing` times the price
    sparing = CorrectionConfig(sparing=SPARING_PRICE)
    assert cfg.sparing is None and cfg.sparing_tracker() is None
    assert sparing.ladder() == [*cfg.ladder()[:-1], (None, "sparing"), cfg.ladder()[-1]]
    dear = sparing.sparing_tracker()
    assert dear.w_residual == SPARING_PRICE * cfg.tracker_for_strength().w_residual == 10.0 * 1e5
    assert dataclasses.replace(dear, w_residual=0.1) == dataclasses.replace(cfg.tracker_for_strength(), w_residual=0.1)
    for bad in (1.0, 0.5, -3.0, float("inf"), float("nan"), True, "10"):
        with pytest.raises(ConfigError, match="CorrectionConfig.sparing"):
            CorrectionConfig(sparing=bad)
    # the search: the last residual-free rung, on the free controller's own smoothing
    assert CorrectionConfig(search=None).ladder() == [rung for rung in cfg.ladder() if rung[1] != "searched"]
    assert CorrectionConfig(firm=None, planned=False, search=None).ladder() == [
        (0.0, "free"),
        (None, "free"),
        (0.0, "assisted"),
        (None, "assisted"),
    ]
    # the planned rungs: not where the repair plans every reference already
    plans = dataclasses.replace(cfg, repair=dataclasses.replace(cfg.repair, plan=True))
    assert plans.ladder() == CorrectionConfig(planned=False).ladder()
    assert not {"planned", "planned_assisted"} & {kind for _, kind in plans.ladder()}
    # controllers that do not smooth anyway need no second rung of each kind: the one-
    # smoothing ladder above
    assert _unsmoothed(cfg).ladder() == single.ladder()
    # the unbalanced rung (an option): after the free rungs, before the firm one, on the
    # least smoothing; its reference is the same repair without the balance shift
    unbalanced = CorrectionConfig(unbalanced=True)
    assert [kind for _, kind in unbalanced.ladder()] == [
        "free",
        "free",
        "unbalanced",
        "firm",
        "planned",
        "planned",
        "searched",
        "assisted",
        "assisted",
        "planned_assisted",
    ]
    assert unbalanced.ladder()[2] == (0.0, "unbalanced")
    assert CorrectionConfig(unbalanced=True, unsmoothed_first=False).ladder()[1] == (None, "unbalanced")
    assert cfg.unbalanced_repair() == dataclasses.replace(cfg.repair_for_strength(), balance=False)
    # none where the repair does not balance at all, nor at strengths <= 0.5 (no shift there)
    no_balance = dataclasses.replace(unbalanced, repair=dataclasses.replace(cfg.repair, balance=False))
    assert no_balance.ladder() == cfg.ladder()
    assert dataclasses.replace(unbalanced, strength=0.5).ladder() == cfg.ladder()
    assert dataclasses.replace(unbalanced, strength=0.75).ladder() == unbalanced.ladder()
    # the firm rung: residual-free on its own smoothing, its reference's pelvis lowered where
    # planted feet are out of reach
    assert cfg.firm_tracker().residual_max_bw == 0.0 and cfg.firm_tracker().w_com > cfg.free.w_com
    assert cfg.firm_repair().pelvis_drop_m == cfg.firm_pelvis_drop_m > 0
    assert cfg.repair_for_strength().pelvis_drop_m == 0.0
    assert CorrectionConfig(firm=None).firm_tracker() is None
    with pytest.raises(ConfigError, match="firm_pelvis_drop_m"):
        CorrectionConfig(firm_pelvis_drop_m=-0.01)
    assert cfg.free_tracker(0.0).smooth_s == 0.0 and cfg.tracker_for_strength(0.0).smooth_s == 0.0
    assert cfg.free_tracker().smooth_s == cfg.free.smooth_s > 0
    assert cfg.tracker_for_strength().smooth_s == cfg.tracker.smooth_s > 0
    assert cfg.free_tracker(0.0).residual_max_bw == 0.0
    assert cfg.tracker_for_strength(0.0).w_residual == cfg.tracker_for_strength().w_residual
    for bad in (1, "yes", None):
        with pytest.raises(ConfigError, match="unsmoothed_first"):
            CorrectionConfig(unsmoothed_first=bad)
        with pytest.raises(ConfigError, match="unbalanced"):
            CorrectionConfig(unbalanced=bad)
        with pytest.raises(ConfigError, match="planned"):
            CorrectionConfig(planned=bad)


@pytest.mark.slow
def test_a_clip_tracked_free_unsmoothed_stops_at_the_first_rung():
    clip = bundled_clip("bvht3_gesture_1")
    (out,), (rep,) = correct([clip], CorrectionConfig())
    assert (rep.attempt, rep.smooth_s, rep.success_free, rep.verified) == ("free", 0.0, True, True)
    assert rep.free_fall_s == -1.0
    # the same as one residual-free attempt on the unsmoothed reference
    (one,), (one_rep,) = correct([clip], _unsmoothed(CorrectionConfig()))
    np.testing.assert_array_equal(out.poses, one.poses)
    np.testing.assert_array_equal(out.trans, one.trans)
    assert one_rep.mpjpe_mm == rep.mpjpe_mm
    assert summarize([rep])["unsmoothed_rate"] == 1.0


@pytest.mark.slow
def test_a_clip_that_falls_unsmoothed_is_tracked_free_smoothed():
    # a CMU walk whose unsmoothed residual-free body falls, but not once smoothed; that
    # attempt ends 39 mm from the input
    clip = bundled_clip("cmu01_03_walk_b")
    _, (first,) = correct([clip], _unsmoothed(CorrectionConfig(firm=None, search=None)))
    assert not first.success_free and first.free_fall_s > 0 and not first.verified
    # within close_mpjpe_mm (40), the smoothed residual-free attempt ends the ladder
    (out,), (rep,) = correct([clip], CorrectionConfig())
    assert rep.success_free and (rep.attempt, rep.smooth_s, rep.verified) == ("free", 0.05, True)
    assert 30.0 < rep.mpjpe_mm <= 40.0
    assert rep.free_fall_s == first.free_fall_s  # when the first residual-free body fell
    (smoothed,), (smoothed_rep,) = correct([clip], CorrectionConfig(unsmoothed_first=False))
    np.testing.assert_array_equal(out.poses, smoothed.poses)
    assert smoothed_rep.mpjpe_mm == rep.mpjpe_mm
    assert summarize([rep, first])["unsmoothed_rate"] == 0.5
    assert "0% of the outputs tracked the unsmoothed reference" in table([rep])
    # at 30 mm it does not end the ladder: the unsmoothed whole-clip attempt follows and breaks
    # the residual budget; no verified attempt is within 30 mm, so the smoothed one follows
    # too, keeps the budget and ends closer (34 mm): it is the output
    (again,), (strict,) = correct([clip], CorrectionConfig(close_mpjpe_mm=30.0))
    assert (strict.attempt, strict.smooth_s, strict.success, strict.verified) == ("assisted", 0.05, True, True)
    assert 30.0 < strict.mpjpe_mm < rep.mpjpe_mm and strict.success_free
    assert not np.array_equal(again.poses, out.poses)
    assert strict.cpu_s > 0


@pytest.mark.slow
def test_a_far_success_is_tracked_once_more_with_a_dearer_residual():
    # dm_spinkick: its only success is residual-free on the planned reference, 209 mm from its
    # input (not verified); its whole-clip attempts break the residual budget (6-13 %BW). At
    # 10 times the price, the smoothed whole-clip attempt keeps the budget and ends closer
    (far,), (without,) = correct([bundled_clip("dm_spinkick")], CorrectionConfig())
    assert (without.attempt, without.planned, without.success, without.verified) == ("free", True, True, False)
    (out,), (rep,) = correct([bundled_clip("dm_spinkick")], CorrectionConfig(sparing=SPARING_PRICE))
    assert not np.allclose(out.trans, far.trans, atol=0.05)
    assert (rep.attempt, rep.sparing, rep.success, rep.success_free) == ("assisted", True, True, True)
    assert rep.mpjpe_mm < without.mpjpe_mm - 50.0 and not rep.verified
    assert 0.0 < rep.residual_bw <= 0.05 and rep.smooth_s == CorrectionConfig().tracker.smooth_s


@pytest.mark.slow
def test_a_clip_verified_only_with_the_residual_keeps_the_unsmoothed_output():
    # a DeepMimic walk: its residual-free body reaches the end (success_free) but drifts too
    # far from the input to be verified (MPJPE 189 mm unsmoothed, 126 smoothed); with the
    # residual, the unsmoothed whole-clip attempt is verified, so the smoothed one is never
    # tried
    clip = bundled_clip("dm_walker_walk")
    (out,), (rep,) = correct([clip], CorrectionConfig())
    assert (rep.attempt, rep.smooth_s, rep.verified, rep.success_free) == ("assisted", 0.0, True, True)
    assert rep.free_fall_s == -1.0
    (one,), (one_rep,) = correct([clip], dataclasses.replace(_unsmoothed(CorrectionConfig()), free=None))
    np.testing.assert_array_equal(out.poses, one.poses)
    assert one_rep.attempt == "assisted"


def _quiet_result() -> SimpleNamespace:
    """What a scripted rung's attempt holds of a tracking result: no reset, no residual."""
    return SimpleNamespace(
        resets=0, residual_bw=np.zeros(4), residual_torque_bw=np.zeros(4), qp_failures=0, control_dt=0.0125
    )


def _pushed(clip):
    """`clip` with its body accelerating forwards at 4 m/s^2: the ZMP it needs lies ahead of
    its feet, so the balance repair shifts its pelvis."""
    t = np.arange(clip.num_frames) / clip.fps
    trans = clip.trans.copy()
    trans[:, 0] += 2.0 * t**2
    return clip.replace(trans=trans)


# what each rung returns in the scripted ladders below: (name, ok, verified, mpjpe, fell)
_FALLS = ("local", False, False, 150.0, True)  # fell, and its assisted stretches broke the budget
_FAR = ("free", True, True, 60.0, False)  # residual-free and verified, but beyond close_mpjpe_mm
_CLOSE = ("free", True, True, 30.0, False)
_HELPED = ("assisted", True, True, 35.0, None)
_HELPED_FAR = ("assisted", True, True, 60.0, None)  # within the budget and verified, beyond close_mpjpe_mm
_BROKEN = ("assisted", False, False, 50.0, None)  # budget broken
_SEARCHED_FAR = ("free", True, False, 150.0, False)  # residual-free to the end, beyond verify_mpjpe_mm
_RESCUED = ("assisted", True, False, 120.0, None)  # within the budget, beyond verify_mpjpe_mm
_CLOSER_BROKEN = ("assisted", False, False, 40.0, None)
_SPARED_FARTHER = ("assisted", True, False, 180.0, None)  # within the budget, farther than _SEARCHED_FAR
_F0, _F, _U0, _FIRM, _P0, _P, _S, _A0, _A, _SP, _PA = CorrectionConfig(unbalanced=True, sparing=SPARING_PRICE).ladder()
# a residual-free success only on the search, far, and both assisted attempts over the budget;
# the rungs up to the dearer residual
_SEARCHED_BROKEN = [_FALLS] * 5 + [_SEARCHED_FAR, _BROKEN, _BROKEN]
_UP_TO_SPARING = [_F0, _F, _FIRM, _P0, _P, _S, _A0, _A, _SP]


def _script(script, calls):
    """A `_track_attempt` that returns the scripted rungs in turn (and records the calls):
    the firm, planned and searched rungs stop at a fall, so a falling one returns None."""

    def scripted(h, motion, fixed, cfg, smooth_s, kind):
        name, ok, verified, mpjpe, fell = script[len(calls)]
        calls.append((smooth_s, kind))
        if kind in ("firm", "planned", "searched") and fell:
            return None  # stopped at its fall and not kept
        fall_s = 0.5 if fell else np.inf
        smooth = 0.0 if smooth_s == 0.0 else cfg.tracker.smooth_s
        flags = (kind == "firm", kind == "unbalanced", kind in ("planned", "planned_assisted"), kind == "searched")
        return Attempt(
            name,
            _quiet_result(),
            0.0,
            motion,
            (mpjpe, 0.0),
            ok,
            verified,
            0.0,
            0.0,
            smooth,
            fall_s,
            *flags,
            sparing=kind == "sparing",
        )

    return scripted


@pytest.mark.parametrize(
    "script, tried, chosen, unbalanced",
    [
        # a close residual-free attempt ends the ladder at once
        ([_CLOSE], [_F0], 0, False),
        ([_CLOSE], [_F0], 0, True),
        # a fall unsmoothed, close once smoothed
        ([_FALLS, _CLOSE], [_F0, _F], 1, False),
        # residual-free but far: the unbalanced and firm rungs are skipped (a free attempt
        # reached the end); the unsmoothed assisted attempt follows, and is closer
        ([_FAR, _FAR, _HELPED], [_F0, _F, _A0], 2, True),
        # the unsmoothed assisted attempt breaks the budget; the verified residual-free attempt
        # is beyond close_mpjpe_mm, so the smoothed assisted one is tried too, and is closer
        ([_FAR, _FALLS, _BROKEN, _HELPED], [_F0, _F, _A0, _A], 3, False),
        # ... where that breaks the budget too, the far residual-free attempt is the output
        ([_FAR, _FALLS, _BROKEN, _BROKEN], [_F0, _F, _A0, _A], 0, False),
        # a verified assisted attempt beyond close_mpjpe_mm does not end the ladder either
        ([_FAR, _FAR, _HELPED_FAR, _HELPED], [_F0, _F, _A0, _A], 3, False),
        # ... while a verified one within it does: the smoothed one is not tried
        ([_FAR, _FAR, _HELPED], [_F0, _F, _A0], 2, False),
        # both free attempts fell: the firm one is tried, and ends the ladder if it is close
        ([_FALLS, _FALLS, _CLOSE], [_F0, _F, _FIRM], 2, False),
        # with `unbalanced`, the reference without the balance shift first; close, it ends it
        ([_FALLS, _FALLS, _CLOSE], [_F0, _F, _U0], 2, True),
        # ... and where it falls too, the firm one
        ([_FALLS, _FALLS, _FALLS, _CLOSE], [_F0, _F, _U0, _FIRM], 3, True),
        # the firm attempt fell too: the planned reference, unsmoothed; close, it ends it
        ([_FALLS, _FALLS, _FALLS, _CLOSE], [_F0, _F, _FIRM, _P0], 3, False),
        # ... unsmoothed it falls, smoothed it reaches the end but far: the assisted attempt
        # follows and is closer
        ([_FALLS, _FALLS, _FALLS, _FALLS, _FAR, _HELPED], [_F0, _F, _FIRM, _P0, _P, _A0], 5, False),
        # every planned attempt fell too: the search; close, it ends the ladder
        ([_FALLS] * 5 + [_CLOSE], [_F0, _F, _FIRM, _P0, _P, _S], 5, False),
        # ... far (not verified: beyond verify_mpjpe_mm, the searched clips usually are):
        # the assisted attempts follow, and a verified one is the output
        ([_FALLS] * 5 + [_SEARCHED_FAR, _BROKEN, _HELPED], [_F0, _F, _FIRM, _P0, _P, _S, _A0, _A], 7, False),
        # ... where no assisted attempt is within the budget, the searched one is the output
        # (a success, if not verified: the planned reference is not tracked with the residual
        # where a success exists)
        ([_FALLS] * 5 + [_SEARCHED_FAR, _BROKEN, _BROKEN], [_F0, _F, _FIRM, _P0, _P, _S, _A0, _A], 5, False),
        # ... with `sparing` (its cases are those that try _SP), the dearer residual is tried
        # there (a success exists, none verified); breaking the budget too, it is not kept
        (_SEARCHED_BROKEN + [_BROKEN], _UP_TO_SPARING, 5, False),
        # ... keeping the budget and closer, the dearer residual's attempt is the output,
        # verified or not
        (_SEARCHED_BROKEN + [_RESCUED], _UP_TO_SPARING, 8, False),
        (_SEARCHED_BROKEN + [_HELPED], _UP_TO_SPARING, 8, False),
        # ... but not where it keeps the budget further away than the searched one
        (_SEARCHED_BROKEN + [_SPARED_FARTHER], _UP_TO_SPARING, 5, False),
        # every residual-free attempt fell; nothing verified until the last rung
        ([_FALLS] * 6 + [_BROKEN, _HELPED], [_F0, _F, _FIRM, _P0, _P, _S, _A0, _A], 7, False),
        # nothing verified at all: the output is still the best attempt (no success either,
        # so the planned reference is tracked with the residual too; a failure, not kept,
        # though it is closer)
        ([_FALLS] * 6 + [_BROKEN, _BROKEN, _CLOSER_BROKEN], [_F0, _F, _FIRM, _P0, _P, _S, _A0, _A, _PA], 6, False),
        ([_FALLS] * 7 + [_BROKEN, _BROKEN, _CLOSER_BROKEN], [_F0, _F, _U0, _FIRM, _P0, _P, _S, _A0, _A, _PA], 7, True),
        # ... where that keeps the budget, it is the output, though not verified
        ([_FALLS] * 6 + [_BROKEN, _BROKEN, _RESCUED], [_F0, _F, _FIRM, _P0, _P, _S, _A0, _A, _PA], 8, False),
    ],
)
def test_the_ladder_stops_where_it_should(monkeypatch, script, tried, chosen, unbalanced):
    # a clip whose balance repair shifts it (a standing clip, pushed): else the unbalanced rung
    # would track the same reference again and is skipped
    clip = _pushed(standing(frames=10))
    calls = []
    monkeypatch.setattr(pc, "_track_attempt", _script(script, calls))
    monkeypatch.setattr(pc, "_planned_reference", lambda name, fixed, h: fixed)
    sparing = SPARING_PRICE if _SP in tried else None
    _, (rep,) = correct([clip], CorrectionConfig(unbalanced=unbalanced, sparing=sparing))
    assert calls == tried
    expected = script[chosen]
    assert (rep.attempt, rep.mpjpe_mm, rep.smooth_s == 0.0) == (expected[0], expected[3], tried[chosen][0] == 0.0)
    assert (rep.success, rep.verified, rep.firm) == (*expected[1:3], tried[chosen][1] == "firm")
    assert rep.unbalanced == (tried[chosen][1] == "unbalanced")
    assert rep.planned == (tried[chosen][1] in ("planned", "planned_assisted"))
    assert rep.searched == (tried[chosen][1] == "searched")
    assert rep.sparing == (tried[chosen][1] == "sparing")
    assert summarize([rep])["sparing_rate"] == float(rep.sparing)
    assert f"{100 * int(rep.sparing)}% the whole clip with the dearer residual" in table([rep])
    assert summarize([rep])["searched_rate"] == float(rep.searched)
    assert f"{100 * int(rep.searched)}% are the residual-free search's" in table([rep])
    assert summarize([rep])["planned_rate"] == float(rep.planned)
    assert f"{100 * int(rep.planned)}% the reference with the centroidal plan" in table([rep])
    assert rep.success_free == any(s[4] is False for s in script)
    assert rep.free_fall_s == (0.5 if script[0][4] else -1.0)


@pytest.mark.parametrize(
    "script, tried",
    [
        # a verified attempt: no dearer residual
        ([_FAR, _FALLS, _BROKEN, _BROKEN], [_F0, _F, _A0, _A]),
        ([_FALLS] * 5 + [_SEARCHED_FAR, _BROKEN, _HELPED], [_F0, _F, _FIRM, _P0, _P, _S, _A0, _A]),
        # no success at all: not the dearer residual, the planned reference with the residual
        ([_FALLS] * 6 + [_BROKEN, _BROKEN, _RESCUED], [_F0, _F, _FIRM, _P0, _P, _S, _A0, _A, _PA]),
    ],
)
def test_the_dearer_residual_is_tried_only_for_a_far_success(monkeypatch, script, tried):
    calls = []
    monkeypatch.setattr(pc, "_track_attempt", _script(script, calls))
    monkeypatch.setattr(pc, "_planned_reference", lambda name, fixed, h: fixed)
    _, (rep,) = correct([standing(frames=10)], CorrectionConfig(sparing=SPARING_PRICE))
    assert calls == tried and not rep.sparing


@pytest.mark.parametrize(
    "falls, max_falls, searched",
    [
        # the free attempt on the search's smoothing fell twice: searched
        ((5, 2), 2, True),
        # three times: skipped, whatever the unsmoothed attempt did
        ((1, 3), 2, False),
        ((3, 3), 3, True),
        # no limit
        ((9, 9), None, True),
    ],
)
def test_the_search_is_skipped_where_the_free_controller_fell_too_often(
    monkeypatch, caplog, falls, max_falls, searched
):
    """SearchConfig.max_falls: the search is tried only where the residual-free attempt on its
    own reference fell at most that many times; skipped (said in a debug message), the ladder
    goes on to the assisted rungs."""
    calls = []
    counts = iter(falls)

    def scripted(h, motion, fixed, cfg, smooth_s, kind):
        calls.append(kind)
        if kind in ("firm", "planned", "searched"):
            return None
        if kind == "assisted":
            return Attempt("assisted", _quiet_result(), 1.0, motion, (35.0, 0.0), True, True, 0.0, 0.0, 0.0)
        smooth = 0.0 if smooth_s == 0.0 else cfg.free_tracker(None).smooth_s
        fell = next(counts)
        return Attempt(
            "local", _quiet_result(), 0.1, motion, (150.0, 0.0), False, False, 0.0, 0.0, smooth, 0.5, falls=fell
        )

    monkeypatch.setattr(pc, "_track_attempt", scripted)
    search = pc.SearchConfig(max_falls=max_falls)
    with caplog.at_level("DEBUG", logger="motionloop.physics.correct"):
        _, (rep,) = correct([standing(frames=10)], CorrectionConfig(planned=False, search=search), names=["stand_m"])
    expected = ["free", "free", "firm"] + (["searched"] if searched else []) + ["assisted"]
    assert calls == expected
    assert rep.attempt == "assisted" and rep.verified
    skipped = f"stand_m: residual-free search skipped: its free attempt fell {falls[1]} times"
    assert (skipped in caplog.text) == (not searched)


@pytest.mark.slow
def test_a_walk_that_falls_many_times_is_not_searched(monkeypatch):
    """dm_walk: its residual-free body falls 7 times (each wound back and assisted), more than
    the search's `max_falls` (2). Its search is skipped; without the limit it is tried and
    fails (as it did with each of the seeds 0-4 of the shifts), and the output is the same."""
    searches, falls = [], []
    real_search, real_track = pc.search_track, pc._track_attempt

    def counted(*args, **kwargs):
        searches.append(1)
        return real_search(*args, **kwargs)

    def recorded(h, motion, fixed, cfg, smooth_s, kind):
        attempt = real_track(h, motion, fixed, cfg, smooth_s, kind)
        if (smooth_s, kind) == (None, "free"):
            falls.append(attempt.falls)
        return attempt

    monkeypatch.setattr(pc, "search_track", counted)
    monkeypatch.setattr(pc, "_track_attempt", recorded)
    clip = bundled_clip("dm_walk")
    cfg = CorrectionConfig()
    (out,), (rep,) = correct([clip], cfg)
    assert falls[0] > cfg.search.max_falls and searches == []
    unlimited = dataclasses.replace(cfg, search=pc.SearchConfig(max_falls=None))
    (again,), (again_rep,) = correct([clip], unlimited)
    assert searches == [1]
    np.testing.assert_array_equal(out.poses, again.poses)
    assert rep.attempt == again_rep.attempt and not rep.searched and not rep.success_free


@pytest.mark.slow
def test_a_walker_turn_that_falls_free_is_tracked_residual_free_by_the_firm_controller():
    """dm_walker_turn_left0 starts at a push-off: the heel of the rear foot is up and the leg
    straight, so laid flat that foot hovered above the floor, the tracker lifted it, and the
    body lost the support behind it. Both free attempts fall; the firm one, on the reference
    with the pelvis lowered 2 cm at most, reaches the end."""
    clip = bundled_clip("dm_walker_turn_left0")
    _, (without,) = correct([clip], CorrectionConfig(firm=None, planned=False, search=None))
    assert not without.success_free and not without.firm
    _, (rep,) = correct([clip], CorrectionConfig())
    assert rep.success_free and rep.verified
    assert rep.firm and rep.attempt == "free" and rep.assisted_share == 0.0 and rep.mpjpe_mm < without.mpjpe_mm
    assert summarize([rep, without])["firm_rate"] == 0.5
    assert "50% are the firm controller's" in table([rep, without])


@pytest.mark.slow
def test_a_kick_that_falls_balanced_is_tracked_residual_free_unbalanced():
    """dm_kick (31 frames): the balance shift moves its reference 95 mm from the input, and on
    it every residual-free controller falls (only the search gets it through: test_search); on
    the reference without the shift the body reaches the end with no residual
    (CorrectionConfig.unbalanced)."""
    from motionloop.physics.correct import _mpjpe
    from motionloop.physics.model import Humanoid
    from motionloop.physics.repair import repair

    clip = bundled_clip("dm_kick")
    cfg = CorrectionConfig()
    h = Humanoid()
    assert _mpjpe(repair(clip, cfg.repair_for_strength(), h), clip)[0] > 80.0
    assert _mpjpe(repair(clip, cfg.unbalanced_repair(), h), clip)[0] < 10.0
    _, (rep,) = correct([clip], CorrectionConfig(unbalanced=True))
    assert (rep.attempt, rep.unbalanced, rep.success_free, rep.success, rep.smooth_s) == ("free", True, True, True, 0.0)
    assert rep.free_fall_s > 0  # the first (balanced) residual-free attempt fell
    # (without the search, which carries this clip too: test_search)
    _, (without,) = correct([clip], CorrectionConfig(search=None))
    assert not without.success_free and not without.unbalanced
    assert summarize([rep, without])["unbalanced_rate"] == 0.5
    assert "50% tracked the reference without the balance shift" in table([rep, without])


def test_the_unbalanced_rung_is_skipped_where_the_balance_repair_shifted_nothing(monkeypatch):
    """A clip standing still needs no balance shift: its unbalanced reference is the balanced
    one, already tracked, so the ladder goes on to the firm rung."""
    calls = []

    def falls(h, motion, fixed, cfg, smooth_s, kind):
        calls.append(kind)
        if kind == "firm":
            return None
        result = _quiet_result()
        return Attempt("local", result, 0.0, motion, (150.0, 0.0), False, False, 0.0, 0.0, 0.0, 0.5)

    monkeypatch.setattr(pc, "_track_attempt", falls)
    cfg = CorrectionConfig(unbalanced=True, planned=False, search=None)
    correct([standing(frames=10)], cfg)
    assert calls == ["free", "free", "firm", "assisted", "assisted"]
    calls.clear()
    correct([_pushed(standing(frames=10))], cfg)
    assert calls == ["free", "free", "unbalanced", "firm", "assisted", "assisted"]


def test_a_plan_that_cannot_be_solved_skips_the_planned_rungs(monkeypatch, caplog):
    """The plan is solved once per clip, only where the planned rungs are reached; where it
    does not converge (or fails otherwise) they are skipped, with a warning naming the clip,
    and the ladder goes on."""
    from motionloop.physics.plan import PlanError

    solved = []

    def plan(h, motion):
        solved.append(motion.num_frames)
        raise PlanError("centroidal plan did not converge (MaxIterations)")

    calls = []
    monkeypatch.setattr(pc, "centroidal_repair", plan)
    monkeypatch.setattr(pc, "_track_attempt", _script([_FALLS] * 4 + [_BROKEN, _HELPED], calls))
    with caplog.at_level("WARNING", logger="motionloop.physics.correct"):
        _, (rep,) = correct([standing(frames=10)], CorrectionConfig(), names=["stand_x"])
    assert [kind for _, kind in calls] == ["free", "free", "firm", "searched", "assisted", "assisted"]
    assert solved == [10] and not rep.planned and rep.attempt == "assisted" and rep.success
    assert "stand_x: no centroidal plan, planned rungs skipped" in caplog.text and "MaxIterations" in caplog.text
    # any other error of the plan alike: the attempts before it are kept, the clip not failed
    calls.clear()
    monkeypatch.setattr(pc, "centroidal_repair", lambda h, motion: np.linalg.cholesky(-np.eye(2)))
    monkeypatch.setattr(pc, "_track_attempt", _script([_FALLS] * 4 + [_BROKEN, _HELPED], calls))
    with caplog.at_level("WARNING", logger="motionloop.physics.correct"):
        _, (other,) = correct([standing(frames=10)], CorrectionConfig(), names=["stand_y"])
    assert other.error is None and other.attempt == "assisted" and other.success
    assert "stand_y: no centroidal plan, planned rungs skipped: LinAlgError" in caplog.text
    # where nothing keeps the budget, the planned assisted rung is skipped too (no plan)
    calls.clear()
    monkeypatch.setattr(pc, "_track_attempt", _script([_FALLS] * 4 + [_BROKEN, _BROKEN], calls))
    _, (failed,) = correct([standing(frames=10)], CorrectionConfig(), names=["stand_z"])
    assert [kind for _, kind in calls] == ["free", "free", "firm", "searched", "assisted", "assisted"]
    assert failed.error is None and not failed.success and not failed.planned
    # solved once for both planned rungs, and not at all where a free attempt reached the end
    solved.clear()
    calls.clear()
    monkeypatch.setattr(pc, "centroidal_repair", lambda h, motion: (solved.append(1), (motion, {}))[1])
    monkeypatch.setattr(pc, "_track_attempt", _script([_FALLS] * 6 + [_BROKEN, _HELPED], calls))
    correct([standing(frames=10)], CorrectionConfig())
    assert solved == [1] and [kind for _, kind in calls].count("planned") == 2
    # ... and for the planned assisted rung too, where nothing kept the budget
    solved.clear()
    calls.clear()
    monkeypatch.setattr(pc, "_track_attempt", _script([_FALLS] * 6 + [_BROKEN, _BROKEN, _RESCUED], calls))
    _, (rescued,) = correct([standing(frames=10)], CorrectionConfig())
    assert solved == [1] and [kind for _, kind in calls][-1] == "planned_assisted"
    assert rescued.planned and rescued.success and rescued.attempt == "assisted"
    solved.clear()
    calls.clear()
    monkeypatch.setattr(pc, "_track_attempt", _script([_FAR, _FAR, _HELPED], calls))
    correct([standing(frames=10)], CorrectionConfig())
    assert solved == [] and [kind for _, kind in calls] == ["free", "free", "assisted"]


@pytest.mark.slow
def test_a_walk_that_falls_every_other_way_is_tracked_residual_free_on_the_plan(monkeypatch):
    """cmu01_03_walk_d stands on both heels, toes up, for its first 0.4-0.75 s: its reference
    asks the centre of mass to move back while the only support is the heels' line, and every
    other residual-free attempt falls (the first at 0.99 s of 2.15). On the reference whose
    CoM follows the centroidal plan, the smoothed attempt reaches the end: the clip counts as
    tracked residual-free. Its output is a closer attempt with the residual."""
    clip = bundled_clip("cmu01_03_walk_d")
    _, (without,) = correct([clip], CorrectionConfig(planned=False, search=None))
    assert not without.success_free and without.free_fall_s > 0
    tried = []
    real = pc._track_attempt

    def recorded(h, motion, fixed, cfg, smooth_s, kind):
        attempt = real(h, motion, fixed, cfg, smooth_s, kind)
        tried.append((kind, smooth_s, attempt is not None))
        return attempt

    monkeypatch.setattr(pc, "_track_attempt", recorded)
    _, (rep,) = correct([clip], CorrectionConfig())
    assert ("planned", 0.0, False) in tried and (
        "planned",
        None,
        True,
    ) in tried  # fell unsmoothed, reached the end smoothed
    assert rep.success_free and rep.success and rep.verified and rep.free_fall_s == without.free_fall_s
    # the output is a closer attempt with the residual (the smoothed whole-clip one: the
    # locally assisted attempt, verified at 43 mm, is beyond close_mpjpe_mm), as without the plan
    assert (rep.attempt, rep.smooth_s, rep.planned) == ("assisted", 0.05, False)
    assert (without.attempt, without.mpjpe_mm) == (rep.attempt, rep.mpjpe_mm)


@pytest.mark.slow
def test_a_run_whose_assisted_attempts_break_the_budget_keeps_it_on_the_planned_reference():
    """dm_run: every residual-free attempt falls, and with the residual the repaired reference
    asks for more than the budget (mean 8.2 %BW). Its CoM on the centroidal plan, whose
    momentum contact forces in friction cones can give, the whole clip keeps the budget: the
    last rung makes the clip a success (not verified: beyond verify_mpjpe_mm)."""
    clip = bundled_clip("dm_run")
    _, (without,) = correct([clip], CorrectionConfig(planned=False, search=None))
    assert not without.success and not without.success_free and not without.planned
    _, (rep,) = correct([clip], CorrectionConfig(search=None))
    assert rep.success and not rep.success_free and not rep.verified
    assert (rep.attempt, rep.planned, rep.resets, rep.assisted_share) == ("assisted", True, 0, 1.0)
    assert rep.residual_bw <= CorrectionConfig().budget_bw < without.residual_bw
    assert summarize([rep, without])["planned_rate"] == 0.5
