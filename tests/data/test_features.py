"""Features: exact inverse, torch == numpy, hand-checked channels, errors; the normaliser."""

import json

import numpy as np
import pytest
import torch
from clips import random_motion as _random_motion

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data import features as F
from motionloop.data.normalize import Normalizer
from motionloop.errors import CheckpointError, MotionloopError
from motionloop.motion import Motion


def random_motion(rng, T=80, fps=20.0, label=None):
    return _random_motion(rng, T, fps, label=label)


def standing(T=10, yaw=0.0, z=sk.PELVIS_HEIGHT, vel=(0.0, 0.0), fps=20.0):
    """Rest pose upright, heading `yaw`, pelvis at height z moving at `vel` (world m/s)."""
    root = rot.mat_to_aa(rot.axis_rotation("Z", yaw + np.pi / 2) @ sk.UPRIGHT)  # +pi/2: rest forward is -y
    poses = np.zeros((T, sk.NUM_JOINTS, 3))
    poses[:, sk.PELVIS] = root
    t = np.arange(T) / fps
    trans = np.stack([vel[0] * t, vel[1] * t, np.full(T, z)], axis=-1)
    return Motion(trans=trans, poses=poses, fps=fps)


def rot_err(a: Motion, b: Motion) -> float:
    """Largest rotation difference (radians, small-angle) over frames and joints."""
    d = rot.aa_to_mat(a.poses) - rot.aa_to_mat(b.poses)
    return float(np.linalg.norm(d, axis=(-2, -1)).max() / np.sqrt(2))


def test_layout_slices_tile_the_feature_vector():
    covered = np.zeros(F.FEATURE_DIM, int)
    for s in F.SLICES.values():
        covered[s] += 1
    assert np.all(covered == 1)
    assert F.FEATURE_DIM == 1 + 2 + 1 + 6 + 23 * 6 + 23 * 3 + 4 == 221
    assert list(F.SLICES) == ["root_z", "root_vel", "yaw_rate", "root_tilt", "local_rot", "joint_pos", "contacts"]


@pytest.mark.parametrize("seed, T, fps", [(0, 80, 20.0), (1, 200, 30.0), (2, 2, 20.0), (3, 1, 20.0)])
def test_round_trip_equals_canonical_clip(seed, T, fps):
    m = random_motion(np.random.default_rng(seed), T, fps)
    x = F.motion_to_features(m)
    assert x.shape == (T, F.FEATURE_DIM) and x.dtype == np.float32
    back = F.features_to_motion(x, fps)
    c = F.canonicalize(m)
    assert np.abs(back.trans - c.trans).max() < 1e-5
    assert rot_err(back, c) < 1e-5
    assert back.source == "generated" and back.fps == fps


def test_round_trip_from_start_pose_gives_the_original():
    m = random_motion(np.random.default_rng(4), 120)
    yaw0 = float(rot.yaw_of(rot.aa_to_mat(m.poses[0, sk.PELVIS])))
    back = F.features_to_motion(F.motion_to_features(m), m.fps, label="x", start_xy=m.trans[0, :2], start_yaw=yaw0)
    assert np.abs(back.trans - m.trans).max() < 1e-5
    assert rot_err(back, m) < 1e-5
    assert back.label == "x"


def test_canonicalize_moves_start_to_origin_facing_x_and_is_rigid():
    m = random_motion(np.random.default_rng(5))
    c = F.canonicalize(m)
    assert np.allclose(c.trans[0, :2], 0, atol=1e-6)
    assert abs(rot.yaw_of(rot.aa_to_mat(c.poses[0, sk.PELVIS]))) < 1e-6
    assert np.allclose(c.trans[:, 2], m.trans[:, 2])
    pm, pc = m.joints(), c.joints()
    # rigid motion about z: distances between all joints of all frames are kept
    dm = np.linalg.norm(pm[:, :, None] - pm[:, None], axis=-1)
    dc = np.linalg.norm(pc[:, :, None] - pc[:, None], axis=-1)
    assert np.abs(dm - dc).max() < 1e-5
    assert np.allclose(F.motion_to_features(c), F.motion_to_features(m), atol=1e-4)


