"""Property tests of motionloop/ik.py: analytic two-bone IK and `reach` on the SMPL legs.

`reach` must put the ankle exactly on a reachable target, clamp unreachable targets to the
nearest reachable point on the hip->target line, keep every bone length, turn only the hip
and the knee, and keep the ankle's global rotation (so the foot moves rigidly with the ankle).
"""

import numpy as np
import pytest

from motionloop import ik
from motionloop import rotations as rot
from motionloop import skeleton as sk

BONES = [(j, p) for j, p in enumerate(sk.PARENTS) if p >= 0]


def leg_lengths(leg, offsets=None) -> tuple[float, float]:
    off = sk.REST_OFFSETS if offsets is None else offsets
    return float(np.linalg.norm(off[leg[1]])), float(np.linalg.norm(off[leg[2]]))


def descendants(j: int) -> set[int]:
    out = set()
    for c in sk.children(j):
        out |= {c} | descendants(c)
    return out


def random_pose(rng: np.random.Generator, T: int = 30, offsets=None):
    """Upright body with random joint angles and knees flexed 0.1 to ~1.5 rad the anatomical way.

    Returns (trans, global rotations, positions)."""
    poses = rng.normal(0, 0.3, (T, sk.NUM_JOINTS, 3))
    for knee in (sk.LEFT_KNEE, sk.RIGHT_KNEE):  # flexion about +x, little else
        poses[:, knee] = np.stack(
            [rng.uniform(0.1, 1.5, T), 0.05 * rng.normal(size=T), 0.05 * rng.normal(size=T)], axis=-1
        )
    root = (
        rot.axis_rotation("Z", rng.uniform(-np.pi, np.pi, T)) @ sk.UPRIGHT @ rot.aa_to_mat(rng.normal(0, 0.1, (T, 3)))
    )
    poses[:, sk.PELVIS] = rot.mat_to_aa(root)
    trans = np.column_stack([rng.uniform(-2, 2, (T, 2)), np.full(T, 0.95)])
    pos, glob = sk.fk_mats(rot.aa_to_mat(poses), trans, offsets)
    return trans, glob, pos


def targets_at_distance(rng, hip: np.ndarray, dist: np.ndarray) -> np.ndarray:
    d = rng.normal(size=hip.shape)
    return hip + dist[:, None] * d / np.linalg.norm(d, axis=-1, keepdims=True)


def positions(glob: np.ndarray, trans: np.ndarray, offsets=None) -> np.ndarray:
    return sk.fk_mats(sk.local_rotations(glob), trans, offsets)[0]


# -------------------------------------------------------------------------------- two_bone_ik
# (moved from tests/data/test_retarget.py)
def test_two_bone_ik_reaches_reachable_targets_exactly():
    rng = np.random.default_rng(7)
    root = rng.normal(size=(200, 3))
    direction = rot.aa_to_mat(rng.normal(size=(200, 3)))[:, :, 0]
    dist = rng.uniform(0.05, 0.78, (200, 1))  # l1 + l2 = 0.8, |l1 - l2| = 0.02
    target = root + dist * direction
    bend = rng.normal(size=(200, 3))
    mid, end = ik.two_bone_ik(root, target, bend, 0.41, 0.39)
    np.testing.assert_allclose(end, target, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(mid - root, axis=-1), 0.41, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(end - mid, axis=-1), 0.39, atol=1e-9)
    # the middle joint bends towards the hint: it lies in the hint's half-plane
    normal = np.cross(target - root, bend)
    assert np.all(np.abs(np.sum((mid - root) * normal, -1)) < 1e-9)
    u = direction
    bend_perp = bend - np.sum(bend * u, -1, keepdims=True) * u
    assert np.all(np.sum((mid - root) * bend_perp, -1) > 0)


def test_two_bone_ik_clamps_unreachable_targets():
    root = np.zeros((2, 3))
    target = np.array([[2.0, 0.0, 0.0], [0.001, 0.0, 0.0]])  # too far, too close
    mid, end = ik.two_bone_ik(root, target, np.array([0.0, 1.0, 0.0]), 0.5, 0.4)
    np.testing.assert_allclose(end[0], [0.9, 0, 0], atol=1e-5)
    np.testing.assert_allclose(end[1], [0.1, 0, 0], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(mid - root, axis=-1), 0.5, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(end - mid, axis=-1), 0.4, atol=1e-9)


