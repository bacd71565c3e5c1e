"""Retargeting: FK round trips, fill rules, grounding, the report (the two-bone IK itself: tests/core/test_ik.py)."""

import json

import numpy as np
import pytest

from motionloop import ik
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data import directions, stats
from motionloop.data.ground import GroundConfig, ground, ground_motion, stance_mask
from motionloop.data.retarget import RetargetReport, bone_direction_errors, foot_clearance, measured_bones, retarget
from motionloop.data.source import SourceMotion
from motionloop.errors import ConfigError, RetargetError
from motionloop.motion import Motion


def plausible_motion(rng, T=45, fps=30.0) -> Motion:
    """Smooth random poses: knees and elbows flex the anatomical way, upright turning root, grounded.

    Slow (0.6 Hz swings, 0.15 m/s drift) so that feet near the floor move like standing feet.
    """
    t = np.arange(T) / fps
    base = rng.normal(0, 0.15, (sk.NUM_JOINTS, 3))
    amp = rng.normal(0, 0.2, (sk.NUM_JOINTS, 3))
    phase = rng.uniform(0, 2 * np.pi, (sk.NUM_JOINTS, 3))
    poses = base + amp * np.sin(2 * np.pi * 0.6 * t[:, None, None] + phase)
    for knee in (sk.LEFT_KNEE, sk.RIGHT_KNEE):  # flexion about +x
        poses[:, knee] = np.stack(
            [np.abs(poses[:, knee, 0]) + 0.1, 0.1 * poses[:, knee, 1], 0.1 * poses[:, knee, 2]], -1
        )
    for elbow, sign in ((sk.LEFT_ELBOW, -1.0), (sk.RIGHT_ELBOW, 1.0)):  # flexion about -y / +y
        poses[:, elbow] = np.stack(
            [0.1 * poses[:, elbow, 0], sign * (np.abs(poses[:, elbow, 1]) + 0.2), 0.1 * poses[:, elbow, 2]], -1
        )
    tilt = rot.aa_to_mat(0.1 * np.sin(2 * np.pi * 0.7 * t[:, None] + rng.uniform(0, 6, 3)))
    poses[:, sk.PELVIS] = rot.mat_to_aa(rot.axis_rotation("Z", rng.uniform(-3, 3) + 0.4 * t) @ sk.UPRIGHT @ tilt)
    trans = np.stack([0.15 * t, 0.05 * t, np.full(T, 0.95)], -1)
    motion, _ = ground_motion(Motion(trans=trans, poses=poses, fps=fps, source="fk"))
    return motion


def source_from(positions: np.ndarray, fps: float, names=sk.JOINTS, label=None) -> SourceMotion:
    return SourceMotion(positions, tuple(names), {n: n for n in names}, fps, "fk", label)


def scaled_turned(motion: Motion, scale: float, yaw: float) -> np.ndarray:
    return scale * motion.joints() @ rot.axis_rotation("Z", yaw).T


