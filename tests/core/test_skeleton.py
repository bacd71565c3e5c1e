"""Property tests of motionloop/skeleton.py: the SMPL-24 tree, rest pose, forward kinematics
(numpy and torch), local rotations as the inverse of the global composition, heights."""

import numpy as np
import pytest
import torch

from motionloop import rotations as rot
from motionloop import skeleton as sk

BONES = [(j, p) for j, p in enumerate(sk.PARENTS) if p >= 0]


def random_rotmats(rng: np.random.Generator, shape) -> np.ndarray:
    q = rng.normal(size=(*shape, 4))
    return rot.quat_to_mat(q)


# ------------------------------------------------------------------------------------- the tree
def test_tree_is_rooted_at_the_pelvis_and_parents_precede_children():
    assert len(sk.JOINTS) == len(sk.PARENTS) == sk.NUM_JOINTS == 24 == len(sk.REST_OFFSETS)
    assert sk.PARENTS[0] == -1 and sk.JOINTS[0] == "pelvis"
    assert all(0 <= p < j for j, p in enumerate(sk.PARENTS) if j > 0)  # FK's single forward pass relies on it
    assert len(set(sk.JOINTS)) == 24


def test_children_inverts_parents():
    for j in range(sk.NUM_JOINTS):
        kids = sk.children(j)
        assert kids == sorted(kids)
        assert all(sk.PARENTS[c] == j for c in kids)
    assert sorted(c for j in range(sk.NUM_JOINTS) for c in sk.children(j)) == list(range(1, 24))
    assert sk.children(sk.PELVIS) == [sk.LEFT_HIP, sk.RIGHT_HIP, sk.SPINE1]
    assert sk.children(sk.SPINE3) == [sk.NECK, sk.LEFT_COLLAR, sk.RIGHT_COLLAR]
    assert sk.children(sk.LEFT_KNEE) == [sk.LEFT_ANKLE]
    leaves = [j for j in range(sk.NUM_JOINTS) if not sk.children(j)]
    assert leaves == [sk.LEFT_FOOT, sk.RIGHT_FOOT, sk.HEAD, sk.LEFT_HAND, sk.RIGHT_HAND]
    assert sk.children(-1) == [sk.PELVIS]


def test_mirror_is_an_involution_that_swaps_sides_and_mirrors_rest_offsets():
    m = np.array(sk.MIRROR)
    np.testing.assert_array_equal(m[m], np.arange(24))
    for j, name in enumerate(sk.JOINTS):
        other = sk.JOINTS[m[j]]
        assert other == name.replace("left_", "R").replace("right_", "left_").replace("R", "right_")
        assert sk.PARENTS[m[j]] == (m[sk.PARENTS[j]] if j else -1)
    # the default body is left/right symmetric: mirrored offsets flip x
    np.testing.assert_array_equal(sk.REST_OFFSETS[m] * [-1, 1, 1], sk.REST_OFFSETS)


# ------------------------------------------------------------------------------------ rest pose
def test_rest_joints_accumulate_offsets_along_the_tree():
    j = sk.rest_joints()
    assert j.shape == (24, 3)
    np.testing.assert_array_equal(j[sk.PELVIS], 0.0)
    for child, parent in BONES:
        np.testing.assert_allclose(j[child] - j[parent], sk.REST_OFFSETS[child], atol=1e-15)
    # canonical frame: y up, x the body's left
    assert j[sk.HEAD, 1] > j[sk.NECK, 1] > 0 > j[sk.LEFT_KNEE, 1] > j[sk.LEFT_ANKLE, 1]
    assert j[sk.LEFT_WRIST, 0] > 0 > j[sk.RIGHT_WRIST, 0]
    np.testing.assert_allclose(j[sk.LEFT_ANKLE, 1], sk.ANKLE_HEIGHT - sk.PELVIS_HEIGHT, atol=1e-15)


def test_rest_joints_with_custom_offsets_is_linear_in_them():
    rng = np.random.default_rng(0)
    off = rng.normal(0, 0.1, (24, 3))
    np.testing.assert_allclose(sk.rest_joints(2.5 * off), 2.5 * sk.rest_joints(off), atol=1e-14)
    np.testing.assert_allclose(sk.rest_joints(off.tolist()), sk.rest_joints(off), atol=0)
    # the root's own offset is ignored: the pelvis sits at the origin
    off2 = off.copy()
    off2[0] = [5.0, 5.0, 5.0]
    np.testing.assert_array_equal(sk.rest_joints(off2), sk.rest_joints(off))


