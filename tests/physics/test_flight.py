import numpy as np
from clips import standing

from motionloop.physics.flight import ballistic_repair, centre_of_mass, flight_runs
from motionloop.physics.model import default_humanoid


def test_flight_runs_need_support_on_both_sides():
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0], dtype=bool)  # True = supported
    assert flight_runs(mask) == [(3, 5), (6, 8)]
    assert flight_runs(np.ones(5, dtype=bool)) == []


def test_a_hanging_jump_is_put_on_its_parabola():
    h = default_humanoid()
    clip = standing(31)
    trans = clip.trans.copy()
    # a plateau 0.15 m up for 0.4 s: the body hangs in the air, it does not fall
    trans[10:19, 2] += 0.15
    jump = clip.replace(trans=trans)
    fixed, runs = ballistic_repair(h, jump)
    assert runs == 1
    com = centre_of_mass(h, fixed)
    g = -h.model.opt.gravity[2]
    acc = np.diff(com[9:20], 2, axis=0) * jump.fps**2  # frames 9..19: last support to first
    np.testing.assert_allclose(acc[:, 2], -g, atol=1e-3)
    np.testing.assert_allclose(acc[:, :2], 0.0, atol=1e-3)
    np.testing.assert_allclose(fixed.trans[:10], jump.trans[:10])
    np.testing.assert_allclose(fixed.trans[19:], jump.trans[19:])
    np.testing.assert_allclose(fixed.poses, jump.poses)


def test_clip_without_flight_is_unchanged():
    clip = standing(11)
    fixed, runs = ballistic_repair(default_humanoid(), clip)
    assert runs == 0 and fixed is clip
