"""Kinematic statistics: invariances, and that they respond to the artefacts they exist for."""

from __future__ import annotations

import numpy as np
from synthetic import synthetic_clip

from motionloop.data import corrupt
from motionloop.data.augment import rotate_heading
from motionloop.eval.kinematics import KIN_NAMES, kinematic_stats


def stats_of(m):
    pos, glob = m.fk()
    return kinematic_stats(pos[None], glob[None], m.fps)[0]


def col(name):
    return KIN_NAMES.index(name)


def test_shape_and_invariance_to_heading_and_floor_position():
    m = synthetic_clip("walk", np.random.default_rng(0), frames=40)
    s = stats_of(m)
    assert s.shape == (len(KIN_NAMES),) and np.all(np.isfinite(s))
    moved = rotate_heading(m.replace(trans=m.trans + np.array([3.0, -2.0, 0.0])), 1.3)
    np.testing.assert_allclose(stats_of(moved), s, atol=1e-4)


def test_batched_equals_unbatched():
    rng = np.random.default_rng(1)
    clips = [synthetic_clip(lab, rng, frames=30) for lab in ("run", "squat", "wave")]
    fk = [m.fk() for m in clips]
    batch = kinematic_stats(np.stack([p for p, _ in fk]), np.stack([g for _, g in fk]), 20.0)
    for i, m in enumerate(clips):
        np.testing.assert_allclose(batch[i], stats_of(m), rtol=1e-12)


def test_jitter_smoothing_and_lifting_move_their_statistics():
    m = synthetic_clip("walk", np.random.default_rng(2), frames=60)
    s = stats_of(m)
    acc = [col(f"log_acc_mean:{j}") for j in ("left_wrist", "head", "right_foot")]
    assert np.all(stats_of(corrupt.jitter(m, 0.05, np.random.default_rng(0)))[acc] > s[acc] + 0.5)
    assert np.all(stats_of(corrupt.smooth(m, 0.2))[acc] < s[acc])
    lifted = stats_of(corrupt.lift(m, 0.1))
    np.testing.assert_allclose(lifted[col("pelvis_height_mean")] - s[col("pelvis_height_mean")], 0.1, atol=1e-5)
    for side in ("left", "right"):
        assert s[col(f"contact_share:{side}")] > 0.2
        assert lifted[col(f"contact_share:{side}")] == 0.0