def test_height_of_default_body_and_its_definition():
    # the docs: a 1.71 m body (Winter's proportions); the sum of the segments gives 1.705 m
    assert sk.height_of() == pytest.approx(1.71, abs=0.006)
    rng = np.random.default_rng(1)
    off = sk.REST_OFFSETS + rng.normal(0, 0.01, (24, 3))
    j = sk.rest_joints(off)
    assert sk.height_of(off) == pytest.approx(j[sk.HEAD, 1] - j[sk.LEFT_ANKLE, 1] + sk.ANKLE_HEIGHT + 0.14, abs=1e-15)
    longer_shanks = sk.REST_OFFSETS.copy()
    longer_shanks[[sk.LEFT_ANKLE, sk.RIGHT_ANKLE], 1] -= 0.05
    assert sk.height_of(longer_shanks) == pytest.approx(sk.height_of() + 0.05, abs=1e-12)


def test_upright_standing_body_has_its_ankles_at_ankle_height():
    poses = np.zeros((1, 24, 3))
    poses[0, 0] = rot.mat_to_aa(sk.UPRIGHT)
    pos = sk.fk(poses, np.array([[0.3, -0.2, sk.PELVIS_HEIGHT]]))[0]
    np.testing.assert_allclose(pos[[sk.LEFT_ANKLE, sk.RIGHT_ANKLE], 2], sk.ANKLE_HEIGHT, atol=1e-12)
    # upright: canonical y up -> world z up, the body's left (+x) stays +x, forward (+z) -> world -y
    assert pos[sk.HEAD, 2] > pos[sk.NECK, 2] > sk.PELVIS_HEIGHT
    assert pos[sk.LEFT_HIP, 0] > pos[sk.RIGHT_HIP, 0]
    assert pos[sk.LEFT_FOOT, 1] < pos[sk.LEFT_ANKLE, 1]  # toes point along -y
    np.testing.assert_allclose(sk.UPRIGHT @ [0.0, 1.0, 0.0], [0, 0, 1.0], atol=1e-15)


# ------------------------------------------------------------------------------------------- FK
def test_fk_of_the_identity_pose_is_the_rest_pose_plus_trans():
    rng = np.random.default_rng(2)
    trans = rng.normal(size=(7, 3))
    pos, glob = sk.fk_mats(np.broadcast_to(np.eye(3), (7, 24, 3, 3)), trans)
    np.testing.assert_allclose(pos, sk.rest_joints()[None] + trans[:, None], atol=1e-15)
    np.testing.assert_array_equal(glob, np.broadcast_to(np.eye(3), (7, 24, 3, 3)))
    np.testing.assert_allclose(sk.fk(np.zeros((7, 24, 3)), trans), pos, atol=0)


def test_fk_rotating_the_root_rotates_the_whole_body_about_the_pelvis():
    rng = np.random.default_rng(3)
    poses = rng.normal(0, 0.5, (10, 24, 3))
    trans = rng.normal(size=(10, 3))
    base = sk.fk(poses, np.zeros((10, 3)))  # root orientation included
    turn = random_rotmats(rng, (10,))
    turned = poses.copy()
    turned[:, 0] = rot.mat_to_aa(turn @ rot.aa_to_mat(poses[:, 0]))
    np.testing.assert_allclose(sk.fk(turned, trans), np.einsum("tij,tkj->tki", turn, base) + trans[:, None], atol=1e-12)


def test_fk_preserves_bone_lengths_under_random_poses():
    rng = np.random.default_rng(4)
    for offsets in (None, sk.REST_OFFSETS * rng.uniform(0.7, 1.4, (24, 1))):
        pos = sk.fk(rng.normal(0, 1.5, (50, 24, 3)), rng.normal(size=(50, 3)), offsets)
        off = sk.REST_OFFSETS if offsets is None else offsets
        for child, parent in BONES:
            np.testing.assert_allclose(
                np.linalg.norm(pos[:, child] - pos[:, parent], axis=-1), np.linalg.norm(off[child]), atol=1e-12
            )


def test_fk_mats_global_rotations_compose_along_the_tree_and_are_rotations():
    rng = np.random.default_rng(5)
    local = random_rotmats(rng, (6, 24))
    trans = rng.normal(size=(6, 3))
    pos, glob = sk.fk_mats(local, trans)
    np.testing.assert_allclose(glob[:, 0], local[:, 0], atol=0)
    for child, parent in BONES:
        np.testing.assert_allclose(glob[:, child], glob[:, parent] @ local[:, child], atol=1e-14)
        np.testing.assert_allclose(
            pos[:, child], pos[:, parent] + np.einsum("tij,j->ti", glob[:, parent], sk.REST_OFFSETS[child]), atol=1e-14
        )
    np.testing.assert_allclose(glob @ np.swapaxes(glob, -1, -2), np.broadcast_to(np.eye(3), glob.shape), atol=1e-13)
    np.testing.assert_allclose(np.linalg.det(glob), 1.0, atol=1e-13)


