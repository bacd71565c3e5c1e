import mujoco
import numpy as np
import pytest

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.physics.humanoid import DATA_AXES, EULER_ORDER, HumanoidSpec, build_mjcf, joint_range
from motionloop.physics.model import Humanoid


@pytest.fixture(scope="module")
def h():
    """Three hinges at every joint: every pose has its qpos."""
    return Humanoid(HumanoidSpec(axes="full"))


@pytest.fixture(scope="module")
def h_data():
    return Humanoid()


def test_model_sizes_and_mass(h, h_data):
    assert h.model.nbody == h_data.model.nbody == 1 + sk.NUM_JOINTS
    assert h.nq == 7 + 3 * (sk.NUM_JOINTS - 1)
    assert h.model.nu == 3 * (sk.NUM_JOINTS - 1)
    assert h.mass == pytest.approx(70.0, rel=1e-6) and h_data.mass == pytest.approx(70.0, rel=1e-6)
    # the data joint space: toes, hands and head welded, elbows one hinge, knees two (no twist)
    hinges = sum(len(HumanoidSpec().joint_axes(j)) for j in range(1, sk.NUM_JOINTS))
    assert h_data.nq == 7 + hinges and h_data.model.nu == hinges
    assert hinges == 3 * (sk.NUM_JOINTS - 1) - 2 * 3 * 2 - 2 * 2 - 2 * 1 - 3


def test_data_axes_keep_what_the_data_turns(h_data):
    rng = np.random.default_rng(4)
    poses = rng.normal(size=(20, sk.NUM_JOINTS, 3)) * 0.4
    # zero the axes the data body lacks: such poses survive the round trip exactly
    for j in range(1, sk.NUM_JOINTS):
        seg = sk.JOINTS[j].removeprefix("left_").removeprefix("right_")
        keep = DATA_AXES.get(seg, "XYZ")
        order = EULER_ORDER[j]
        angles = rot.mat_to_euler(rot.aa_to_mat(poses[:, j]), order, degrees=False)
        angles[:, [i for i, a in enumerate(order) if a not in keep]] = 0.0
        poses[:, j] = rot.mat_to_aa(rot.euler_to_mat(angles, order, degrees=False))
    back, _ = h_data.poses_from_qpos(h_data.qpos_from_poses(poses, np.zeros((20, 3))))
    np.testing.assert_allclose(rot.aa_to_mat(back), rot.aa_to_mat(poses), atol=1e-9)
    # a toe or hand rotation is dropped: the body has no hinge for it
    bent = poses.copy()
    bent[:, sk.LEFT_FOOT] = [0.3, 0.0, 0.0]
    back, _ = h_data.poses_from_qpos(h_data.qpos_from_poses(bent, np.zeros((20, 3))))
    np.testing.assert_allclose(back[:, sk.LEFT_FOOT], 0.0, atol=1e-12)
    assert (h_data.hinge_qpos[sk.LEFT_FOOT] == -1).all() and (h_data.hinge_qpos[sk.LEFT_ELBOW] >= 0).sum() == 1


def test_hinge_slots_follow_tree_not_smpl_order(h):
    # depth-first tree order: the left leg's hinges come before spine1's although spine1 = 3
    assert h.hinge_qpos[sk.LEFT_FOOT].min() < h.hinge_qpos[sk.SPINE1].min()
    # every qpos slot after the free joint is used exactly once
    assert sorted(h.hinge_qpos[1:].ravel()) == list(range(7, h.nq))
    assert sorted(h.hinge_qpos_sorted) == list(range(7, h.nq))
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


def test_bundled_data_lies_within_the_joint_ranges(h_data):
    from motionloop.data.bundled import OBJECT_LABELS, list_bundled
    from motionloop.motion import Motion

    q = np.concatenate(
        [h_data.qpos_from_motion(Motion.load(c.path)) for c in list_bundled() if c.label not in OBJECT_LABELS]
    )
    lo, hi = h_data.model.jnt_range[h_data.hinge_joint].T
    inside = (q[:, h_data.hinge_qpos_sorted] >= lo) & (q[:, h_data.hinge_qpos_sorted] <= hi)
    assert inside.mean() > 0.995  # what is left outside are Euler wraps of a few frames
