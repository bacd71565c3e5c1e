import mujoco
import numpy as np
import pytest

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.physics.humanoid import EULER_ORDER, build_mjcf, joint_range
from motionloop.physics.model import Humanoid


@pytest.fixture(scope="module")
def h():
    return Humanoid()


def test_model_sizes_and_mass(h):
    assert h.model.nbody == 1 + sk.NUM_JOINTS
    assert h.nq == 7 + 3 * (sk.NUM_JOINTS - 1)
    assert h.model.nu == 3 * (sk.NUM_JOINTS - 1)
    assert h.mass == pytest.approx(70.0, rel=1e-6)


def test_hinge_slots_follow_tree_not_smpl_order(h):
    # depth-first tree order: the left leg's hinges come before spine1's although spine1 = 3
    assert h.hinge_qpos[sk.LEFT_FOOT].min() < h.hinge_qpos[sk.SPINE1].min()
    # every qpos slot after the free joint is used exactly once
    assert sorted(h.hinge_qpos[1:].ravel()) == list(range(7, h.nq))
    assert sorted(h.act_dof) == list(range(6, h.nv))


def test_pose_qpos_round_trip(h):
    rng = np.random.default_rng(0)
    poses = rng.normal(size=(50, sk.NUM_JOINTS, 3)) * 0.5
    trans = rng.normal(size=(50, 3))
    qpos = h.qpos_from_poses(poses, trans)
    back, t2 = h.poses_from_qpos(qpos)
    np.testing.assert_allclose(rot.aa_to_mat(back), rot.aa_to_mat(poses), atol=1e-9)
    np.testing.assert_allclose(t2, trans)
    # and qpos -> poses -> qpos
    np.testing.assert_allclose(h.qpos_from_poses(back, t2)[:, 7:], qpos[:, 7:], atol=1e-9)


def test_mujoco_bodies_match_skeleton_fk(h):
    rng = np.random.default_rng(1)
    poses = rng.normal(size=(5, sk.NUM_JOINTS, 3)) * 0.6
    trans = rng.normal(size=(5, 3))
    qpos = h.qpos_from_poses(poses, trans)
    d = mujoco.MjData(h.model)
    for t in range(5):
        d.qpos[:] = qpos[t]
        mujoco.mj_kinematics(h.model, d)
        pos, glob = sk.fk_mats(rot.aa_to_mat(poses[t]), trans[t])
        np.testing.assert_allclose(d.xpos[h.body_id], pos, atol=1e-9)
        np.testing.assert_allclose(d.xmat[h.body_id].reshape(-1, 3, 3), glob, atol=1e-9)


def test_hinge_order_is_intrinsic_euler(h):
    # one joint, hinges set by hand: the body rotation must equal the Euler product
    d = mujoco.MjData(h.model)
    d.qpos[3] = 1.0
    angles = np.array([0.3, -0.5, 0.7])  # in EULER_ORDER of the left shoulder
    j = sk.LEFT_SHOULDER
    for i, axis in enumerate(EULER_ORDER[j]):
        d.qpos[h.hinge_qpos[j, "XYZ".index(axis)]] = angles[i]
    mujoco.mj_kinematics(h.model, d)
    parent = d.xmat[h.body_id[sk.LEFT_COLLAR]].reshape(3, 3)
    local = parent.T @ d.xmat[h.body_id[j]].reshape(3, 3)
    np.testing.assert_allclose(local, rot.euler_to_mat(angles, EULER_ORDER[j], degrees=False), atol=1e-9)


def test_right_side_ranges_mirror_left():
    left, right = joint_range(sk.LEFT_KNEE), joint_range(sk.RIGHT_KNEE)
    np.testing.assert_allclose(left[0], right[0])
    np.testing.assert_allclose(left[1:], -right[1:, ::-1])


def test_shipped_mjcf_is_current():
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "assets" / "humanoid.xml"
    assert shipped.read_text() == build_mjcf(), "regenerate with scripts/export_humanoid.py"