def test_fk_accepts_any_leading_shape_and_matches_frame_by_frame():
    rng = np.random.default_rng(6)
    poses = rng.normal(size=(2, 3, 24, 3))
    trans = rng.normal(size=(2, 3, 3))
    pos = sk.fk(poses, trans)
    assert pos.shape == (2, 3, 24, 3)
    for i in range(2):
        for t in range(3):
            np.testing.assert_allclose(pos[i, t], sk.fk(poses[i, t], trans[i, t]), atol=1e-14)
    # and does not modify its inputs
    p0, t0 = poses.copy(), trans.copy()
    sk.fk_mats(rot.aa_to_mat(poses), trans)
    np.testing.assert_array_equal(poses, p0)
    np.testing.assert_array_equal(trans, t0)


def test_fk_is_fk_mats_of_axis_angle():
    rng = np.random.default_rng(7)
    poses, trans = rng.normal(size=(5, 24, 3)), rng.normal(size=(5, 3))
    np.testing.assert_allclose(sk.fk(poses, trans), sk.fk_mats(rot.aa_to_mat(poses), trans)[0], atol=0)


# --------------------------------------------------------------------------------- local rotations
def test_local_rotations_inverts_the_global_composition():
    rng = np.random.default_rng(8)
    local = random_rotmats(rng, (4, 5, 24))
    _, glob = sk.fk_mats(local, np.zeros((4, 5, 3)))
    np.testing.assert_allclose(sk.local_rotations(glob), local, atol=1e-13)
    # and the other way round: any set of global rotations is reproduced by FK of its locals
    glob2 = random_rotmats(rng, (9, 24))
    np.testing.assert_allclose(sk.fk_mats(sk.local_rotations(glob2), np.zeros((9, 3)))[1], glob2, atol=1e-13)


def test_local_rotations_does_not_modify_its_input_and_keeps_the_root():
    glob = random_rotmats(np.random.default_rng(9), (3, 24))
    before = glob.copy()
    out = sk.local_rotations(glob)
    np.testing.assert_array_equal(glob, before)
    np.testing.assert_array_equal(out[:, 0], glob[:, 0])


def test_positions_from_local_rotations_of_fk_globals_round_trip():
    rng = np.random.default_rng(10)
    poses, trans = rng.normal(size=(8, 24, 3)), rng.normal(size=(8, 3))
    pos, glob = sk.fk_mats(rot.aa_to_mat(poses), trans)
    np.testing.assert_allclose(sk.fk_mats(sk.local_rotations(glob), trans)[0], pos, atol=1e-13)


# ---------------------------------------------------------------------------------------- torch
@pytest.mark.parametrize("offsets", [None, "scaled"])
def test_fk_t_equals_numpy_fk_in_float64(offsets):
    rng = np.random.default_rng(11)
    off = None if offsets is None else sk.REST_OFFSETS * 1.2
    rotmats = random_rotmats(rng, (3, 4, 24))
    trans = rng.normal(size=(3, 4, 3))
    ours = sk.fk_t(torch.from_numpy(rotmats), torch.from_numpy(trans), off)
    assert ours.dtype == torch.float64 and ours.shape == (3, 4, 24, 3)
    np.testing.assert_allclose(ours.numpy(), sk.fk_mats(rotmats, trans, off)[0], atol=1e-14)


def test_fk_t_in_float32_is_differentiable():
    rng = np.random.default_rng(12)
    rotmats = torch.tensor(random_rotmats(rng, (2, 24)), dtype=torch.float32, requires_grad=True)
    trans = torch.tensor(rng.normal(size=(2, 3)), dtype=torch.float32, requires_grad=True)
    pos = sk.fk_t(rotmats, trans)
    assert pos.dtype == torch.float32
    np.testing.assert_allclose(
        pos.detach().numpy(),
        sk.fk_mats(rotmats.detach().double().numpy(), trans.detach().double().numpy())[0],
        atol=1e-5,
    )
    pos[:, sk.LEFT_HAND].sum().backward()
    np.testing.assert_allclose(trans.grad.numpy(), 1.0, atol=0)  # every joint moves 1:1 with trans
    assert torch.isfinite(rotmats.grad).all()
    assert rotmats.grad[:, sk.RIGHT_KNEE].abs().sum() == 0  # not an ancestor of the left hand
    assert rotmats.grad[:, sk.LEFT_ELBOW].abs().sum() > 0
