import dataclasses

import numpy as np
import pytest
from clips import standing

from motionloop import skeleton as sk
from motionloop.errors import ConfigError
from motionloop.physics.balance import zmp_and_support
from motionloop.physics.metrics import lowest_points
from motionloop.physics.model import default_humanoid
from motionloop.physics.repair import RepairConfig, repair
from motionloop.physics.step import StepConfig, step_offsets, step_repair, zmp_shifts


def _one_leg(side_lean: float, frames: int = 21, knee: float = 0.6):
    """Standing on the left foot, its knee bent by `knee` rad (the sole kept level and on the
    floor), the right foot lifted by hip and knee, the spine bent sideways by
    `side_lean` rad (positive: over the lifted foot, the CoM off the left foot)."""
    clip = standing(frames)
    poses = clip.poses.copy()
    poses[:, sk.RIGHT_HIP, 0] = -0.9
    poses[:, sk.RIGHT_KNEE, 0] = 1.6
    poses[:, sk.LEFT_HIP, 0] = -knee / 2
    poses[:, sk.LEFT_KNEE, 0] = knee
    poses[:, sk.LEFT_ANKLE, 0] = -knee / 2
    for j in (sk.SPINE1, sk.SPINE2, sk.SPINE3):
        poses[:, j, 2] = side_lean
    bent = clip.replace(poses=poses)
    trans = bent.trans.copy()
    trans[:, 2] -= lowest_points(bent)[0]  # the left sole back on the floor
    return bent.replace(trans=trans)


def _median_need(h, clip) -> float:
    shifts, _ = zmp_shifts(h, clip)
    return float(np.nanmedian(np.linalg.norm(shifts, axis=1)))


def test_a_balanced_clip_takes_no_step():
    h = default_humanoid()
    for clip in (standing(21), _one_leg(-0.3)):
        offsets, taken = step_offsets(h, clip)
        assert taken == 0 and not offsets.any()
        stepped, info = step_repair(h, clip)
        assert stepped is clip and info == {"steps": 0, "max_step_m": 0.0}


def test_the_foot_carrying_a_leaning_body_steps_under_its_zmp():
    h = default_humanoid()
    clip = _one_leg(0.3)
    need = _median_need(h, clip)
    assert need > 0.05
    offsets, taken = step_offsets(h, clip)
    assert taken == 1
    assert not offsets[:, 1].any()  # the lifted foot is not planted: it takes no step
    left = offsets[:, 0]
    np.testing.assert_allclose(left, left[:1].repeat(len(left), axis=0))  # a planted foot stays put
    # towards the ZMP: the step is the median of the shifts the frames ask for
    shifts, _ = zmp_shifts(h, clip)
    np.testing.assert_allclose(left[0], np.nanmedian(shifts, axis=0))
    stepped, info = step_repair(h, clip)
    assert info["steps"] == 1 and info["max_step_m"] == pytest.approx(np.linalg.norm(left[0]))
    # the ankle moved by the step, horizontally; the foot kept its orientation; the pelvis stayed
    before, after = clip.joints(), stepped.joints()
    np.testing.assert_allclose(after[:, sk.LEFT_ANKLE, :2] - before[:, sk.LEFT_ANKLE, :2], left, atol=2e-3)
    np.testing.assert_allclose(after[:, sk.LEFT_ANKLE, 2], before[:, sk.LEFT_ANKLE, 2], atol=2e-3)
    _, glob_before = clip.fk()
    _, glob_after = stepped.fk()
    np.testing.assert_allclose(glob_after[:, sk.LEFT_ANKLE], glob_before[:, sk.LEFT_ANKLE], atol=1e-5)
    np.testing.assert_array_equal(stepped.trans, clip.trans)
    # and the body now nearly balances over it (the leg that moved carries some mass along)
    assert _median_need(h, stepped) < 0.15 * need


def test_a_step_goes_no_further_than_the_leg_reaches_with_the_foot_on_the_floor():
    h = default_humanoid()
    bent, straight = _one_leg(0.3), _one_leg(0.3, knee=0.0)
    assert np.linalg.norm(step_offsets(h, bent)[0][0, 0]) > 0.05
    # a straight stance leg cannot put its foot further out without lifting it: no step
    assert step_offsets(h, straight)[1] == 0
    # a little bent: the step stops where the leg is straight, the sole still on the floor
    little = _one_leg(0.3, knee=0.15)
    offsets, taken = step_offsets(h, little)
    assert taken == 1 and 0.02 < np.linalg.norm(offsets[0, 0]) < np.linalg.norm(step_offsets(h, bent)[0][0, 0])
    stepped, _ = step_repair(h, little)
    np.testing.assert_allclose(lowest_points(stepped), lowest_points(little), atol=2e-3)


def test_short_steps_are_dropped_and_long_ones_cut():
    h = default_humanoid()
    clip = _one_leg(0.3)
    full = np.linalg.norm(step_offsets(h, clip)[0][0, 0])
    assert full > 0.05
    offsets, taken = step_offsets(h, clip, StepConfig(min_step_m=full + 0.01, max_step_m=full + 0.1))
    assert taken == 0 and not offsets.any()
    offsets, _ = step_offsets(h, clip, StepConfig(max_step_m=0.03))
    np.testing.assert_allclose(np.linalg.norm(offsets[:, 0], axis=1), 0.03)


def test_frames_whose_zmp_means_little_are_left_out():
    h = default_humanoid()
    clip = _one_leg(0.3)
    shifts, _ = zmp_shifts(h, clip, StepConfig(edge_frames=3))
    assert np.isnan(shifts[:3]).all() and np.isnan(shifts[-3:]).all() and not np.isnan(shifts[3:-3]).any()
    # a floor carrying less than the body's weight times min_load: no usable frame, no step
    *_, fz = zmp_and_support(h, clip)
    heavy = float(fz.max() / 9.81) + 0.1
    shifts, _ = zmp_shifts(h, clip, StepConfig(min_load=heavy))
    assert np.isnan(shifts).all()
    assert step_offsets(h, clip, StepConfig(min_load=heavy))[1] == 0


def test_the_repair_steps_only_when_asked_and_only_with_the_balance_shift():
    h = default_humanoid()
    clip = _one_leg(0.3)
    plain = repair(clip, RepairConfig(), h)
    stepped = repair(clip, RepairConfig(step_feet=True), h)
    assert not np.allclose(plain.joints()[:, sk.LEFT_ANKLE], stepped.joints()[:, sk.LEFT_ANKLE], atol=0.01)
    # the balance shift has less left to do after the step: the pelvis moves less
    assert np.abs(stepped.trans - clip.trans).max() < np.abs(plain.trans - clip.trans).max()
    unbalanced = RepairConfig(step_feet=True, balance=False)
    np.testing.assert_array_equal(
        repair(clip, unbalanced, h).poses, repair(clip, dataclasses.replace(unbalanced, step_feet=False), h).poses
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"min_step_m": 0.4},
        {"margin_m": -0.01},
        {"min_load": -1.0},
        {"min_frames": 0},
        {"min_frames": 2.0},
        {"edge_frames": -1},
        {"edge_frames": True},
    ],
)
def test_step_config_rejects_bad_values(bad):
    with pytest.raises(ConfigError, match="StepConfig"):
        StepConfig(**bad)