# (new)
def test_two_bone_ik_clamps_to_the_documented_margin_on_the_root_target_line():
    rng = np.random.default_rng(1)
    l1, l2 = 0.45, 0.38
    root = rng.normal(size=(100, 3))
    dist = np.concatenate([rng.uniform(l1 + l2, 5.0, 50), rng.uniform(0.0, l1 - l2, 50)])
    target = targets_at_distance(rng, root, dist)
    mid, end = ik.two_bone_ik(root, target, rng.normal(size=(100, 3)), l1, l2)
    u = (target - root) / dist[:, None]
    reach = np.where(dist > l1 + l2, l1 + l2 - 1e-6, l1 - l2 + 1e-6)  # ik._REACH_MARGIN
    np.testing.assert_allclose(end, root + reach[:, None] * u, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(mid - root, axis=-1), l1, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(end - mid, axis=-1), l2, atol=1e-9)


def test_two_bone_ik_only_the_perpendicular_part_of_the_bend_hint_counts():
    rng = np.random.default_rng(2)
    root, target, bend = rng.normal(size=(3, 50, 3))
    u = (target - root) / np.linalg.norm(target - root, axis=-1, keepdims=True)
    mid, end = ik.two_bone_ik(root, target, bend, 1.0, 1.2)
    for other in (bend + rng.normal(size=(50, 1)) * u, 7.0 * bend):
        m2, e2 = ik.two_bone_ik(root, target, other, 1.0, 1.2)
        np.testing.assert_allclose(m2, mid, atol=1e-12)
        np.testing.assert_allclose(e2, end, atol=0)


def test_two_bone_ik_bend_hint_along_the_line_falls_back_to_a_perpendicular_plane():
    rng = np.random.default_rng(3)
    root = rng.normal(size=(40, 3))
    target = root + rng.normal(size=(40, 3)) * 0.3
    target[:5] = root[:5] + [0.5, 0.0, 0.0]  # along x: the fallback's own special case
    for bend in (target - root, np.zeros((40, 3))):
        mid, end = ik.two_bone_ik(root, target, bend, 0.4, 0.42)
        assert np.all(np.isfinite(mid))
        np.testing.assert_allclose(np.linalg.norm(mid - root, axis=-1), 0.4, atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(end - mid, axis=-1), 0.42, atol=1e-9)


def test_two_bone_ik_batched_equals_unbatched():
    rng = np.random.default_rng(4)
    root, target, bend = rng.normal(size=(3, 4, 5, 3))
    mid, end = ik.two_bone_ik(root, target, bend, 0.9, 0.8)
    assert mid.shape == end.shape == (4, 5, 3)
    for i in range(4):
        for j in range(5):
            m1, e1 = ik.two_bone_ik(root[i, j], target[i, j], bend[i, j], 0.9, 0.8)
            np.testing.assert_allclose(m1, mid[i, j], atol=1e-15)
            np.testing.assert_allclose(e1, end[i, j], atol=1e-15)


def test_two_bone_ik_target_on_the_root_keeps_bone_lengths():
    mid, end = ik.two_bone_ik(np.zeros(3), np.zeros(3), np.array([0.0, 1.0, 0.0]), 0.5, 0.4)
    np.testing.assert_allclose(np.linalg.norm(mid), 0.5, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(end - mid), 0.4, atol=1e-9)