def test_wrapped_yaw_steps_still_round_trip():
    m = random_motion(np.random.default_rng(6), 30)
    spin = np.cumsum(np.full(30, 3.5))  # 3.5 rad per frame: wraps to -2.78
    root = rot.axis_rotation("Z", spin) @ rot.aa_to_mat(m.poses[:, sk.PELVIS])
    poses = m.poses.copy()
    poses[:, sk.PELVIS] = rot.mat_to_aa(root)
    m = m.replace(poses=poses)
    x = F.motion_to_features(m)
    assert np.all(np.abs(x[1:, F.SLICES["yaw_rate"]] / m.fps) <= np.pi + 1e-6)
    back = F.features_to_motion(x, m.fps)
    c = F.canonicalize(m)
    assert np.abs(back.trans - c.trans).max() < 1e-5 and rot_err(back, c) < 1e-5


def test_first_frame_rates_are_ignored_by_decoding():
    m = random_motion(np.random.default_rng(7), 20)
    x = F.motion_to_features(m)
    assert np.all(x[0, F.SLICES["root_vel"]] == 0) and x[0, F.SLICES["yaw_rate"]][0] == 0
    y = x.copy()
    y[0, F.SLICES["root_vel"]] = [3.0, -2.0]
    y[0, F.SLICES["yaw_rate"]] = 5.0
    a, b = F.features_to_motion(x, m.fps), F.features_to_motion(y, m.fps)
    assert np.array_equal(a.trans, b.trans) and np.array_equal(a.poses, b.poses)


@pytest.mark.parametrize("yaw", [0.0, 1.0, -2.5])
def test_walking_forward_and_turning_channels(yaw):
    fwd = np.array([np.cos(yaw), np.sin(yaw)])
    x = F.motion_to_features(standing(T=5, yaw=yaw, vel=tuple(1.5 * fwd)))
    assert np.allclose(x[1:, F.SLICES["root_vel"]], [1.5, 0.0], atol=1e-5)  # forward, no lateral
    assert np.allclose(x[:, F.SLICES["root_z"]], sk.PELVIS_HEIGHT)
    # rest pose: joint_pos is the rest skeleton in (forward, left, up)
    rest = sk.rest_joints()[1:]  # canonical (left, up, forward)
    expected = np.stack([rest[:, 2], rest[:, 0], rest[:, 1]], axis=-1).reshape(-1)
    assert np.allclose(x[0, F.SLICES["joint_pos"]], expected, atol=1e-6)
    # upright, yaw removed: body left -> world y, body up -> world z
    assert np.allclose(x[:, F.SLICES["root_tilt"]], [0, 1, 0, 0, 0, 1], atol=1e-6)

    turning = standing(T=5, yaw=yaw)
    root = rot.axis_rotation("Z", 0.7 * np.arange(5) / 20.0) @ rot.aa_to_mat(turning.poses[:, sk.PELVIS])
    poses = turning.poses.copy()
    poses[:, sk.PELVIS] = rot.mat_to_aa(root)
    xt = F.motion_to_features(turning.replace(poses=poses))
    assert np.allclose(xt[1:, F.SLICES["yaw_rate"]], 0.7, atol=1e-5)


def test_joint_pos_agrees_with_fk_of_decoded_clip():
    m = random_motion(np.random.default_rng(8), 40)
    x = F.motion_to_features(m)
    p = F.features_to_motion(x, m.fps).joints()  # canonical clip: heading frame = Rz(-yaw)
    c = F.canonicalize(m)
    heading = rot.yaw_of(rot.aa_to_mat(c.poses[:, sk.PELVIS]))
    rel = np.einsum("tij,tkj->tki", rot.axis_rotation("Z", -heading), p[:, 1:] - p[:, :1])
    assert np.abs(rel.reshape(len(x), -1) - x[:, F.SLICES["joint_pos"]]).max() < 1e-5


