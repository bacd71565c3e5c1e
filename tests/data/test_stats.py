"""Foot and ground statistics on the capsule body."""

import numpy as np
import pytest

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data import stats
from motionloop.motion import Motion


def standing(T=20, height=0.0, velocity=(0.0, 0.0), yaw_rate=0.0, fps=20.0) -> Motion:
    """The rest pose standing upright, soles `height` above the floor, sliding at `velocity` m/s."""
    t = np.arange(T) / fps
    poses = np.zeros((T, sk.NUM_JOINTS, 3))
    poses[:, sk.PELVIS] = rot.mat_to_aa(rot.axis_rotation("Z", yaw_rate * t) @ sk.UPRIGHT)
    trans = np.stack([velocity[0] * t, velocity[1] * t, np.full(T, sk.PELVIS_HEIGHT + height)], -1)
    return Motion(trans=trans, poses=poses, fps=fps)


def test_standing_on_the_floor():
    s = stats.foot_ground_stats(standing())
    assert s["foot_ground_share"] == 1.0
    assert s["planted_foot_speed_mps"] == pytest.approx(0.0, abs=1e-6)
    assert s["min_z_mm"] == pytest.approx(0.0, abs=1e-3)  # the flat soles are the lowest points
    assert s["median_lowest_mm"] == pytest.approx(0.0, abs=1e-3)
    assert s["height_m"] == pytest.approx(sk.height_of())
    assert (s["frames"], s["fps"], s["duration_s"]) == (20, 20.0, pytest.approx(0.95))


@pytest.mark.parametrize("height, share", [(0.015, 1.0), (0.05, 0.0), (-0.015, 1.0), (-0.05, 0.0)])
def test_ground_share_counts_feet_within_2cm(height, share):
    s = stats.foot_ground_stats(standing(height=height))
    assert s["foot_ground_share"] == share
    assert s["min_z_mm"] == pytest.approx(1000 * height, abs=1e-3)


def test_planted_foot_speed_is_the_sliding_speed():
    s = stats.foot_ground_stats(standing(velocity=(0.6, 0.8)))
    assert s["planted_foot_speed_mps"] == pytest.approx(1.0, rel=1e-4)
    lifted = stats.foot_ground_stats(standing(height=0.1, velocity=(0.6, 0.8)))
    assert lifted["planted_foot_speed_mps"] == 0.0  # no foot near the floor


def test_foot_tracks_follow_one_corner():
    """A foot turning about its own vertical axis: the lowest corner is a point of the foot,
    so the speed is that point's speed, not the jump between different corners."""
    motion = standing(T=10, yaw_rate=1.0)
    pos, glob = motion.fk()
    heights, speeds = stats.foot_tracks(pos, glob, motion.fps)
    assert heights.shape == speeds.shape == (10, 2)
    np.testing.assert_allclose(heights, 0.0, atol=1e-6)
    # a corner at distance r from the body's vertical axis moves at r * 1 rad/s: well under 1 m/s
    assert 0.0 < speeds.max() < 0.4
    one = stats.foot_tracks(pos[:1], glob[:1], motion.fps)[1]
    np.testing.assert_array_equal(one, 0.0)


def test_lowest_points_see_the_whole_body():
    motion = standing(T=2)
    pos, glob = motion.fk()
    pos = pos.copy()
    pos[1, sk.LEFT_WRIST, 2] = -0.1  # a hand through the floor
    low = stats.lowest_points(pos, glob)
    assert low[0] == pytest.approx(0.0, abs=1e-6)
    assert low[1] < -0.1
