"""Local assistance: a fall of the residual-free body is wound back and that stretch tracked
with the residual (tracker.track(assist=...)), and how `correct` chooses among attempts."""

from types import SimpleNamespace

import numpy as np
import pytest
from clips import bundled_clip, standing

from motionloop.errors import ConfigError, MotionloopError
from motionloop.physics.correct import Attempt, CorrectionConfig, best_attempt, correct
from motionloop.physics.model import Humanoid
from motionloop.physics.repair import repair
from motionloop.physics.summary import summarize
from motionloop.physics.tracker import CHECKPOINT_STEPS, track

# a 2.1 s CMU walk whose residual-free body falls at about 1.09 s (bench_physics)
FALLING = "cmu01_03_walk_d"


@pytest.fixture(scope="module")
def falling():
    clip = bundled_clip(FALLING)
    cfg = CorrectionConfig()
    h = Humanoid()
    fixed = repair(clip, cfg.repair_for_strength(), h)
    free = track(h, fixed, cfg.free_tracker())
    helped = track(h, fixed, cfg.free_tracker(), assist=cfg.tracker_for_strength(), rewind_s=0.75, assist_after_s=0.25)
    return clip, cfg, h, fixed, free, helped


def test_a_body_that_never_falls_is_tracked_exactly_as_without_assistance():
    h, clip = Humanoid(), standing(41)
    cfg = CorrectionConfig()
    plain = track(h, clip, cfg.free_tracker())
    helped = track(h, clip, cfg.free_tracker(), assist=cfg.tracker_for_strength())
    assert helped.falls == [] and not helped.assisted.any() and helped.resets == 0
    np.testing.assert_array_equal(plain.qpos, helped.qpos)
    np.testing.assert_array_equal(helped.residual_bw, 0.0)


@pytest.mark.slow
def test_a_fall_is_wound_back_and_only_that_stretch_gets_the_residual(falling):
    clip, cfg, _, _, free, helped = falling
    assert free.resets >= 1, "the test clip no longer falls without help; pick another"
    fall = free.reset_steps[0]
    # the fall is seen at the same step, and instead of a reset the stretch is assisted
    assert helped.falls[0] == fall and helped.resets == 0
    dt = helped.control_dt
    back, ahead = round(0.75 / dt), round(0.25 / dt)
    start = int(np.flatnonzero(helped.assisted)[0])
    # the latest saved state at least `back` steps before the fall, and on to `ahead` past it
    assert start % CHECKPOINT_STEPS == 0 and fall - back - CHECKPOINT_STEPS < start <= fall - back
    assert np.flatnonzero(helped.assisted)[-1] == fall + ahead
    assert helped.assisted[start : fall + ahead + 1].all()
    # the residual exists only in the stretch; it is used there, within its bound
    np.testing.assert_array_equal(helped.residual_bw[~helped.assisted], 0.0)
    assert helped.residual_bw[helped.assisted].max() > 0.0
    bound = cfg.tracker_for_strength().residual_max_bw * np.sqrt(3) + 1e-9
    assert helped.residual_bw.max() <= bound
    # before the stretch, the trajectory is the residual-free one, bit for bit
    frames = int(np.floor(start * dt * clip.fps))
    np.testing.assert_array_equal(helped.qpos[:frames], free.qpos[:frames])
    assert np.abs(helped.qpos[frames + 2 :] - free.qpos[frames + 2 :]).max() > 1e-3


@pytest.mark.slow
def test_a_try_that_stops_at_its_fall_is_the_plain_track_up_to_it(falling):
    """`stop_at_fall` (the firm controller's try in `correct`): the same simulation as a plain
    track up to the first fall, which ends it."""
    _, cfg, h, fixed, free, _ = falling
    stopped = track(h, fixed, cfg.free_tracker(), stop_at_fall=True)
    fall = free.reset_steps[0]
    assert stopped.stopped_at == fall and stopped.reset_steps == [fall] and stopped.resets == 1
    assert free.stopped_at == -1
    frame = int(np.searchsorted(np.round(np.arange(len(fixed.poses)) / fixed.fps / free.control_dt), fall))
    np.testing.assert_array_equal(stopped.qpos[:frame], free.qpos[:frame])
    assert not stopped.qpos[frame:].any()
    np.testing.assert_array_equal(stopped.residual_bw[: fall - 1], free.residual_bw[: fall - 1])
    assert stopped.cpu_s < free.cpu_s
    with pytest.raises(MotionloopError, match="stop_at_fall"):
        track(h, fixed, cfg.free_tracker(), assist=cfg.tracker_for_strength(), stop_at_fall=True)