@pytest.mark.parametrize(
    "z, vel, expected",
    [
        (sk.PELVIS_HEIGHT, (0.0, 0.0), 1.0),  # standing on the floor
        (sk.PELVIS_HEIGHT + 0.04, (0.0, 0.0), 1.0),  # within CONTACT_HEIGHT
        (sk.PELVIS_HEIGHT + 0.10, (0.0, 0.0), 0.0),  # hovering
        (sk.PELVIS_HEIGHT, (1.0, 0.0), 0.0),  # sliding on the floor faster than CONTACT_SPEED
        (sk.PELVIS_HEIGHT, (0.3, 0.0), 1.0),  # slow creep
    ],
)
def test_contacts_low_and_slow(z, vel, expected):
    x = F.motion_to_features(standing(T=6, z=z, vel=vel))
    assert np.all(x[:, F.SLICES["contacts"]] == expected)


def test_contacts_of_one_lifted_foot():
    m = standing(T=4)
    poses = m.poses.copy()
    poses[:, sk.LEFT_HIP] = [-0.6, 0.0, 0.0]  # hip flexion about the body's left axis
    poses[:, sk.LEFT_KNEE] = [1.2, 0.0, 0.0]  # knee bent: the left foot leaves the floor
    c = F.motion_to_features(m.replace(poses=poses))[:, F.SLICES["contacts"]]
    left = [sk.FEET.index(sk.LEFT_ANKLE), sk.FEET.index(sk.LEFT_FOOT)]
    right = [sk.FEET.index(sk.RIGHT_ANKLE), sk.FEET.index(sk.RIGHT_FOOT)]
    assert np.all(c[:, left] == 0) and np.all(c[:, right] == 1)


def test_torch_decoding_matches_numpy_and_is_differentiable():
    rng = np.random.default_rng(9)
    clips = [random_motion(rng, 50, fps=30.0) for _ in range(3)]
    x = np.stack([F.motion_to_features(m) for m in clips])  # (3, 50, D)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    rotmats, trans = F.features_to_rotmats_t(xt, fps=30.0)
    assert rotmats.shape == (3, 50, 24, 3, 3) and trans.shape == (3, 50, 3)
    for b, _m in enumerate(clips):
        ref = F.features_to_motion(x[b], 30.0)
        assert np.abs(trans[b].detach().numpy() - ref.trans).max() < 1e-5
        assert np.abs(rotmats[b].detach().numpy() - rot.aa_to_mat(ref.poses)).max() < 1e-5
    pos = sk.fk_t(rotmats, trans)  # (3, 50, 24, 3)
    assert np.abs(pos[0].detach().numpy() - F.canonicalize(clips[0]).joints()).max() < 1e-5
    pos.square().sum().backward()
    g = xt.grad
    assert torch.isfinite(g).all()
    for name in ("root_vel", "yaw_rate", "root_tilt", "local_rot", "root_z"):
        assert g[:, 1:, F.SLICES[name]].abs().sum() > 0, name
    assert g[:, :, F.SLICES["contacts"]].abs().sum() == 0


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.zeros((10, F.FEATURE_DIM - 1)), ["shape", F.LAYOUT]),
        (np.zeros((0, F.FEATURE_DIM)), ["shape", F.LAYOUT]),
        (np.zeros(F.FEATURE_DIM), ["shape", F.LAYOUT]),
        ("abc", [F.LAYOUT]),
    ],
)
def test_features_to_motion_rejects_bad_arrays(bad, words):
    with pytest.raises(MotionloopError) as e:
        F.features_to_motion(bad, 20.0)
    for w in words:
        assert w in str(e.value)


def test_features_to_motion_names_the_nan_channel():
    x = F.motion_to_features(random_motion(np.random.default_rng(10), 10))
    x[3, F.SLICES["local_rot"].start + 7] = np.nan
    with pytest.raises(MotionloopError, match=rf"frame 3.*'local_rot'.*{F.LAYOUT}"):
        F.features_to_motion(x, 20.0)