# -------------------------------------------------------------------------------------- reach
# (moved from tests/data/test_retarget.py; the pose now comes from random_pose)
def test_reach_moves_the_ankle_keeps_foot_orientation_and_knee_plane():
    trans, glob, pos = random_pose(np.random.default_rng(8), T=20)
    leg = ik.LEGS[0]
    hip, knee, ankle = leg
    target = pos[:, ankle] + np.array([0.03, -0.02, 0.04])
    new = ik.reach(glob, pos, leg, target)
    new_pos, _ = sk.fk_mats(sk.local_rotations(new), trans)
    np.testing.assert_allclose(new_pos[:, ankle], target, atol=1e-9)
    np.testing.assert_allclose(new[:, ankle], glob[:, ankle], atol=1e-12)  # ankle global kept
    changed = [j for j in range(sk.NUM_JOINTS) if not np.allclose(new[:, j], glob[:, j])]
    assert set(changed) <= {hip, knee}
    # the knee stays in the plane through hip and target that holds the old bend direction
    # (the knee's offset from the old hip-ankle line)
    old_line = pos[:, ankle] - pos[:, hip]
    old_line /= np.linalg.norm(old_line, axis=-1, keepdims=True)
    old_bend = pos[:, knee] - pos[:, hip]
    old_bend -= np.sum(old_bend * old_line, -1, keepdims=True) * old_line
    normal = np.cross(target - pos[:, hip], old_bend)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    assert np.abs(np.sum((new_pos[:, knee] - pos[:, hip]) * normal, -1)).max() < 1e-9


# (new)
@pytest.mark.parametrize("leg", ik.LEGS, ids=["left", "right"])
@pytest.mark.parametrize("scaled", [False, True], ids=["default-body", "scaled-body"])
def test_reach_lands_the_ankle_exactly_on_reachable_targets(leg, scaled):
    rng = np.random.default_rng(10)
    offsets = sk.REST_OFFSETS * rng.uniform(0.8, 1.25, (sk.NUM_JOINTS, 1)) if scaled else None
    trans, glob, pos = random_pose(rng, T=200, offsets=offsets)
    l1, l2 = leg_lengths(leg, offsets)
    hip, _, ankle = leg
    dist = rng.uniform(abs(l1 - l2) + 1e-3, l1 + l2 - 1e-3, 200)
    target = targets_at_distance(rng, pos[:, hip], dist)
    new = ik.reach(glob, pos, leg, target, offsets)
    new_pos = positions(new, trans, offsets)
    np.testing.assert_allclose(new_pos[:, ankle], target, atol=1e-9)
    np.testing.assert_allclose(new_pos[:, hip], pos[:, hip], atol=1e-12)  # the hip joint itself stays


@pytest.mark.parametrize("leg", ik.LEGS, ids=["left", "right"])
def test_reach_keeps_bones_rotations_and_everything_outside_hip_and_knee(leg):
    rng = np.random.default_rng(11)
    trans, glob, pos = random_pose(rng, T=100)
    hip, knee, ankle = leg
    l1, l2 = leg_lengths(leg)
    target = targets_at_distance(rng, pos[:, hip], rng.uniform(0.0, 1.5 * (l1 + l2), 100))  # some unreachable
    glob_before, pos_before = glob.copy(), pos.copy()
    new = ik.reach(glob, pos, leg, target)
    np.testing.assert_array_equal(glob, glob_before)  # inputs untouched
    np.testing.assert_array_equal(pos, pos_before)
    # only the hip and the knee turn; the ankle (and everything else) keeps its global rotation exactly
    for j in range(sk.NUM_JOINTS):
        if j not in (hip, knee):
            np.testing.assert_array_equal(new[:, j], glob[:, j], err_msg=sk.JOINTS[j])
    for j in (hip, knee):  # still proper rotations
        np.testing.assert_allclose(
            new[:, j] @ np.swapaxes(new[:, j], -1, -2), np.broadcast_to(np.eye(3), (100, 3, 3)), atol=1e-12
        )
        np.testing.assert_allclose(np.linalg.det(new[:, j]), 1.0, atol=1e-12)
    new_pos = positions(new, trans)
    for child, parent in BONES:
        np.testing.assert_allclose(
            np.linalg.norm(new_pos[:, child] - new_pos[:, parent], axis=-1),
            np.linalg.norm(sk.REST_OFFSETS[child]),
            atol=1e-12,
        )
    # joints outside the leg do not move; the foot rides rigidly with the ankle
    moved = {knee} | descendants(knee)
    still = [j for j in range(sk.NUM_JOINTS) if j not in moved]
    np.testing.assert_allclose(new_pos[:, still], pos[:, still], atol=1e-12)
    shift = new_pos[:, ankle] - pos[:, ankle]
    for j in descendants(ankle):
        np.testing.assert_allclose(new_pos[:, j] - pos[:, j], shift, atol=1e-12)


