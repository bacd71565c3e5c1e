"""Clip files: the AMASS convention for `trans`, old files still read, round trips, bad versions."""

import numpy as np
import pytest
from clips import random_motion

from motionloop import skeleton as sk
from motionloop.errors import FormatError
from motionloop.motion import FORMAT_VERSION, Motion


def test_saved_trans_is_amass_translation(tmp_path):
    m = random_motion(np.random.default_rng(0))
    path = m.save(tmp_path / "c.npz")
    with np.load(path) as f:
        raw = {k: f[k] for k in f.files}
    # what an AMASS/smplx tool does: pelvis = trans + the rest pelvis joint (not rotated)
    np.testing.assert_allclose(raw["trans"] + sk.SMPL_PELVIS_REST, m.trans, atol=1e-6)
    assert not np.allclose(raw["trans"], m.trans)
    assert str(raw["gender"]) == "neutral"
    assert int(raw["motionloop_format"]) == FORMAT_VERSION == 2
    back = Motion.load(path)
    np.testing.assert_allclose(back.trans, m.trans, atol=1e-6)
    np.testing.assert_allclose(back.joints(), m.joints(), atol=1e-5)


def test_format_1_files_still_read_as_pelvis_position(tmp_path):
    m = random_motion(np.random.default_rng(1))
    path = tmp_path / "old.npz"
    np.savez(
        path,
        trans=m.trans,
        poses=m.poses.reshape(len(m.trans), -1),
        betas=m.betas,
        mocap_framerate=np.float64(m.fps),
        label=np.str_("walk"),
        source=np.str_("x"),
        motionloop_format=np.int64(1),
    )
    np.testing.assert_allclose(Motion.load(path).trans, m.trans, atol=1e-6)


def test_foreign_amass_file_gets_the_rest_offset(tmp_path):
    m = random_motion(np.random.default_rng(2))
    path = tmp_path / "amass.npz"
    np.savez(path, trans=m.trans, poses=m.poses.reshape(len(m.trans), -1), mocap_framerate=np.float64(30))
    np.testing.assert_allclose(Motion.load(path).trans, m.trans + sk.SMPL_PELVIS_REST, atol=1e-6)


@pytest.mark.parametrize("version, match", [(3, "motionloop_format 3"), (0, "motionloop_format 0")])
def test_unknown_format_version_is_refused(tmp_path, version, match):
    m = random_motion(np.random.default_rng(3))
    path = tmp_path / "v.npz"
    np.savez(
        path,
        trans=m.trans,
        poses=m.poses.reshape(len(m.trans), -1),
        mocap_framerate=np.float64(20),
        motionloop_format=np.int64(version),
    )
    with pytest.raises(FormatError, match=match):
        Motion.load(path)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(mocap_framerate=np.str_("abc")), "frame rate, trans, poses and betas must be numbers"),
        (dict(mocap_framerate=np.array([20.0, 30.0])), "frame rate, trans, poses and betas must be numbers"),
        (dict(betas=np.array(["a", "b"])), "frame rate, trans, poses and betas must be numbers"),
        (dict(trans=np.zeros((0, 3)), poses=np.zeros((0, 72))), "the clip has no frames"),
    ],
)
def test_mutated_fields_give_one_line_errors(tmp_path, change, match):
    m = random_motion(np.random.default_rng(4))
    path = m.save(tmp_path / "ok.npz")
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    data.update(change)
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(FormatError, match=f"bad.npz: {match}"):
        Motion.load(tmp_path / "bad.npz")


def test_a_text_file_named_npz_is_not_advised_to_allow_pickle(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello\n")
    with pytest.raises(FormatError, match="text.npz: unreadable npz") as e:
        Motion.load(path)
    assert "allow_pickle" not in str(e.value) and "pickle.load" not in str(e.value)
