"""Evaluation windows: deterministic draws, disjoint reference halves, inputs in window order."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import synthetic_clip

from motionloop.data.features import SLICES, motion_to_features
from motionloop.eval.errors import EvaluationError
from motionloop.eval.windows import draw, split_index, window_index, window_inputs


def test_window_index_covers_every_start():
    idx = window_index([5, 3, 10], window=4, stride=2)
    assert idx.tolist() == [[0, 0], [2, 0], [2, 2], [2, 4], [2, 6]]


@pytest.mark.parametrize("lengths", [[400, 100, 79, 30, 250], [40] * 6, [1000]])
def test_split_halves_share_no_frame_and_both_cover_long_clips(lengths):
    window = 40
    a, b = split_index(lengths, window)
    assert len(a) and len(b)

    def frames(idx):
        return {(int(c), int(s) + t) for c, s in idx for t in range(window)}

    assert not frames(a) & frames(b)
    assert all(s + window <= lengths[c] for c, s in np.concatenate([a, b]))
    assert 30 not in {lengths[c] for c, _ in np.concatenate([a, b])}  # shorter than a window
    if lengths == [1000]:
        assert 0.35 < len(a) / (len(a) + len(b)) < 0.65


def test_draw_is_deterministic_without_replacement_and_checks_n():
    idx = window_index([100, 80], window=40)
    d1, d2 = draw(idx, 30, seed=3, what="x"), draw(idx, 30, seed=3, what="x")
    assert np.array_equal(d1, d2) and len({tuple(r) for r in d1}) == 30
    assert not np.array_equal(d1, draw(idx, 30, seed=4, what="x"))
    with pytest.raises(EvaluationError, match="n=200.*only 102"):
        draw(idx, 200, seed=0, what="x")


def test_window_inputs_follow_window_order_and_fix_first_frame_rates():
    rng = np.random.default_rng(0)
    clips = [synthetic_clip("walk", rng, frames=60), synthetic_clip("turn", rng, frames=50)]
    windows = np.array([[1, 5], [0, 0], [1, 0], [0, 20]])
    feats, kin = window_inputs(clips, windows, 40)
    assert feats.shape == (4, 40, motion_to_features(clips[0]).shape[1]) and kin.shape[0] == 4
    full = motion_to_features(clips[1])
    np.testing.assert_array_equal(feats[0, 1:], full[6:45])
    np.testing.assert_array_equal(feats[0, 0, SLICES["local_rot"]], full[5, SLICES["local_rot"]])
    # the clip's first frame has zero velocity in the features; the window copies its second frame's
    assert np.all(full[0, SLICES["root_vel"]] == 0)
    np.testing.assert_array_equal(feats[2, 0, SLICES["root_vel"]], full[1, SLICES["root_vel"]])
    np.testing.assert_array_equal(feats[2, 0, SLICES["yaw_rate"]], full[1, SLICES["yaw_rate"]])
    single, _ = window_inputs(clips, windows[3:], 40)
    np.testing.assert_array_equal(single[0], feats[3])
