import json

import numpy as np
import pytest
from clips import standing

from motionloop.physics import metrics as pm
from motionloop.physics.config import TrackerConfig
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.physics.model import Humanoid
from motionloop.physics.summary import summarize
from motionloop.physics.tracker import track


def test_standing_stays_standing_for_3s_with_zero_residual():
    clip = standing(61)
    result = track(Humanoid(), clip, TrackerConfig())
    assert result.resets == 0 and result.qp_failures == 0
    assert result.residual_bw.max() < 1e-3
    drift = np.linalg.norm(result.qpos[:, :3] - clip.trans, axis=-1).max()
    assert drift < 0.01


def test_floating_clip_is_put_on_the_floor():
    clip = standing(41, lift=0.12)
    out, (rep,) = correct([clip], CorrectionConfig())
    assert rep.success
    assert pm.physics_metrics(clip)["float_mm"] > 100
    assert rep.after["float_mm"] < 2.0
    assert out[0].source == "corrected"


def test_mpjpe_and_trunk_pitch_are_reported():
    # put on the floor, the lifted clip moves ~12 cm as a whole: the global MPJPE (PHC's
    # g-MPJPE) counts it, the pelvis-relative one (PHC's MPJPE) does not
    lifted, deep = standing(41, lift=0.12), standing(21, lift=-3.0).replace(source="deep")
    _, (rep, bad) = correct([lifted, deep], CorrectionConfig())
    assert rep.success and bad.error is not None
    assert 100.0 < rep.mpjpe_mm < 140.0 and rep.mpjpe_local_mm < 20.0
    assert np.isnan(bad.mpjpe_mm) and np.isnan(bad.mpjpe_local_mm)
    s = summarize([rep, bad])  # the failed clip is not in the means
    assert s["mpjpe_mm"] == rep.mpjpe_mm and s["mpjpe_median_mm"] == rep.mpjpe_mm
    assert s["mpjpe_local_mm"] == s["mpjpe_local_median_mm"] == rep.mpjpe_local_mm
    # put down upright, the body does not lean; the failed clip has no posture change either
    assert abs(rep.trunk_pitch_bias_deg) <= rep.trunk_pitch_change_deg < 1.0
    assert np.isnan(bad.trunk_pitch_change_deg) and np.isnan(bad.trunk_pitch_bias_deg)
    assert s["trunk_pitch_change_deg"] == rep.trunk_pitch_change_deg


def test_strength_zero_returns_clip_unchanged():
    clip = standing(21, lift=0.1)
    out, (rep,) = correct([clip], CorrectionConfig(strength=0.0))
    assert out[0] is clip
    assert rep.after == rep.before


def test_batch_with_bad_clip_returns_the_others():
    good = standing(21)
    deep = standing(21, lift=-3.0).replace(source="deep")
    out, reps = correct([good, deep, good], CorrectionConfig())
    assert [r.success for r in reps] == [True, False, True]
    assert "below the floor" in reps[1].error
    assert out[1] is deep
    json.dumps([r.to_dict() for r in reps])  # reports are JSON-serialisable


def test_process_pool_gives_same_results_as_serial():
    clips = [standing(21), standing(21, lift=0.05)]
    serial = correct(clips, CorrectionConfig(workers=1))
    pooled = correct(clips, CorrectionConfig(workers=2))
    for a, b in zip(serial[0], pooled[0]):
        np.testing.assert_allclose(a.trans, b.trans, atol=1e-6)


def test_absurd_translation_fails_cleanly_without_hanging():
    base = standing(21)
    trans = base.trans.copy()
    trans[:, 0] += np.arange(21) * 20.0  # 400 m/s
    cfg = CorrectionConfig(tracker=TrackerConfig(time_limit_s=20.0))
    _, (rep,) = correct([base.replace(trans=trans)], cfg)
    assert not rep.success and rep.resets > 0


def test_bad_config_values_are_named():
    from motionloop.errors import ConfigError

    with pytest.raises(ConfigError, match="strength"):
        CorrectionConfig(strength=1.5)
    with pytest.raises(ConfigError, match="kp"):
        TrackerConfig(kp=-1.0)


def test_a_clip_tracked_without_residual_is_a_free_success():
    clip = standing(41)
    _, (rep,) = correct([clip], CorrectionConfig())
    assert rep.attempt == "free" and rep.free_fall_s == -1.0 and rep.assisted_share == 0.0
    assert rep.success and rep.success_free and rep.verified
    assert rep.residual_bw == 0.0 and rep.residual_peak_bw == 0.0


def test_verified_needs_the_tracked_clip_close_to_its_input():
    clip = standing(41)
    _, (rep,) = correct([clip], CorrectionConfig(verify_mpjpe_mm=1e-3))
    assert rep.success and not rep.verified


def test_without_the_free_attempt_the_residual_is_used_and_reported():
    clip = standing(41, lift=0.05)
    _, (rep,) = correct([clip], CorrectionConfig(free=None))
    assert rep.attempt == "assisted" and rep.free_fall_s == -1.0 and not rep.success_free
    assert rep.assisted_share == 1.0


def test_budget_counts_the_mean_and_the_worst_half_second():
    from motionloop.physics.correct import window_peak, within_budget
    from motionloop.physics.tracker import TrackResult

    assert window_peak(np.array([0.0, 0.0, 1.0, 1.0, 0.0]), 2) == 1.0
    assert window_peak(np.array([0.3, 0.1]), 5) == pytest.approx(0.2)
    steps = 80  # 1 s at 80 Hz
    quiet = np.full(steps, 0.01)
    burst = quiet.copy()
    burst[10:50] = 0.3  # 0.5 s at 30 %BW: over the 20 % peak, while the mean is 0.155
    cfg = CorrectionConfig(budget_bw=0.2)

    def result(force, resets=0):
        return TrackResult(np.zeros((2, 3)), force, np.zeros(steps), resets, 0, 0.0, 1 / 80)

    assert within_budget(result(quiet), cfg, 1 / 80)[0]
    ok, peak, _ = within_budget(result(burst), cfg, 1 / 80)
    assert not ok and peak == pytest.approx(0.3)
    assert not within_budget(result(quiet, resets=1), cfg, 1 / 80)[0]
    assert not within_budget(result(np.full(steps, 0.06)), CorrectionConfig(), 1 / 80)[0]


def test_a_clip_too_short_to_track_is_reported_not_tracked():
    clip = standing(2)
    out, (rep,) = correct([clip], CorrectionConfig())
    assert out[0] is clip and not rep.success and rep.attempt == "failed"
    assert "at least 3" in rep.error
