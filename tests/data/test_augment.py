"""Augmentation: mirror geometry and involution, heading rotation, feature (in)variance."""

import numpy as np
import pytest
from clips import random_motion as _random_motion

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data import features as F
from motionloop.data.augment import mirror, rotate_heading
from motionloop.motion import Motion

REFLECT_X = np.array([-1.0, 1.0, 1.0])


def random_motion(rng, T=60, fps=20.0):
    return _random_motion(rng, T, fps, label="walk", betas=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mirror_fk_is_reflected_fk_with_sides_swapped(seed):
    m = random_motion(np.random.default_rng(seed))
    pos, _glob = m.fk()
    mpos, mglob = mirror(m).fk()
    expected = (pos * REFLECT_X)[:, list(sk.MIRROR)]
    assert np.abs(mpos - expected).max() < 1e-5
    # the mirrored body is a proper body (rotations, not reflections) on every segment
    assert np.allclose(np.linalg.det(mglob), 1.0, atol=1e-5)
    # and it is not the original: the test clip is asymmetric
    assert np.abs(mpos - pos).max() > 0.1


def test_mirror_twice_is_the_identity_bit_for_bit():
    m = random_motion(np.random.default_rng(3))
    mm = mirror(mirror(m))
    assert np.array_equal(mm.trans, m.trans) and np.array_equal(mm.poses, m.poses)
    assert (mm.label, mm.fps, mm.source) == (m.label, m.fps, m.source)
    assert np.array_equal(mm.betas, m.betas)


def test_mirror_keeps_label_fps_betas():
    m = random_motion(np.random.default_rng(4))
    mi = mirror(m)
    assert mi.label == "walk" and mi.fps == m.fps and np.array_equal(mi.betas, m.betas)


def test_mirror_negates_turning_and_sidestep_in_features():
    m = random_motion(np.random.default_rng(5))
    x, xm = F.motion_to_features(m), F.motion_to_features(mirror(m))
    vel, yaw_rate = F.SLICES["root_vel"], F.SLICES["yaw_rate"]
    assert np.allclose(xm[:, vel], x[:, vel] * [1.0, -1.0], atol=1e-4)
    assert np.allclose(xm[:, yaw_rate], -x[:, yaw_rate], atol=1e-4)
    assert np.allclose(xm[:, F.SLICES["root_z"]], x[:, F.SLICES["root_z"]])


def test_mirror_swaps_foot_contacts():
    poses = np.zeros((4, sk.NUM_JOINTS, 3))
    poses[:, sk.PELVIS] = rot.mat_to_aa(sk.UPRIGHT)
    poses[:, sk.LEFT_HIP] = [-0.6, 0.0, 0.0]
    poses[:, sk.LEFT_KNEE] = [1.2, 0.0, 0.0]  # left foot off the floor, right foot planted
    m = Motion(trans=np.tile([0.0, 0.0, sk.PELVIS_HEIGHT], (4, 1)), poses=poses, fps=20.0)
    c = F.motion_to_features(m)[:, F.SLICES["contacts"]]
    cm = F.motion_to_features(mirror(m))[:, F.SLICES["contacts"]]
    assert c[:, sk.FEET.index(sk.LEFT_ANKLE)].max() == 0 and c[:, sk.FEET.index(sk.RIGHT_ANKLE)].min() == 1
    swap = [sk.FEET.index(sk.MIRROR[j]) for j in sk.FEET]
    assert np.array_equal(cm, c[:, swap])


@pytest.mark.parametrize("angle", [0.3, -2.0, np.pi])
def test_rotate_heading_rotates_fk_positions(angle):
    m = random_motion(np.random.default_rng(6))
    r = rotate_heading(m, angle)
    rz = rot.axis_rotation("Z", angle)
    assert np.abs(r.joints() - m.joints() @ rz.T).max() < 1e-5
    assert np.array_equal(r.poses[:, 1:], m.poses[:, 1:])
    dyaw = rot.yaw_of(rot.aa_to_mat(r.poses[:, sk.PELVIS])) - rot.yaw_of(rot.aa_to_mat(m.poses[:, sk.PELVIS]))
    assert np.allclose(np.angle(np.exp(1j * (dyaw - angle))), 0.0, atol=1e-5)


def test_rotate_heading_composes():
    m = random_motion(np.random.default_rng(7))
    a = rotate_heading(rotate_heading(m, 0.4), 1.1)
    b = rotate_heading(m, 1.5)
    assert np.abs(a.joints() - b.joints()).max() < 1e-5


def test_features_do_not_change_under_heading_rotation():
    m = random_motion(np.random.default_rng(8))
    x = F.motion_to_features(m)
    for angle in (0.5, -1.7, 3.0):
        xr = F.motion_to_features(rotate_heading(m, angle))
        assert np.abs(xr - x).max() < 1e-4
