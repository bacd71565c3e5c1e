import numpy as np
from clips import standing

from motionloop.data import corrupt
from motionloop.physics import metrics as pm
from motionloop.physics.footlock import foot_corrections, lock_feet


def _planted_slide_mm(clip):
    seg = pm.foot_segments(clip)  # (T, 4, 4, 3)
    return float(np.abs(np.diff(seg[..., :2], axis=0)).max() * 1000)


def test_clean_standing_clip_is_unchanged():
    clip = standing(21)
    assert np.abs(foot_corrections(clip)).max() < 1e-6
    assert lock_feet(clip) is clip


def test_sliding_feet_are_held_while_the_body_still_drifts():
    clip = corrupt.slide(standing(21), 0.2)  # 1 s, drifting 0.2 m/s along x
    assert _planted_slide_mm(clip) > 9.0
    fixed = lock_feet(clip)
    assert _planted_slide_mm(fixed) < 1.0
    assert pm.physics_metrics(fixed)["skate_mm"] < 0.1 * pm.physics_metrics(clip)["skate_mm"]
    np.testing.assert_allclose(fixed.trans, clip.trans)  # the pelvis keeps its path
    # the soles stay in contact (a straight leg cannot quite reach 0.1 m back: the IK stretches it)
    assert np.abs(pm.lowest_points(fixed)).max() < pm.CONTACT_TOL


def test_correction_fades_out_around_a_stance():
    clip = standing(41)
    trans = clip.trans.copy()
    trans[25:, 2] += 0.3  # the body (and feet) lifted off: no stance after frame 24
    trans[:25, 0] += np.arange(25) * 0.01  # sliding before
    corr = foot_corrections(clip.replace(trans=trans))
    assert np.abs(corr[:25]).max() > 0.05
    assert np.abs(corr[25 + 3 :]).max() == 0.0  # 0.1 s ramp at 20 fps
    assert np.all(np.diff(np.linalg.norm(corr[24:29, 0], axis=-1)) <= 1e-12)
