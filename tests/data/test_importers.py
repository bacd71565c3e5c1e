"""Importers: DeepMimic (FK, cycles, real clips), HumanML3D, AMASS, the format dispatch, atomic output."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data import deepmimic, humanml3d, importers, stats
from motionloop.data.retarget import retarget
from motionloop.data.source import SourceMotion
from motionloop.errors import ConfigError, FormatError, MotionValidationError, RetargetError, UnknownNameError
from motionloop.motion import Motion

DEEPMIMIC_DEFAULT = Path("/tmp/dl/pb/pybullet_data/data/motions")
DEEPMIMIC_HINT = "unzip pybullet_data/data/motions/ from the wheel of `pip download pybullet==3.2.7 --no-deps`"
IDENTITY = [1.0, 0.0, 0.0, 0.0]


def dm_frame(duration=1 / 30, root=(0.0, 0.88, 0.0), right_knee=0.0, left_elbow=0.0, root_rot=IDENTITY):
    """One 44-number keyframe of the humanoid3d layout."""
    return [
        duration,
        *root,
        *root_rot,
        *IDENTITY,
        *IDENTITY,  # chest, neck
        *IDENTITY,
        right_knee,
        *IDENTITY,
        *IDENTITY,
        0.0,  # right hip, knee, ankle, shoulder, elbow
        *IDENTITY,
        0.0,
        *IDENTITY,
        *IDENTITY,
        left_elbow,
    ]


def write_dm(path: Path, frames, loop="wrap") -> Path:
    path.write_text(json.dumps({"Loop": loop, "Frames": frames}))
    return path


@pytest.fixture(scope="module")
def deepmimic_dir() -> Path:
    """The DeepMimic motions shipped with pybullet: $MOTIONLOOP_DEEPMIMIC_DIR, else /tmp/dl/pb/..."""
    env = os.environ.get("MOTIONLOOP_DEEPMIMIC_DIR")
    for cand in ([Path(env)] if env else []) + [DEEPMIMIC_DEFAULT]:
        if (cand / "humanoid3d_walk.txt").is_file():
            return cand
    pytest.skip(f"DeepMimic motions not found in $MOTIONLOOP_DEEPMIMIC_DIR or {DEEPMIMIC_DEFAULT}; {DEEPMIMIC_HINT}")


# ---------------------------------------------------------------------------------- DeepMimic
def test_deepmimic_forward_kinematics_of_a_checkable_pose(tmp_path):
    path = write_dm(tmp_path / "pose.txt", [dm_frame(right_knee=-np.pi / 2, left_elbow=np.pi / 2)] * 3)
    src = deepmimic.deepmimic_to_source(path)
    p = {n: src.positions[0, i] for i, n in enumerate(src.names)}
    # y-up DeepMimic (x forward, z right) -> z-up world: forward stays +x, right becomes -y
    np.testing.assert_allclose(p["root"], [0, 0, 0.88], atol=1e-12)
    np.testing.assert_allclose(p["right_hip"], [0, -0.084887, 0.88], atol=1e-9)
    np.testing.assert_allclose(p["left_hip"], [0, 0.084887, 0.88], atol=1e-9)
    np.testing.assert_allclose(p["right_knee"], [0, -0.084887, 0.88 - 0.421546], atol=1e-9)
    # knee flexed 90 degrees: the shank points backwards
    np.testing.assert_allclose(p["right_ankle"], p["right_knee"] + [-0.40987, 0, 0], atol=1e-9)
    np.testing.assert_allclose(p["left_ankle"], [0, 0.084887, 0.88 - 0.421546 - 0.40987], atol=1e-9)
    np.testing.assert_allclose(p["neck"], [0, 0, 0.88 + 0.236151 + 0.223894], atol=1e-9)
    np.testing.assert_allclose(p["left_shoulder"], [-0.02405, 0.18311, 0.88 + 0.236151 + 0.2435], atol=1e-9)
    # elbow flexed 90 degrees: the forearm points forwards
    np.testing.assert_allclose(p["left_wrist"], p["left_elbow"] + [0.258947, 0, 0], atol=1e-9)
    # the ball of the straight left foot: forward of the ankle and below it, like SMPL's
    ball = p["left_ball"] - p["left_ankle"]
    assert ball[0] > 0.05 and ball[2] < 0
    rest = sk.REST_OFFSETS[sk.LEFT_FOOT]
    assert np.degrees(np.arctan2(-ball[2], ball[0])) == pytest.approx(
        np.degrees(np.arctan2(-rest[1], rest[2])), abs=0.1
    )


def test_deepmimic_fixture_imports(tmp_path):
    frames = [dm_frame(root=(0.04 * i, 0.85, 0.0), right_knee=-0.3 * i) for i in range(3)]
    path = write_dm(tmp_path / "clip.txt", frames)
    ((motion, report),) = importers.import_file(path, label="stand")
    assert motion.fps == 20.0 and motion.num_frames == 2  # 2 keyframe steps of 1/30 s
    assert motion.label == "stand" and motion.source == str(path)
    assert report["format"] == "deepmimic"
    assert set(report["missing_joints"]) == {
        "spine1",
        "spine3",
        "left_collar",
        "right_collar",
        "left_hand",
        "right_hand",
    }
    assert report["bone_dir_err_deg"] <= 5.0
    assert stats.foot_ground_stats(motion)["min_z_mm"] >= -1.0


def test_deepmimic_cycles_continue_from_the_last_position(tmp_path):
    frames = [dm_frame(root=(0.1 * i, 0.85, 0.02 * i)) for i in range(5)]
    path = write_dm(tmp_path / "loop.txt", frames)
    one = deepmimic.deepmimic_to_source(path)
    three = deepmimic.deepmimic_to_source(path, cycles=3)
    assert len(three.positions) == 3 * (len(one.positions) - 1) + 1
    step = one.positions[-1, 0] - one.positions[0, 0]
    np.testing.assert_allclose(three.positions[-1, 0], one.positions[0, 0] + 3 * step, atol=1e-9)
    # no jump at the seams
    assert np.linalg.norm(np.diff(three.positions[:, 0], axis=0), axis=-1).max() < 1.01 * np.linalg.norm(step) / 4
    with pytest.raises(ConfigError, match="does not loop"):
        deepmimic.deepmimic_to_source(write_dm(tmp_path / "once.txt", frames, loop="none"), cycles=2)
    with pytest.raises(ConfigError, match="cycles"):
        deepmimic.deepmimic_to_source(path, cycles=0)


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not a DeepMimic JSON"),
        ('{"Loop": "wrap"}', "no 'Frames'"),
        ('{"Frames": []}', "empty"),
        (json.dumps({"Frames": [dm_frame(), dm_frame()[:40]]}), "frame 1 has 40 values"),
        (json.dumps({"Frames": [dm_frame(), [*dm_frame()[:5], "x", *dm_frame()[6:]]]}), "non-numbers"),
        (json.dumps({"Frames": [dm_frame(), dm_frame()]}).replace("0.88", "NaN", 1), "non-finite"),
        (json.dumps({"Frames": [dm_frame(duration=0.0), dm_frame()]}), "non-positive duration"),
    ],
)
def test_deepmimic_bad_files(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(FormatError, match=match):
        deepmimic.deepmimic_to_source(path)


def test_deepmimic_real_walk(deepmimic_dir):
    motion, report = retarget(deepmimic.deepmimic_to_source(deepmimic_dir / "humanoid3d_walk.txt"), 20.0)
    assert report.foot_ground_share >= 0.5
    assert report.bone_dir_err_deg <= 5.0
    assert report.planted_foot_speed_mps < 0.5
    assert stats.foot_ground_stats(motion)["min_z_mm"] >= -1.0
    # 1.27 s of walking forward at about 1 m/s
    assert motion.duration == pytest.approx(1.25, abs=0.05)
    assert 0.8 < np.linalg.norm(motion.trans[-1, :2] - motion.trans[0, :2]) / motion.duration < 1.2


def test_deepmimic_every_real_clip(deepmimic_dir):
    for path in sorted(deepmimic_dir.glob("humanoid3d_*.txt")):
        motion, report = retarget(deepmimic.deepmimic_to_source(path), 20.0)
        assert report.bone_dir_err_deg <= 5.0, path.name
        assert stats.foot_ground_stats(motion)["min_z_mm"] >= -1.0, path.name


# ---------------------------------------------------------------------------------- HumanML3D
def fk_joints(seed=0, T=30):
    """Joint positions `(T, 24, 3)` z-up of a standing, swaying body of our own skeleton."""
    rng = np.random.default_rng(seed)
    t = np.arange(T) / 20.0
    poses = 0.15 * rng.normal(size=(sk.NUM_JOINTS, 3)) * np.ones((T, 1, 1))
    poses[:, [sk.LEFT_KNEE, sk.RIGHT_KNEE]] = [0.2, 0.0, 0.0]
    poses[:, [sk.LEFT_HIP, sk.RIGHT_HIP]] = [-0.1, 0.0, 0.0]
    poses[:, [sk.LEFT_ANKLE, sk.RIGHT_ANKLE, sk.LEFT_FOOT, sk.RIGHT_FOOT]] = 0.0
    poses[:, sk.PELVIS] = rot.mat_to_aa(rot.axis_rotation("Z", 0.5 + 0.2 * t) @ sk.UPRIGHT)
    trans = np.stack([0.02 * np.sin(t), 0 * t, np.full(T, 0.95)], -1)
    return Motion(trans=trans, poses=poses, fps=20.0).joints()


def test_humanml3d_round_trip(tmp_path):
    joints = fk_joints()
    y_up = joints[:, : humanml3d.NUM_JOINTS] @ humanml3d.Y_TO_Z  # inverse of the importer's turn
    path = tmp_path / "000001.npy"
    np.save(path, y_up.astype(np.float32))
    ((motion, report),) = importers.import_file(path)
    assert report["format"] == "humanml3d" and report["missing_joints"] == ["left_hand", "right_hand"]
    assert report["bone_dir_err_deg"] < 0.5
    assert motion.fps == 20.0 and motion.num_frames == len(joints)
    out = motion.joints()[:, : humanml3d.NUM_JOINTS]
    err = out - joints[:, : humanml3d.NUM_JOINTS]
    err[..., 2] -= np.median(err[..., 2])  # grounding may shift the clip as a whole
    assert np.linalg.norm(err, axis=-1).max() < 0.005


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((10, 24, 3)), r"shape \(10, 24, 3\), expected \(T, 22, 3\)"),
        (np.zeros((10, 66)), "expected"),
        (np.zeros((0, 22, 3)), "expected"),
        (np.array(["a"] * 66).reshape(1, 22, 3), "dtype"),
    ],
)
def test_humanml3d_bad_arrays(tmp_path, array, match):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(FormatError, match=match):
        importers.import_file(path)


def test_humanml3d_nan_and_garbage(tmp_path):
    arr = np.zeros((5, 22, 3))
    arr[3, 4, 1] = np.nan
    np.save(tmp_path / "nan.npy", arr)
    with pytest.raises(FormatError, match="non-finite joint position in frame 3"):
        importers.import_file(tmp_path / "nan.npy")
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    with pytest.raises(FormatError, match="junk.npy"):
        importers.import_file(tmp_path / "junk.npy")
    np.savez(tmp_path / "joints.npz", joints=np.zeros((5, 22, 3)))
    with pytest.raises(FormatError, match="an .npz archive, expected one .npy array"):
        importers.import_file(tmp_path / "joints.npz", format="humanml3d")


# -------------------------------------------------------------------------------------- AMASS
def write_amass(path: Path, width: int, T=121, fps=60.0, float_m=0.07) -> Path:
    rng = np.random.default_rng(width)
    poses = np.zeros((T, width))
    t = np.arange(T)[:, None, None] / fps
    body = 0.1 * rng.normal(size=(21, 3)) + 0.05 * np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 6, (21, 3)))
    body[:, [sk.LEFT_KNEE - 1, sk.RIGHT_KNEE - 1]] = [0.15, 0.0, 0.0]
    poses[:, 3:66] = body.reshape(T, -1)
    poses[:, 66:] = 0.3  # SMPL's hands (72) or SMPL-H's fingers (156): not body joints
    poses[:, :3] = rot.mat_to_aa(sk.UPRIGHT)
    # AMASS trans is not the pelvis: Motion.load adds SMPL_PELVIS_REST; put the feet float_m up
    trans = np.tile([0.3, 0.1, sk.PELVIS_HEIGHT + float_m], (T, 1)) - sk.SMPL_PELVIS_REST
    np.savez(path, poses=poses, trans=trans, betas=np.zeros(16), mocap_framerate=fps, gender="neutral")
    return path


@pytest.mark.parametrize("width", [72, 156])
def test_amass_imports_resampled_and_grounded(tmp_path, width):
    path = write_amass(tmp_path / f"clip{width}.npz", width)
    ((motion, report),) = importers.import_file(path, label="idle")
    assert motion.fps == 20.0 and motion.num_frames == 41 and motion.label == "idle"
    if width == 156:  # SMPL-H fingers are dropped, SMPL's hand joints stay at rest
        np.testing.assert_allclose(motion.poses[:, sk.LEFT_HAND], 0.0)
    assert report["format"] == "amass"
    assert report["offset_m"] == pytest.approx(-0.07, abs=0.03)
    assert report["foot_ground_share"] > 0.9 and report["min_z_mm"] >= -1.0
    assert report["stance_share"] > 0.9 and report["planted_foot_speed_mps"] < 0.3  # the legs sway
    json.dumps(report)


def test_amass_bad_files(tmp_path):
    np.savez(tmp_path / "noposes.npz", trans=np.zeros((3, 3)))
    with pytest.raises(FormatError, match="missing array 'poses'"):
        importers.import_file(tmp_path / "noposes.npz")
    np.savez(tmp_path / "nan.npz", poses=np.full((3, 72), np.nan), trans=np.zeros((3, 3)), mocap_framerate=30.0)
    with pytest.raises(MotionValidationError, match="non-finite"):
        importers.import_file(tmp_path / "nan.npz")


# ----------------------------------------------------------------------------------- dispatch
def test_dispatch_errors(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        importers.import_file(tmp_path / "missing.bvh")
    (tmp_path / "clip.fbx").write_text("x")
    with pytest.raises(FormatError, match=r"unknown file extension '\.fbx'.*\.bvh.*humanml3d"):
        importers.import_file(tmp_path / "clip.fbx")
    with pytest.raises(UnknownNameError, match="unknown format 'c3d'; valid: amass, auto, bvh"):
        importers.import_file(tmp_path / "clip.fbx", format="c3d")
    path = write_dm(tmp_path / "clip.txt", [dm_frame()] * 3)
    with pytest.raises(ConfigError, match="joint_map applies to BVH"):
        importers.import_file(path, joint_map=tmp_path / "map.toml")
    with pytest.raises(ConfigError, match="cycles applies"):
        importers.import_file(write_amass(tmp_path / "a.npz", 72), cycles=2)


def test_bvh_goes_through_bvh_to_source_and_retarget(tmp_path, monkeypatch):
    """The dispatch only: bvh.py has its own tests."""
    from motionloop.data import bvh

    joints = fk_joints()
    seen = {}

    def fake_bvh_to_source(path, joint_map=None, unit="auto", up="auto", label=None):
        seen.update(path=path, joint_map=joint_map, label=label)
        return SourceMotion(joints, sk.JOINTS, {n: n for n in sk.JOINTS}, 20.0, str(path), label)

    monkeypatch.setattr(bvh, "bvh_to_source", fake_bvh_to_source)
    path = tmp_path / "take.txt"
    path.write_text("HIERARCHY\nROOT Hips\n")  # a BVH saved as .txt is recognised by content
    assert importers.detect_format(path) == "bvh"
    ((motion, report),) = importers.import_file(path, joint_map="map.toml", label="jog")
    assert seen == {"path": path, "joint_map": "map.toml", "label": "jog"}
    assert report["format"] == "bvh" and report["bone_dir_err_deg"] < 0.5 and motion.label == "jog"


def test_import_to_dir_writes_clips(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    write_dm(src / "a.txt", [dm_frame()] * 4)
    write_amass(src / "sub" / "b.npz", 72)
    (src / "notes.md").write_text("ignored: not an importable extension")
    paths = importers.import_to_dir(src, tmp_path / "out")
    assert [p.name for p in paths] == ["a.npz", "sub_b.npz"]
    for p in paths:
        assert Motion.load(p).fps == 20.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # no staging left behind


def test_import_to_dir_leaves_nothing_on_failure(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_dm(src / "a.txt", [dm_frame()] * 4)
    (src / "b.txt").write_text('{"Frames": [[1, 2, 3]]}')
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.npz").write_bytes(b"existing clip")
    with pytest.raises(FormatError, match="b.txt"):
        importers.import_to_dir(src, out)
    assert [p.name for p in out.iterdir()] == ["keep.npz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="no importable files"):
        importers.import_to_dir(tmp_path / "empty", tmp_path / "other")


def test_import_to_dir_failing_write_leaves_out_dir_as_it_was(tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b", "c"):
        write_dm(src / f"{name}.txt", [dm_frame()] * 4)
    out = tmp_path / "out"
    real_save, calls = Motion.save, []

    def failing_save(self, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(self, path)

    monkeypatch.setattr(Motion, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        importers.import_to_dir(src, out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_retarget_error_from_an_unmappable_source():
    joints = fk_joints()[:, :3]
    with pytest.raises(RetargetError, match="left_knee"):
        from motionloop.data.retarget import retarget

        retarget(SourceMotion(joints, sk.JOINTS[:3], {n: n for n in sk.JOINTS[:3]}, 20.0, "x"))