def _solve(q: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The retargeter's rotation solve: bone directions, leg IK onto the ankles, then the feet."""
    glob, trans = directions.solve_directions(q)
    pos, _ = sk.fk_mats(sk.local_rotations(glob), trans)
    for leg in ik.LEGS:
        glob = ik.reach(glob, pos, leg, q[leg[2]])
    directions.solve_feet(glob, q)
    return glob, trans


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_direction_solve_and_leg_ik_reproduce_own_skeleton_exactly(seed):
    motion = plausible_motion(np.random.default_rng(seed))
    joints = scaled_turned(motion, 1.1, 0.7) / 1.1  # a rigid turn: same skeleton
    glob, trans = _solve({j: joints[:, j] for j in range(sk.NUM_JOINTS)})
    pos, _ = sk.fk_mats(sk.local_rotations(glob), trans)
    np.testing.assert_allclose(pos, joints, atol=1e-6)


def standing_motion(rng, T=40, fps=30.0) -> Motion:
    """Feet planted flat on the floor (toes out), knees bending as the pelvis sways and squats,
    random upper body: a clip that grounding has nothing to correct."""
    t = np.arange(T) / fps
    poses = rng.normal(0, 0.15, (sk.NUM_JOINTS, 3)) + rng.normal(0, 0.2, (sk.NUM_JOINTS, 3)) * np.sin(
        2 * np.pi * 0.8 * t[:, None, None] + rng.uniform(0, 6, (sk.NUM_JOINTS, 3))
    )
    for knee in (sk.LEFT_KNEE, sk.RIGHT_KNEE):
        poses[:, knee] = [0.3, 0.0, 0.0]
    yaw = rng.uniform(-3, 3)
    tilt = rot.aa_to_mat(0.08 * np.sin(2 * np.pi * 0.5 * t[:, None] + rng.uniform(0, 6, 3)))
    poses[:, sk.PELVIS] = rot.mat_to_aa(rot.axis_rotation("Z", yaw) @ sk.UPRIGHT @ tilt)
    trans = np.stack([0.04 * np.sin(3 * t), 0.04 * np.cos(2 * t), 0.9 + 0.03 * np.sin(4 * t)], -1)
    pos, glob = sk.fk_mats(rot.aa_to_mat(poses), trans)
    for (hip, _, ankle), toe, toe_out in zip(ik.LEGS, (sk.LEFT_FOOT, sk.RIGHT_FOOT), (0.15, -0.15)):
        glob[:, ankle] = glob[:, toe] = rot.axis_rotation("Z", yaw + toe_out) @ sk.UPRIGHT  # flat
        target = pos[0, hip] * [1, 1, 0] + [0, 0, sk.ANKLE_HEIGHT]
        glob = ik.reach(glob, pos, (hip, _, ankle), np.broadcast_to(target, (T, 3)))
    return Motion(trans=trans, poses=rot.mat_to_aa(sk.local_rotations(glob)), fps=fps, source="fk")


@pytest.mark.parametrize("seed", [0, 3])
def test_retarget_round_trip_of_scaled_turned_fk(seed):
    motion = standing_motion(np.random.default_rng(seed))
    heights, _ = stats.foot_tracks(*motion.fk(), motion.fps)
    np.testing.assert_allclose(heights, 0.0, atol=1e-6)  # the fixture stands on the floor (float32)
    src = source_from(scaled_turned(motion, 1.1, 0.7), motion.fps, label="walk")
    out, report = retarget(src, fps=motion.fps)
    assert report.scale == pytest.approx(1 / 1.1, rel=1e-6)
    assert report.bone_dir_err_deg < 0.5
    assert report.missing_joints == ()
    assert (out.label, out.source, out.fps, out.num_frames) == ("walk", "fk", motion.fps, motion.num_frames)
    dist = np.linalg.norm(out.joints() - src.positions / 1.1, axis=-1)
    assert dist.max() < 0.002


def test_swing_clearance_follows_the_source():
    """A foot in swing keeps the source's clearance; a foot standing still gets none."""
    fps = 30.0
    t = np.arange(30) / fps
    q = {}
    for side, lift in (("left", 0.04 * np.sin(np.pi * t / t[-1])), ("right", np.zeros_like(t))):
        moving = 1.5 * t if side == "left" else 0 * t  # 1.5 m/s in swing, standing still
        q[sk.JOINTS.index(f"{side}_ankle")] = np.stack([moving, 0 * t, 0.08 + lift], -1)
        q[sk.JOINTS.index(f"{side}_foot")] = np.stack([moving + 0.12, 0 * t, 0.03 + lift], -1)
    clearance = foot_clearance(q, fps)
    np.testing.assert_allclose(clearance[:, 0], 0.04 * np.sin(np.pi * t / t[-1]), atol=0.002)
    np.testing.assert_allclose(clearance[:, 1], 0.0)
    # ground() honours it on swing frames and puts stance feet on the floor
    motion = plausible_motion(np.random.default_rng(10), T=30)
    pos, glob = motion.fk()
    stance = stance_mask(*stats.foot_tracks(pos, glob, fps))
    assert 0 < stance.sum() < stance.size
    new_glob, new_trans, _ = ground(glob, motion.trans, fps, clearance=np.full((30, 2), 0.03))
    pos, _ = sk.fk_mats(sk.local_rotations(new_glob), new_trans)
    heights, _ = stats.foot_tracks(pos, new_glob, fps)
    assert heights[~stance].min() > 0.03 - 1e-6
    assert np.abs(heights[stance]).max() < 0.005


def test_retarget_resamples_and_reports():
    motion = plausible_motion(np.random.default_rng(4), T=61, fps=60.0)
    out, report = retarget(source_from(motion.joints(), 60.0), fps=20.0)
    assert out.fps == 20.0 and out.num_frames == 21 == report.frames
    d = report.to_dict()
    assert set(d) == {
        "bone_dir_err_deg",
        "bone_dir_err_max_deg",
        "foot_ground_share",
        "planted_foot_speed_mps",
        "scale",
        "frames",
        "fps",
        "missing_joints",
    }
    json.dumps(d)
    foot = stats.foot_ground_stats(out)
    assert d["foot_ground_share"] == foot["foot_ground_share"]
    assert foot["min_z_mm"] >= -1.0


def test_fill_rules_for_a_sparse_rig():
    """DeepMimic-like rig: no spine1/spine3, collars, hands, balls of the feet."""
    motion = standing_motion(np.random.default_rng(5))
    keep = (
        "pelvis",
        "spine2",
        "neck",
        "head",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
    )
    joints = motion.joints()[:, [sk.JOINTS.index(n) for n in keep]]
    out, report = retarget(source_from(joints, motion.fps, keep), fps=motion.fps)
    assert set(report.missing_joints) == {
        "spine1",
        "spine3",
        "left_collar",
        "right_collar",
        "left_hand",
        "right_hand",
        "left_foot",
        "right_foot",
    }
    assert report.bone_dir_err_deg < 0.5
    _, glob = out.fk()
    local = sk.local_rotations(glob)
    for wrist in (sk.LEFT_WRIST, sk.RIGHT_WRIST):  # hands continue the forearm
        np.testing.assert_allclose(local[:, wrist], np.broadcast_to(np.eye(3), local[:, wrist].shape), atol=1e-5)
    for ankle in (sk.LEFT_ANKLE, sk.RIGHT_ANKLE):  # flat feet: the foot's up axis is world up
        np.testing.assert_allclose(glob[:, ankle, :, 1], np.broadcast_to([0, 0, 1], (out.num_frames, 3)), atol=1e-5)
    # the spine's bend between pelvis and chest is spread: no spine joint takes it all
    angles = np.linalg.norm(rot.mat_to_aa(local[:, [sk.SPINE1, sk.SPINE2, sk.SPINE3]]), axis=-1)  # (T, 3)
    bent = angles.sum(1) > 0.2
    assert np.all(angles[bent].max(1) < 0.9 * angles[bent].sum(1))


def test_missing_required_joints_raise_naming_them():
    motion = plausible_motion(np.random.default_rng(6), T=5)
    keep = [n for n in sk.JOINTS if n not in ("left_knee", "neck", "head")]
    joints = motion.joints()[:, [sk.JOINTS.index(n) for n in keep]]
    with pytest.raises(RetargetError, match="left_knee.*neck or head"):
        retarget(source_from(joints, motion.fps, keep))


def test_measured_bones_and_errors():
    pairs = measured_bones({n: n for n in sk.JOINTS})
    assert (sk.RIGHT_HIP, sk.LEFT_HIP) in pairs and (sk.LEFT_KNEE, sk.LEFT_ANKLE) in pairs
    assert (sk.SPINE3, sk.LEFT_SHOULDER) in pairs  # collars are skipped
    assert not any(a == sk.PELVIS or b in (sk.LEFT_COLLAR, sk.RIGHT_COLLAR) for a, b in pairs)
    ours = np.zeros((1, sk.NUM_JOINTS, 3))
    ours[0, sk.LEFT_ANKLE] = [1.0, 0.0, 0.0]
    target = {sk.LEFT_KNEE: np.zeros((1, 3)), sk.LEFT_ANKLE: np.array([[0.0, 2.0, 0.0]])}
    np.testing.assert_allclose(bone_direction_errors(ours, target, [(sk.LEFT_KNEE, sk.LEFT_ANKLE)]), [[90.0]])


def test_align_two_and_local_rotations():
    """The two helpers the solve adds to rotations.py and skeleton.py."""
    rng = np.random.default_rng(11)
    r = rot.aa_to_mat(rng.normal(size=(50, 3)))
    u, v = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))

    def turn(a):
        return np.einsum("tij,tj->ti", r, a)

    np.testing.assert_allclose(rot.align_two(u, v, turn(u), turn(v)), r, atol=1e-12)
    # v only sets the twist: any v in the same half-plane gives the same rotation
    np.testing.assert_allclose(rot.align_two(u, v, turn(u), turn(v) + 3.0 * turn(u)), r, atol=1e-12)
    degenerate = rot.align_two(u, u, turn(u), turn(v))  # no twist information: smallest turn
    np.testing.assert_allclose(degenerate, rot.rotation_between(u, turn(u)), atol=1e-12)
    poses = rng.normal(size=(4, sk.NUM_JOINTS, 3))
    _, glob = sk.fk_mats(rot.aa_to_mat(poses), np.zeros((4, 3)))
    np.testing.assert_allclose(sk.local_rotations(glob), rot.aa_to_mat(poses), atol=1e-12)


