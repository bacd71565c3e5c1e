import itertools

import numpy as np
from clips import bundled_clip, standing

from motionloop import skeleton as sk
from motionloop.physics.balance import (
    BalanceConfig,
    balance_repair,
    project_to_polygon,
    zmp_and_support,
)
from motionloop.physics.model import default_humanoid
from motionloop.physics.plant import plant_feet
from motionloop.physics.repair import ground


def _leaning(bend: float, frames: int = 21):
    """Standing, the spine bent over the toes far enough that the CoM leaves the feet."""
    clip = standing(frames)
    poses = clip.poses.copy()
    for j in (sk.SPINE1, sk.SPINE2, sk.SPINE3):
        poses[:, j, 0] = bend
    return clip.replace(poses=poses)


def _zmp_outside(h, clip) -> np.ndarray:
    zmp, support, _, _, _ = zmp_and_support(h, clip)
    return np.array([np.linalg.norm(project_to_polygon(p, s, 0.0) - p) for p, s in zip(zmp, support)])


def test_repaired_clip_needs_its_zmp_inside_the_support():
    h = default_humanoid()
    clip = _leaning(-0.6)
    assert _zmp_outside(h, clip).min() > 0.02
    fixed, info = balance_repair(h, clip)
    assert _zmp_outside(h, fixed).max() < 1e-3
    assert info["zmp_out_before_m"] > 0.02 and info["zmp_out_after_m"] < 1e-3
    # the feet stayed (within what a straight leg can reach); the pelvis moved, horizontally
    np.testing.assert_allclose(fixed.joints()[:, sk.LEFT_ANKLE], clip.joints()[:, sk.LEFT_ANKLE], atol=5e-3)
    assert np.abs(fixed.trans[:, 2] - clip.trans[:, 2]).max() < 1e-6
    assert np.abs(fixed.trans[:, :2] - clip.trans[:, :2]).max() > 0.02


def test_amount_scales_the_shift():
    h = default_humanoid()
    clip = _leaning(-0.6)
    full, _ = balance_repair(h, clip)
    half, _ = balance_repair(h, clip, BalanceConfig(amount=0.5))
    np.testing.assert_allclose(half.trans - clip.trans, 0.5 * (full.trans - clip.trans), atol=1e-5)


def test_balanced_clip_is_left_alone():
    h = default_humanoid()
    clip = standing(21)
    fixed, info = balance_repair(h, clip)
    np.testing.assert_allclose(fixed.trans, clip.trans)
    assert info["max_shift_m"] == 0.0


def test_a_body_part_hovering_near_the_floor_keeps_the_pelvis():
    """Frames where a body part other than the feet is within LEANING_HEIGHT of the floor (a
    crawl's hands and knees between touches) count as leaning on the body: the repair keeps
    their pelvis. The standing body's lowest capsule (the shank, 8.4 cm up) is not."""
    from motionloop.physics.balance import LEANING_HEIGHT, _support_points

    h = default_humanoid()
    _, on_body = _support_points(h, standing(5))
    assert not on_body.any()
    sunk = standing(5, lift=-(0.084 - LEANING_HEIGHT) - 0.01)  # shank 1 cm below the threshold
    _, on_body = _support_points(h, sunk)
    assert on_body.all()
    # a leaning clip whose frames all lean on the body is left where it is
    clip = _leaning(-0.6)
    lowered = clip.replace(trans=clip.trans - [0.0, 0.0, 0.084 - LEANING_HEIGHT + 0.01])
    fixed, _info = balance_repair(h, lowered)
    np.testing.assert_allclose(fixed.trans, lowered.trans, atol=1e-9)


def test_more_passes_never_leave_the_zmp_further_outside():
    """The repair returns its best pass (no shift if none helped). On dm_walk the fit of the
    last pass overshoots: 2.3 cm outside with an 18.7 cm shift, where an earlier pass had
    2.1 cm with 7.1 cm."""
    h = default_humanoid()
    clip = plant_feet(ground(bundled_clip("dm_walk")), offsets=h.spec.offsets_array())
    outs = [balance_repair(h, clip, BalanceConfig(iterations=n))[1] for n in range(4)]
    assert outs[0]["max_shift_m"] == 0.0 and outs[0]["zmp_out_after_m"] == outs[0]["zmp_out_before_m"]
    after = [o["zmp_out_after_m"] for o in outs]
    assert all(b <= a for a, b in itertools.pairwise(after)), after
    assert after[-1] < 0.5 * after[0]
    assert outs[-1]["max_shift_m"] < 0.1