@pytest.mark.parametrize("fps", [0.0, -5.0, float("nan"), "fast"])
def test_features_to_motion_rejects_bad_fps(fps):
    with pytest.raises(MotionloopError, match="fps"):
        F.features_to_motion(np.zeros((3, F.FEATURE_DIM)), fps)


def test_torch_decoding_rejects_wrong_dim():
    with pytest.raises(MotionloopError, match=F.LAYOUT):
        F.features_to_rotmats_t(torch.zeros(2, 5, F.FEATURE_DIM + 1))


# ------------------------------------------------------------------------------ normaliser
def _feature_set(seed=11):
    rng = np.random.default_rng(seed)
    return [F.motion_to_features(random_motion(rng, T)) for T in (30, 45, 60)]


def test_normalizer_fit_statistics():
    feats = _feature_set()
    n = Normalizer.fit(feats, eps=1e-2)
    allf = np.concatenate(feats).astype(np.float64)
    c = F.SLICES["contacts"]
    other = np.ones(F.FEATURE_DIM, bool)
    other[c] = False
    assert np.allclose(n.mean[other], allf.mean(0)[other], atol=1e-6)
    assert np.allclose(n.std[other], np.maximum(allf.std(0), 1e-2)[other], atol=1e-6)
    assert np.all(n.mean[c] == 0.5) and np.all(n.std[c] == 0.5)
    assert n.layout == F.LAYOUT
    # the hand joints of random_motion are random, but a constant channel must hit the floor
    const = [f.copy() for f in feats]
    for f in const:
        f[:, 0] = 0.9
    assert Normalizer.fit(const, eps=0.05).std[0] == pytest.approx(0.05)


def test_normalizer_round_trip_numpy_and_torch():
    feats = _feature_set()
    n = Normalizer.fit(feats)
    x = feats[0]
    z = n.normalize(x)
    assert z.dtype == np.float32
    assert np.abs(n.denormalize(z) - x).max() < 1e-5
    assert set(np.unique(z[:, F.SLICES["contacts"]])) <= {-1.0, 1.0}
    zt = n.normalize(torch.tensor(x))
    assert isinstance(zt, torch.Tensor) and zt.dtype == torch.float32
    assert np.abs(zt.numpy() - z).max() < 1e-6
    assert np.abs(n.denormalize(zt).numpy() - x).max() < 1e-5
    batch = np.stack([x, x])  # (2, T, D): broadcasts over leading axes
    assert np.allclose(n.normalize(batch)[1], z)


def test_normalizer_dict_round_trip_through_json():
    n = Normalizer.fit(_feature_set())
    d = json.loads(json.dumps(n.to_dict()))
    m = Normalizer.from_dict(d)
    assert np.array_equal(m.mean, n.mean) and np.array_equal(m.std, n.std) and m.layout == n.layout


def test_normalizer_layout_mismatch_names_both_layouts():
    d = Normalizer.fit(_feature_set()).to_dict()
    d["layout"] = "smpl22-quat-v0"
    with pytest.raises(CheckpointError) as e:
        Normalizer.from_dict(d)
    assert "smpl22-quat-v0" in str(e.value) and F.LAYOUT in str(e.value)


@pytest.mark.parametrize("change", [{"mean": [0.0] * 5}, {"std": "x"}, {"std": None}])
def test_normalizer_from_dict_rejects_bad_statistics(change):
    d = Normalizer.fit(_feature_set()).to_dict() | change
    with pytest.raises(CheckpointError):
        Normalizer.from_dict(d)


def test_normalizer_rejects_wrong_inputs():
    with pytest.raises(MotionloopError, match=F.LAYOUT):
        Normalizer.fit([np.zeros((4, 10))])
    with pytest.raises(MotionloopError):
        Normalizer.fit([])
    with pytest.raises(MotionloopError, match="dims"):
        Normalizer.fit(_feature_set()).normalize(np.zeros((3, 7)))