# ---------------------------------------------------------------------------------- grounding
def test_grounding_puts_stance_soles_on_the_floor_and_nothing_below():
    rng = np.random.default_rng(9)
    motion = plausible_motion(rng, T=60)
    # float the clip 6 cm, with per-frame noise of a few mm, and sink a few frames 3 cm
    dz = 0.06 + rng.normal(0, 0.004, motion.num_frames)
    dz[10:13] -= 0.09
    _, glob = motion.fk()
    trans = motion.trans + dz[:, None] * [0, 0, 1]
    pos, _ = sk.fk_mats(sk.local_rotations(glob), trans)
    heights, speeds = stats.foot_tracks(pos, glob, motion.fps)
    stance = stance_mask(heights, speeds)
    assert stance.any(axis=1).mean() > 0.3
    new_glob, new_trans, info = ground(glob, trans, motion.fps)
    new_pos, _ = sk.fk_mats(sk.local_rotations(new_glob), new_trans)
    new_heights, _ = stats.foot_tracks(new_pos, new_glob, motion.fps)
    assert np.abs(new_heights[stance]).max() < 0.005
    assert stats.lowest_points(new_pos, new_glob).min() > -0.001
    assert info["offset_m"] == pytest.approx(-0.06, abs=0.01)
    # corrections go through the legs: the pelvis moves by the clip's offset, except on frames
    # where a straight stance leg could not reach the floor (by the few mm of noise); the
    # frames sunk 9 cm are fixed by bending the legs, not by lifting the body out
    moved = new_trans[:, 2] - trans[:, 2] - info["offset_m"]
    assert np.median(np.abs(moved)) < 1e-9
    assert np.abs(moved).max() < 0.015


