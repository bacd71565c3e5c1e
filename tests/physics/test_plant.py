import numpy as np
import pytest
from clips import bundled_clip, standing

from motionloop import body as bd
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data import corrupt
from motionloop.errors import ConfigError
from motionloop.physics import metrics as pm
from motionloop.physics.plant import (
    FLAT,
    HEEL,
    LEVEL_MAX_TILT_DEG,
    SWING,
    TOE,
    PlantConfig,
    fade_weights,
    foot_modes,
    plant_corrections,
    plant_feet,
    reach_drop,
    sole_tilt_deg,
    support_gaps,
)


def _planted_slide_mm(clip):
    seg = pm.foot_segments(clip)  # (T, 4, 4, 3)
    return float(np.abs(np.diff(seg[..., :2], axis=0)).max() * 1000)


def _soles(clip):
    pos, glob = clip.fk()
    return bd.sole_points(bd.geometry(), pos, glob)


def test_clean_standing_clip_is_unchanged():
    clip = standing(21)
    corr, _rots, modes = plant_corrections(clip)
    assert (modes == FLAT).all()
    assert np.abs(corr).max() < 1e-6
    np.testing.assert_allclose(plant_feet(clip).poses, clip.poses, atol=1e-5)


def test_sliding_feet_are_held_while_the_body_still_drifts():
    clip = corrupt.slide(standing(21), 0.2)  # 1 s, drifting 0.2 m/s along x
    assert _planted_slide_mm(clip) > 9.0
    fixed = plant_feet(clip)
    assert _planted_slide_mm(fixed) < 1.0
    assert pm.physics_metrics(fixed)["skate_mm"] < 0.1 * pm.physics_metrics(clip)["skate_mm"]
    np.testing.assert_allclose(fixed.trans, clip.trans)  # the pelvis keeps its path
    assert np.abs(pm.lowest_points(fixed)).max() < pm.CONTACT_TOL


def test_a_tilted_planted_foot_is_laid_flat_on_the_floor():
    clip = standing(21)
    poses = clip.poses.copy()
    # pitch the left ankle up by 10 degrees: the toes rise about 3 cm, still "planted"
    tilt = rot.axis_rotation("X", np.deg2rad(-10.0))
    poses[:, sk.LEFT_ANKLE] = rot.mat_to_aa(tilt @ rot.aa_to_mat(poses[:, sk.LEFT_ANKLE]))
    tilted = clip.replace(poses=poses)
    before = _soles(tilted)[:, 0, :, 2]
    assert np.ptp(before, axis=1).min() > 0.02
    assert (foot_modes(_soles(tilted), 0.05)[:, 0] == FLAT).all()
    after = _soles(plant_feet(tilted))[:, 0, :, 2]
    assert np.abs(after).max() < 1e-3  # every corner of the sole on the floor


def test_the_pelvis_is_lowered_where_the_flat_feet_are_out_of_reach():
    """A body whose straight legs end 3 cm above the floor: its feet count as planted (within
    the stance height), but the IK cannot put them down; lowered by up to
    `max_pelvis_drop_m`, the pelvis brings them down."""
    clip = standing(21, lift=0.03)
    hovering = plant_feet(clip)  # the default: never lowered
    assert pm.lowest_points(hovering).min() > 0.025
    np.testing.assert_array_equal(hovering.trans, clip.trans)
    down = plant_feet(clip, PlantConfig(max_pelvis_drop_m=0.05))
    assert np.abs(pm.lowest_points(down)).max() < 1e-3
    drop = clip.trans[:, 2] - down.trans[:, 2]
    assert 0.03 < drop.min() and drop.max() < 0.035  # what reaching needs, not the whole 5 cm
    np.testing.assert_allclose(down.trans[:, :2], clip.trans[:, :2])
    capped = plant_feet(clip, PlantConfig(max_pelvis_drop_m=0.01))
    np.testing.assert_allclose(clip.trans[:, 2] - capped.trans[:, 2], 0.01, atol=1e-6)
    with pytest.raises(ConfigError, match="max_pelvis_drop_m"):
        PlantConfig(max_pelvis_drop_m=-0.01)


def test_a_lowered_pelvis_sinks_and_rises_smoothly_around_the_need():
    clip = standing(41)
    trans = clip.trans.copy()
    trans[18:23, 2] += 0.03  # five frames (0.25 s) whose straight legs cannot reach the floor
    lifted = clip.replace(trans=trans)
    corr, _, modes = plant_corrections(lifted)
    drop = reach_drop(lifted, corr, modes, PlantConfig(), sk.REST_OFFSETS)
    # elsewhere only the reach slack of a straight leg (REACH_SLACK_M)
    assert drop[18:23].min() > 0.03 and drop[:10].max() < 0.003 and drop[31:].max() < 0.003
    assert np.abs(np.diff(drop)).max() < 0.012  # spread over the 0.1 s ramp, no step


