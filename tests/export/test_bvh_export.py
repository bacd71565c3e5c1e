"""BVH export: re-read with motionloop's BVH parser and with an independent one (bvhTools), FK must
give the Motion's joints within 1 mm."""

from __future__ import annotations

import numpy as np
import pytest

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data.bvh import read_bvh
from motionloop.errors import FormatError, UnknownNameError
from motionloop.export.bvh_export import axes, write_bvh
from motionloop.motion import Motion


@pytest.fixture(scope="module")
def clip() -> Motion:
    """An upright body walking with large random joint rotations (gimbal-prone angles included)."""
    rng = np.random.default_rng(0)
    T = 30
    poses = rng.normal(0.0, 0.9, (T, sk.NUM_JOINTS, 3)) * np.linspace(0.2, 1.0, T)[:, None, None]
    poses[:, sk.PELVIS] = rot.mat_to_aa(
        rot.axis_rotation("Z", np.linspace(0, 4 * np.pi, T)) @ sk.UPRIGHT
    )  # two full turns
    trans = np.stack([np.linspace(0, 3, T), np.sin(np.arange(T) / 5), np.full(T, sk.PELVIS_HEIGHT)], axis=1)
    return Motion(trans=trans, poses=poses, fps=30.0, label="walk", source="test")


def _joints_back(path, up: str, unit_scale: float) -> np.ndarray:
    """World joint positions (T, 24, 3) in motionloop's frame (z up, metres) of a BVH file."""
    bvh = read_bvh(path)
    pos = bvh.positions()[:, [bvh.names.index(n) for n in sk.JOINTS]] / unit_scale
    W, _ = axes(up)
    return pos @ W  # rows: W^T p, back to z-up


@pytest.mark.parametrize("up", ["y", "z"])
@pytest.mark.parametrize("order", ["ZXY", "XYZ"])
def test_round_trip_joint_positions(clip, tmp_path, up, order):
    path = write_bvh(clip, tmp_path / "clip.bvh", up=up, order=order)
    err = np.abs(_joints_back(path, up, 100.0) - clip.joints()).max()
    assert err < 1e-3  # metres
    bvh = read_bvh(path)
    assert bvh.fps == pytest.approx(30.0) and bvh.num_frames == 30
    assert [n for n, end in zip(bvh.names, bvh.end_site) if not end] == sorted(sk.JOINTS, key=bvh.names.index)
    assert set(sk.JOINTS) <= set(bvh.names)
    assert bvh.channels[0] == ("Xposition", "Yposition", "Zposition") + tuple(f"{a}rotation" for a in order)
    assert sum(bvh.end_site) == 5


def test_metres_and_custom_offsets(clip, tmp_path):
    offsets = sk.REST_OFFSETS * 1.1
    path = write_bvh(clip, tmp_path / "m.bvh", unit="m", offsets=offsets)
    assert np.abs(_joints_back(path, "y", 1.0) - clip.joints(offsets)).max() < 1e-3


def test_y_up_stands_along_y(clip, tmp_path):
    standing = clip.replace(poses=np.where(np.arange(24)[None, :, None] == 0, clip.poses, 0.0))
    bvh = read_bvh(write_bvh(standing, tmp_path / "s.bvh", up="y"))
    pos = bvh.positions()[0]
    head, ankle = pos[bvh.names.index("head")], pos[bvh.names.index("left_ankle")]
    assert head[1] - ankle[1] > 120  # cm: the body stands along +y
    assert np.allclose(bvh.frames[0, 3:6], 0.0, atol=1e-3)  # upright at heading 0: identity root rotation


def test_euler_channels_are_unwrapped(clip, tmp_path):
    bvh = read_bvh(write_bvh(clip, tmp_path / "u.bvh", up="y"))
    root_yaw = bvh.frames[:, 3:6]
    assert np.abs(np.diff(root_yaw, axis=0)).max() < 180  # no +-360 jumps
    assert np.ptp(root_yaw) > 360  # two full turns accumulate


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"up": "x"}, UnknownNameError, "valid: y, z"),
        ({"order": "XXY"}, UnknownNameError, "XYZ"),
        ({"unit": "inch"}, UnknownNameError, "cm, m"),
        ({"offsets": np.zeros((22, 3))}, FormatError, "offsets"),
    ],
)
def test_bad_arguments(clip, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        write_bvh(clip, tmp_path / "bad.bvh", **kwargs)
    assert not (tmp_path / "bad.bvh").exists()


def test_bad_suffix(clip, tmp_path):
    with pytest.raises(FormatError, match=r"\.bvh"):
        write_bvh(clip, tmp_path / "clip.txt")


@pytest.mark.parametrize("up", ["y", "z"])
@pytest.mark.parametrize("order", ["ZXY", "XYZ", "YZX"])
def test_independent_reader_agrees(clip, tmp_path, up, order):
    """bvhTools (PyPI `bvhtools`, MIT; its own parser and forward kinematics) reads our BVH to the
    same world joint positions within 1 mm."""
    bvhio = pytest.importorskip("bvhTools.bvhIO", reason="pip install --no-deps bvhtools==1.6.0 (.ci/run does)")
    bvh = bvhio.readBvh(str(write_bvh(clip, tmp_path / "clip.bvh", up=up, order=order)))
    W, _ = axes(up)
    joints = clip.joints()
    for t in range(clip.num_frames):
        fk = bvh.getFKAtFrame(t)  # {name: (rotation, position)}, centimetres, the file's axes
        pos = np.array([fk[name][1] for name in sk.JOINTS], dtype=np.float64) / 100.0 @ W
        assert np.abs(pos - joints[t]).max() < 1e-3, f"frame {t}"