def test_ground_config_validation():
    with pytest.raises(ConfigError, match="contact_height_m"):
        GroundConfig(contact_height_m=0.0)
    with pytest.raises(ConfigError, match="floor_percentile"):
        GroundConfig(floor_percentile=120.0)


def test_report_is_frozen():
    r = RetargetReport(1.0, 2.0, 0.5, 0.1, 1.0, 10, 20.0, ("left_hand",))
    with pytest.raises(AttributeError):
        r.scale = 2.0  # type: ignore[misc]
    assert r.to_dict()["missing_joints"] == ["left_hand"]


@pytest.mark.parametrize("hip, ankle", [(-0.6, -0.4), (0.0, -0.4), (0.0, 0.0), (0.0, 0.4), (-0.6, 0.8)])
def test_a_flexing_knee_turns_the_foot_smoothly(hip, ankle):
    """A knee flexing from straight to 130 degrees (the foot swinging up behind) turns the foot by
    a few degrees a frame, as in the source: the sole-level roll ("flat") must not flip the foot
    against the knee's hinge (it did, by ~18 degrees a frame here and by up to 170 degrees a
    frame on DeepMimic's run, kick and punch)."""
    T = 60
    poses = np.zeros((T, sk.NUM_JOINTS, 3))
    poses[:, sk.PELVIS] = rot.mat_to_aa(sk.UPRIGHT)
    poses[:, sk.RIGHT_HIP, 0] = hip
    poses[:, sk.RIGHT_KNEE, 0] = np.linspace(0.1, 2.3, T)
    poses[:, sk.RIGHT_ANKLE, 0] = ankle
    src = Motion(trans=np.tile([0.0, 0.0, 0.95], (T, 1)), poses=poses, fps=30.0)
    joints = src.joints()
    glob, _ = _solve({j: joints[:, j] for j in range(sk.NUM_JOINTS)})

    def max_step_deg(g):
        return np.degrees(np.linalg.norm(rot.mat_to_aa(np.swapaxes(g[:-1], -1, -2) @ g[1:]), axis=-1)).max()

    source_step = max_step_deg(src.fk()[1][:, sk.RIGHT_ANKLE])  # 2.1 degrees a frame
    assert max_step_deg(glob[:, sk.RIGHT_ANKLE]) < source_step + 4.0