def test_sole_tilt_is_the_angle_between_sole_and_floor():
    # a foot of the body standing upright: the sole (local -y) faces down
    assert sole_tilt_deg(sk.UPRIGHT) == pytest.approx(0.0, abs=1e-6)
    pitched = sk.UPRIGHT @ rot.axis_rotation("X", np.deg2rad([30.0, -100.0]))
    np.testing.assert_allclose(sole_tilt_deg(pitched), [30.0, 100.0])
    assert sole_tilt_deg(np.eye(3)) == pytest.approx(90.0)  # SMPL's rest frame is y-up


def test_the_toe_tips_of_a_crawl_are_planted_but_not_turned_flat():
    """dm_crawl lies prone: its planted feet stand on their toe tips, soles facing back. Turned
    flat, they lifted the hips off the floor (tracked 203 mm from the input)."""
    clip = bundled_clip("dm_crawl")
    _, glob = clip.fk()
    _, target, modes = plant_corrections(clip)
    for f, ankle in enumerate((sk.LEFT_ANKLE, sk.RIGHT_ANKLE)):
        tilt = sole_tilt_deg(glob[:, ankle])
        steep = (modes[:, f] == FLAT) & (tilt > LEVEL_MAX_TILT_DEG)
        assert steep.sum() >= 5  # the case is there
        np.testing.assert_allclose(target[steep, f], glob[steep, ankle], atol=1e-6)  # kept as they are
        lowest = _soles(plant_feet(clip))[:, f, :, 2].min(axis=1)
        assert np.abs(lowest[modes[:, f] != SWING]).max() < 0.01  # still put on the floor


def test_heel_and_toe_modes_follow_which_segment_is_down():
    soles = np.zeros((3, 2, 8, 3))
    soles[0, 0, 4:, 2] = 0.08  # toes up: on the heel
    soles[1, 0, :4, 2] = 0.08  # heel up: on the toes
    soles[2, 0, :, 2] = 0.2  # all up: swinging
    modes = foot_modes(soles, 0.05)
    assert modes[:, 0].tolist() == [HEEL, TOE, SWING] and (modes[:, 1] == FLAT).all()


def test_correction_fades_out_around_a_stance():
    clip = standing(41)
    trans = clip.trans.copy()
    trans[25:, 2] += 0.3  # the body (and feet) lifted off: no stance after frame 24
    trans[:25, 0] += np.arange(25) * 0.01  # sliding before
    corr, _, _ = plant_corrections(clip.replace(trans=trans), PlantConfig(fill_support=False))
    assert np.abs(corr[:25]).max() > 0.05
    assert np.abs(corr[25 + 3 :]).max() == 0.0  # 0.1 s ramp at 20 fps
    assert np.all(np.diff(np.linalg.norm(corr[24:29, 0], axis=-1)) <= 1e-12)


def test_fade_weights_fall_linearly_from_held_frames():
    held = np.zeros(9, dtype=bool)
    held[4] = True
    np.testing.assert_allclose(fade_weights(held, 2), [0, 0, 1 / 3, 2 / 3, 1, 2 / 3, 1 / 3, 0, 0])
    assert not fade_weights(np.zeros(5, dtype=bool), 2).any()


def test_a_body_with_no_foot_down_stands_on_its_lower_foot_unless_it_flies():
    T, dt = 21, 0.05
    planted = np.ones((T, 2), dtype=bool)
    planted[5:12] = False  # seven frames with no foot planted
    still = np.zeros((T, 3))
    still[:, 2] = 0.9
    assert support_gaps(planted, still, dt)[5:12].all()  # a hovering pelvis is no jump
    t = (np.arange(T) - 4) * dt
    jump = still.copy()
    span = 8 * dt
    jump[5:12, 2] += 0.5 * 9.81 * t[5:12] * (span - t[5:12])  # the free-fall arc over the gap
    assert not support_gaps(planted, jump, dt).any()
    # hovering feet: both 3 cm up and gliding, so neither is planted; the lower one is made flat
    clip = standing(21)
    trans = clip.trans.copy()
    trans[:, 2] += 0.05
    trans[:, 0] += np.arange(21) * 0.04  # 0.8 m/s
    hover = clip.replace(trans=trans)
    pos, glob = hover.fk()
    soles = bd.sole_points(bd.geometry(), pos, glob)
    assert (foot_modes(soles, 0.05) == SWING).all()
    filled = foot_modes(soles, 0.05, pos[:, sk.PELVIS])
    assert ((filled == FLAT).sum(axis=1) >= 1).all()


def test_a_crawl_is_tracked_residual_free_near_its_input():
    """End to end (plant repair and tracker): with its toe tips left as they are, dm_crawl's
    residual-free body keeps its hips down (71 mm from the input; 203 mm when both levelled
    the feet)."""
    from motionloop.physics.correct import CorrectionConfig, correct

    (_,), (rep,) = correct([bundled_clip("dm_crawl")], CorrectionConfig())
    assert rep.success_free and rep.verified and rep.attempt == "free"
    assert rep.mpjpe_mm < 100.0