@pytest.mark.slow
def test_a_second_fall_inside_the_stretch_is_reset(falling):
    _, cfg, h, fixed, free, _ = falling
    # an "assisting" controller that is the free one falls again at the same step
    same = track(h, fixed, cfg.free_tracker(), assist=cfg.free_tracker())
    assert same.falls == [free.reset_steps[0]]
    assert same.resets >= 1 and same.reset_steps[0] == free.reset_steps[0]
    np.testing.assert_array_equal(same.residual_bw, 0.0)


@pytest.mark.slow
def test_correct_reports_a_clip_that_fell_and_the_attempt_it_chose():
    clip = bundled_clip(FALLING)
    # one pass (the smoothed reference), so the two settings' attempts compare like with like;
    # without the planned rungs, on whose reference this clip reaches the end residual-free,
    # nor the search
    _, (rep,) = correct([clip], CorrectionConfig(unsmoothed_first=False, planned=False, search=None))
    assert not rep.success_free and 0.9 < rep.free_fall_s < 1.3
    assert rep.success and rep.verified and rep.resets == 0
    # after a fall both a locally assisted and a whole-clip assisted attempt exist; the
    # report says which one is the output and how much of it had the residual
    assert (rep.attempt, rep.assisted_share == 1.0) in (("local", False), ("assisted", True))
    if rep.attempt == "local":
        assert 0.0 < rep.assisted_share < 1.0
    _, (whole,) = correct([clip], CorrectionConfig(assist="whole", unsmoothed_first=False, planned=False))
    assert whole.attempt == "assisted" and whole.assisted_share == 1.0
    assert whole.free_fall_s == rep.free_fall_s
    assert rep.mpjpe_mm <= whole.mpjpe_mm + 1e-9  # the closer of two successes
    s = summarize([rep, whole])
    assert s["assisted_rate"] == (1.0 if rep.attempt == "assisted" else 0.5)
    assert s["assisted_share"] == pytest.approx((rep.assisted_share + 1.0) / 2)


def _attempt(name, ok, verified, resets, mpjpe):
    result = SimpleNamespace(resets=resets)
    return Attempt(name, result, 0.0, None, (mpjpe, 0.0), ok, verified, 0.0, 0.0)


@pytest.mark.parametrize(
    "attempts, chosen",
    [
        # a success beats a closer failure, verified beats a closer unverified success
        ([("free", False, False, 1, 10.0), ("assisted", True, True, 0, 80.0)], "assisted"),
        ([("local", True, False, 0, 120.0), ("assisted", False, False, 0, 30.0)], "local"),
        ([("local", True, True, 0, 90.0), ("assisted", True, False, 0, 101.0)], "local"),
        # among successes the closer; among failures fewer resets, then the closer
        ([("local", True, True, 0, 43.0), ("assisted", True, True, 0, 32.0)], "assisted"),
        ([("local", False, False, 2, 50.0), ("assisted", False, False, 1, 90.0)], "assisted"),
        ([("free", True, True, 0, 20.0), ("assisted", True, True, 0, 20.0)], "free"),
    ],
)
def test_the_output_is_the_best_attempt(attempts, chosen):
    assert best_attempt([_attempt(*a) for a in attempts]).name == chosen


def test_assistance_settings_are_checked():
    with pytest.raises(ConfigError, match="assist"):
        CorrectionConfig(assist="everywhere")
    for name in ("rewind_s", "assist_after_s"):
        with pytest.raises(ConfigError, match=name):
            CorrectionConfig(**{name: -0.1})
    with pytest.raises(MotionloopError, match="rewind_s"):
        track(
            Humanoid(), standing(5), CorrectionConfig().free_tracker(), assist=CorrectionConfig().tracker, rewind_s=-1
        )


def test_the_correct_table_names_each_clips_attempt():
    from motionloop.physics.summary import table

    clips = [standing(21), standing(21, lift=-3.0).replace(source="deep")]
    _, reports = correct(clips, CorrectionConfig(), names=["stands", "deep"])
    reports[0].attempt, reports[0].assisted_share = "local", 0.25  # as if it had fallen once
    text = table(reports)
    head, rows = text.splitlines()[0], text.splitlines()[2:4]
    assert "attempt" in head.split()
    assert rows[0].split()[:4] == ["stands", "yes", "yes", "local"] and "failed:" in rows[1]
    assert "(50% of clips)" in text and "allowed on 25% of the control steps" in text