@pytest.mark.parametrize("leg", ik.LEGS, ids=["left", "right"])
def test_reach_clamps_unreachable_targets_to_full_extension_along_the_line(leg):
    rng = np.random.default_rng(12)
    trans, glob, pos = random_pose(rng, T=60)
    hip, _, ankle = leg
    l1, l2 = leg_lengths(leg)
    far = rng.uniform(l1 + l2 + 1e-4, 3.0, 30)
    near = rng.uniform(0.0, abs(l1 - l2) - 1e-4, 30)
    dist = np.concatenate([far, near])
    target = targets_at_distance(rng, pos[:, hip], dist)
    new_pos = positions(ik.reach(glob, pos, leg, target), trans)
    u = (target - pos[:, hip]) / dist[:, None]
    expected = np.where(dist > l1 + l2, l1 + l2 - 1e-6, abs(l1 - l2) + 1e-6)  # ik._REACH_MARGIN inside the range
    np.testing.assert_allclose(new_pos[:, ankle], pos[:, hip] + expected[:, None] * u, atol=1e-9)


@pytest.mark.parametrize("leg", ik.LEGS, ids=["left", "right"])
def test_reach_to_the_current_ankle_changes_nothing(leg):
    _, glob, pos = random_pose(np.random.default_rng(13), T=50)
    new = ik.reach(glob, pos, leg, pos[:, leg[2]])
    np.testing.assert_allclose(new, glob, atol=1e-9)


def test_reach_bends_a_straight_leg_forward():
    """A straight leg has no bend direction: the knee's own forward axis (+z) decides, so a raised
    ankle bends the knee forward, the anatomical way. (The default body's leg is not quite straight
    at rest, so this body has collinear thigh and shank offsets.)"""
    T = 8
    rng = np.random.default_rng(14)
    offsets = sk.REST_OFFSETS.copy()
    offsets[[sk.LEFT_KNEE, sk.RIGHT_KNEE]] = [0.0, -0.38, 0.0]
    offsets[[sk.LEFT_ANKLE, sk.RIGHT_ANKLE]] = [0.0, -0.41, 0.0]
    poses = np.zeros((T, sk.NUM_JOINTS, 3))
    poses[:, sk.PELVIS] = rot.mat_to_aa(rot.axis_rotation("Z", rng.uniform(-3, 3, T)) @ sk.UPRIGHT)
    trans = np.column_stack([np.zeros((T, 2)), np.full(T, sk.PELVIS_HEIGHT)])
    pos, glob = sk.fk_mats(rot.aa_to_mat(poses), trans, offsets)
    for leg in ik.LEGS:
        hip, knee, ankle = leg
        target = pos[:, ankle] + [0.0, 0.0, 0.15]
        new_pos = positions(ik.reach(glob, pos, leg, target, offsets), trans, offsets)
        np.testing.assert_allclose(new_pos[:, ankle], target, atol=1e-9)
        line = (target - pos[:, hip]) / np.linalg.norm(target - pos[:, hip], axis=-1, keepdims=True)
        off_line = new_pos[:, knee] - pos[:, hip]
        off_line -= np.sum(off_line * line, -1, keepdims=True) * line
        forward = glob[:, knee, :, 2]
        assert np.all(np.sum(off_line * forward, -1) > 0.05), "the knee must move forward, off the line"


def test_legs_are_the_hip_knee_ankle_chains():
    assert ik.LEGS == ((sk.LEFT_HIP, sk.LEFT_KNEE, sk.LEFT_ANKLE), (sk.RIGHT_HIP, sk.RIGHT_KNEE, sk.RIGHT_ANKLE))
    for hip, knee, ankle in ik.LEGS:
        assert sk.PARENTS[knee] == hip and sk.PARENTS[ankle] == knee
        assert set(ik.LEGS[0] + ik.LEGS[1]) <= set(sk.LEGS)
