"""Grounding (repair.py): one offset where the clip's floor level is steady, an offset per
frame where it drifts, and flights that keep their height."""

import numpy as np
import pytest
from clips import bundled_clip, standing

from motionloop.data import corrupt
from motionloop.errors import ConfigError
from motionloop.physics import metrics as pm
from motionloop.physics.repair import PlacementError, RepairConfig, ground, ground_offset, ground_offsets


def _sinking(frames: int = 60, depth: float = 0.2):
    """A standing clip on the floor for its first half that then sinks `depth` metres into it
    within 0.4 s (a drift of the shipped model's samples)."""
    clip = standing(frames)
    sink = np.zeros(frames)
    start = frames // 2
    sink[start:] = depth * np.clip((np.arange(frames - start) + 1) / 8, 0, 1)
    trans = clip.trans.copy()
    trans[:, 2] -= sink
    return clip.replace(trans=trans)


def test_a_drifting_clip_is_grounded_frame_by_frame():
    clip = _sinking()
    out = ground(clip)
    low = pm.lowest_points(out)
    # both halves stand on the floor; around the 0.4 s of sinking itself, within the 0.1 s
    # smoothing's 2 cm
    steady = np.r_[0:24, 45:60]
    assert np.abs(low[steady]).max() < 0.002 and np.abs(low).max() < 0.025
    # one offset would lift the whole clip by about the sunk half's depth and leave the
    # first half hovering
    one = ground(clip, RepairConfig(ground_window_s=None))
    assert pm.lowest_points(one)[:24].min() > 0.15


def test_a_jump_keeps_its_flight():
    # 0.5 s of flight, 25 cm up, with the feet still (slow feet count as support frames)
    clip = standing(60)
    t = np.arange(10) / clip.fps
    up = np.zeros(60)
    up[25:35] = 0.25 * (1 - ((t - t.mean()) / (t.mean() + 0.5 / clip.fps)) ** 2)
    trans = clip.trans.copy()
    trans[:, 2] += up
    clip = clip.replace(trans=trans)
    off = ground_offsets(clip)
    assert np.ptp(off) == 0.0 and off[0] == pytest.approx(ground_offset(clip))
    np.testing.assert_allclose(
        pm.lowest_points(ground(clip))[25:35] - up[25:35], pm.lowest_points(ground(clip))[0], atol=1e-5
    )


def test_a_steady_clip_keeps_one_offset():
    # a real walk, and a run whose support frames touch the floor for 2 frames between
    # 0.3 s rises: their floor level moves less than the tolerance, one offset as before
    for clip_id in ("dm_walk", "dm_run"):
        clip = bundled_clip(clip_id)
        off = ground_offsets(clip)
        assert np.ptp(off) == 0.0 and off[0] == ground_offset(clip)
    # nor does a walk with every joint rotation jittered: its level strays 1.9 cm from the
    # one offset, the estimate's noise
    jittered = corrupt.jitter(bundled_clip("cmu01_03_walk_d"), 0.05, np.random.default_rng(4))
    assert np.ptp(ground_offsets(jittered)) == 0.0
    lifted = standing(41, lift=0.12)
    assert np.all(ground_offsets(lifted) == ground_offset(lifted))
    assert ground_offset(lifted) == pytest.approx(-0.12, abs=1e-3)


def test_without_a_window_the_offset_is_one_for_the_clip():
    clip = _sinking()
    off = ground_offsets(clip, window_s=None)
    assert np.all(off == ground_offset(clip))


def test_the_window_is_a_positive_time_or_none():
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ConfigError, match="ground_window_s"):
            RepairConfig(ground_window_s=bad)
    RepairConfig(ground_window_s=None)


def test_absurd_drift_names_the_frame():
    clip = _sinking(depth=1.5)
    with pytest.raises(PlacementError, match=r"1\.\d+ m below the floor at frame \d+ \(limit 1.0 m\)"):
        ground(clip)
