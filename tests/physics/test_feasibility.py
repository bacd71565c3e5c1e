import numpy as np
import pytest
from clips import standing

from motionloop.physics.feasibility import feasibility_bw, feasibility_profile


def test_standing_needs_no_residual():
    assert feasibility_bw(standing(21)) < 1e-6


def test_floating_needs_full_body_weight():
    assert feasibility_bw(standing(21, lift=0.2)) == pytest.approx(1.0, abs=1e-3)


def test_uniform_slide_is_feasible_but_shaking_is_not():
    base = standing(41)
    trans = base.trans.copy()
    trans[:, 0] += np.arange(41) * 0.02  # constant velocity: no force needed
    assert feasibility_bw(base.replace(trans=trans)) < 1e-6
    t = np.arange(41) / 20.0
    trans = base.trans.copy()
    trans[:, 2] += 0.05 * np.sin(2 * np.pi * 3 * t)  # bobbing at 3 Hz: needs pulling down
    assert feasibility_bw(base.replace(trans=trans)) > 0.1


def test_deep_body_is_not_supported_by_the_floor():
    prof = feasibility_profile(standing(5, lift=-2.0))
    assert prof.min() == pytest.approx(1.0, abs=1e-3)
