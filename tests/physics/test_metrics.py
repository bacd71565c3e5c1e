import numpy as np
import pytest
from clips import standing

from motionloop import skeleton as sk
from motionloop.physics import metrics as pm


def test_standing_is_clean():
    m = pm.physics_metrics(standing())
    assert m["penetrate_mm"] < 0.01 and m["float_mm"] == 0.0 and m["skate_mm"] == 0.0


def test_sunk_body_reads_its_depth():
    m = pm.physics_metrics(standing(lift=-0.05))
    assert m["penetrate_mm"] == pytest.approx(50.0, abs=0.5)
    assert m["float_mm"] == 0.0


def test_floating_body_reads_height_minus_tolerance():
    m = pm.physics_metrics(standing(lift=0.10))
    assert m["float_mm"] == pytest.approx(100.0 - 1000 * pm.CONTACT_TOL, abs=0.5)
    assert m["penetrate_mm"] == 0.0 and m["skate_mm"] == 0.0  # no foot touches


def test_sliding_feet_read_as_skate_at_20fps_units():
    base = standing(fps=40)
    trans = base.trans.copy()
    trans[:, 0] += np.arange(base.num_frames) * 0.01  # 1 cm per 1/40 s = 2 cm per 1/20 s
    m = pm.physics_metrics(base.replace(trans=trans))
    assert m["skate_mm"] == pytest.approx(20.0, rel=1e-3)
    assert m["phys_err_mm"] == pytest.approx(m["penetrate_mm"] + m["float_mm"] + m["skate_mm"])


def test_lowest_point_uses_body_geometry_not_joints():
    clip = standing()
    joints = clip.joints()
    # the ankle joint is 8.5 cm up, but the sole is on the floor
    assert joints[:, sk.LEFT_ANKLE, 2].min() == pytest.approx(sk.ANKLE_HEIGHT, abs=1e-6)
    assert abs(pm.lowest_points(clip)).max() < 1e-6


def test_metrics_do_not_modify_input():
    clip = standing(lift=0.02)
    before = clip.trans.copy()
    pm.physics_metrics(clip)
    np.testing.assert_array_equal(clip.trans, before)


def _pitched(deg, heading=0.0, frames=3):
    """The standing body turned forward by `deg` about its left-right axis (90 prone, 180
    upside down), then by `heading` radians about the vertical."""
    from motionloop.data.augment import rotate_heading

    clip = standing(frames)
    poses = clip.poses.copy()
    poses[:, sk.PELVIS] = [np.pi / 2 + np.deg2rad(deg), 0.0, 0.0]
    return rotate_heading(clip.replace(poses=poses), heading)


@pytest.mark.parametrize("heading", [0.0, 1.0, -2.5])
def test_trunk_pitch_is_the_forward_lean_in_any_heading(heading):
    upright = pm.trunk_pitch_deg(_pitched(0.0, heading))
    assert np.abs(upright).max() < 10.0  # the rest pose's spine is near vertical
    for deg in (30.0, -20.0, 90.0):
        change = pm.pitch_change_deg(_pitched(0.0, heading), _pitched(deg, heading))
        assert change == pytest.approx(np.full(3, deg), abs=1e-4)  # float32 poses


def test_trunk_pitch_stays_continuous_for_a_body_lying_or_upside_down():
    # the pelvis's forward axis, projected on the floor, flips between 88 and 92 degrees
    # (and vanishes at 90): the facing from hips and shoulders does not
    for a, b in ((88.0, 92.0), (-88.0, -92.0), (178.0, 182.0)):
        change = pm.pitch_change_deg(_pitched(a), _pitched(b))
        assert change == pytest.approx(np.full(3, 4.0) if a > 0 else np.full(3, -4.0), abs=1e-4)


def test_trunk_pitch_is_undefined_for_a_body_on_its_side():
    from motionloop import rotations as rot

    clip = standing(3)
    poses = clip.poses.copy()
    # the standing body turned 90 degrees about its forward axis: its left-right axis vertical
    upright = rot.aa_to_mat(np.array([np.pi / 2, 0.0, 0.0]))
    poses[:, sk.PELVIS] = rot.mat_to_aa(rot.axis_rotation("Y", np.pi / 2) @ upright)
    assert np.isnan(pm.trunk_pitch_deg(clip.replace(poses=poses))).all()
    # undefined frames are left out of a clip's figures; a clip with none defined has none
    assert pm.pitch_change_stats(np.array([np.nan, 2.0, -4.0])) == (3.0, -1.0)
    assert np.isnan(pm.pitch_change_stats(np.full(3, np.nan))).all()
    with pytest.raises(ValueError, match="3 frames before, 4 after"):
        pm.pitch_change_deg(standing(3), standing(4))
