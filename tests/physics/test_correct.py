import json

import numpy as np
import pytest
from clips import standing

from motionloop.physics import metrics as pm
from motionloop.physics.config import TrackerConfig
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.physics.model import Humanoid
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
