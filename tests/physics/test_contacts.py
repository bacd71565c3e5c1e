import numpy as np
from clips import standing

from motionloop.physics import contacts
from motionloop.physics import metrics as pm


def test_standing_feet_are_planted():
    planted = contacts.stance(pm.foot_segments(standing(21)), 1 / 20)
    assert planted.shape == (21, 4) and planted.all()


def test_lifted_or_fast_feet_are_not_planted():
    base = standing(21)
    up = contacts.stance(pm.foot_segments(base.replace(trans=base.trans + [0, 0, 0.06])), 1 / 20)
    assert not up.any()
    for speed, expected in ((0.3, True), (1.0, False)):
        trans = base.trans.copy()
        trans[:, 0] += np.arange(21) / 20 * speed
        planted = contacts.stance(pm.foot_segments(base.replace(trans=trans)), 1 / 20)
        assert planted.all() == expected and planted.any() == expected


def test_a_foot_a_few_cm_up_still_stands():
    # retargeted clips hold standing feet a centimetre or two above the floor
    base = standing(21)
    assert contacts.stance(pm.foot_segments(base.replace(trans=base.trans + [0, 0, 0.025])), 1 / 20).all()
