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
