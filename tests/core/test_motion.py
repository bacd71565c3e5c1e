"""Property tests of motionloop/motion.py: every validation error of `Motion`, every public
method, the clip file format (2, and 1 read as pelvis position), and the clip-set helpers."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.errors import FormatError, MotionloopError, MotionValidationError
from motionloop.motion import (
    FORMAT_VERSION,
    FPS_RANGE,
    MAX_ABS_BETA,
    MAX_DISTANCE_M,
    NUM_BETAS,
    Motion,
    clip_paths,
    load_clips,
    load_clips_skipping,
    save_clips,
)


def make_motion(rng: np.random.Generator, T: int = 12, fps: float = 30.0, **kw) -> Motion:
    """Random poses (angles up to ~2 rad, some past pi), a pelvis wandering near (1, 2, 0.9), random betas."""
    kw.setdefault("betas", rng.normal(0, 1, NUM_BETAS))
    return Motion(
        trans=np.array([1.0, 2.0, 0.9]) + np.cumsum(rng.normal(0, 0.02, (T, 3)), axis=0),
        poses=rng.normal(0, 1.2, (T, sk.NUM_JOINTS, 3)),
        fps=fps,
        **kw,
    )


def valid_fields(T: int = 5) -> dict:
    return dict(trans=np.zeros((T, 3)), poses=np.zeros((T, sk.NUM_JOINTS, 3)), fps=30.0)


def file_fields(m: Motion, path: Path) -> dict:
    """The arrays `save` writes, read back raw."""
    with np.load(m.save(path)) as f:
        return {k: f[k] for k in f.files}


def write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def matrices(poses: np.ndarray) -> np.ndarray:
    return rot.aa_to_mat(np.asarray(poses, dtype=np.float64))


# ------------------------------------------------------------------------------- validation
def _nan_at(shape, index, value=np.nan):
    a = np.zeros(shape)
    a[index] = value
    return a


VALIDATION_CASES = [
    # (field changes, the exact start of the message or a regex it must match)
    (dict(trans=[["a", "b", "c"]] * 5), r"Motion\.trans: not a numeric array \(could not convert"),
    (dict(poses=object()), r"Motion\.poses: not a numeric array"),
    (dict(betas="tall"), r"Motion\.betas: not a numeric array"),
    (dict(trans=np.zeros((5, 2))), r"Motion\.trans: shape \(5, 2\), expected \(T, 3\)"),
    (dict(trans=np.zeros(3)), r"Motion\.trans: shape \(3,\), expected \(T, 3\)"),
    (dict(poses=np.zeros((5, 72))), r"Motion\.poses: shape \(5, 72\), expected \(T, 24, 3\)"),
    (dict(poses=np.zeros((5, 22, 3))), r"Motion\.poses: shape \(5, 22, 3\), expected \(T, 24, 3\)"),
    (dict(betas=np.zeros(16)), r"Motion\.betas: shape \(16,\), expected \(10\)"),
    (dict(trans=_nan_at((5, 3), (3, 2))), r"Motion\.trans: non-finite value at index \(3, 2\)"),
    (dict(poses=_nan_at((5, 24, 3), (4, 17, 1), np.inf)), r"Motion\.poses: non-finite value at index \(4, 17, 1\)"),
    (dict(betas=_nan_at((10,), (7,), -np.inf)), r"Motion\.betas: non-finite value at index \(7,\)"),
    (dict(trans=np.zeros((6, 3))), r"Motion: trans has 6 frames but poses has 5"),
    (dict(trans=np.zeros((0, 3)), poses=np.zeros((0, 24, 3))), r"Motion: zero frames"),
    (dict(fps="fast"), r"Motion\.fps: 'fast' is not a number"),
    (dict(fps=None), r"Motion\.fps: None is not a number"),
    (dict(fps=0), r"Motion\.fps: must be > 0, got 0"),
    (dict(fps=-30.0), r"Motion\.fps: must be > 0, got -30"),
    (dict(fps=float("nan")), r"Motion\.fps: must be > 0, got nan"),
    (dict(fps=float("inf")), r"Motion\.fps: must be > 0, got inf"),
    (dict(fps=0.5), r"Motion\.fps: 0\.5 is not a plausible frame rate \(1 to 10000\)"),
    (dict(fps=2e4), r"Motion\.fps: 20000 is not a plausible frame rate \(1 to 10000\)"),
    (dict(trans=np.full((5, 3), 2e4)), r"Motion\.trans: the pelvis is 2e\+04 m from the origin .*metres expected"),
    (dict(betas=np.full(10, -101.0)), r"Motion\.betas: \|beta\| up to 101 \(at most 100\)"),
]


@pytest.mark.parametrize("changes, pattern", VALIDATION_CASES, ids=[p[:40] for _, p in VALIDATION_CASES])
def test_every_validation_error_names_the_field_and_the_problem(changes, pattern):
    with pytest.raises(MotionValidationError) as e:
        Motion(**{**valid_fields(), **changes})
    assert re.match(pattern, str(e.value)), str(e.value)
    assert "\n" not in str(e.value)
    assert isinstance(e.value, MotionloopError)


def test_validation_messages_name_the_source():
    with pytest.raises(MotionValidationError, match=r"^Motion\.fps \(source 'walk\.npz'\): must be > 0"):
        Motion(**{**valid_fields(), "fps": 0.0}, source="walk.npz")
    with pytest.raises(MotionValidationError, match=r"^Motion \(source 'x'\): zero frames"):
        Motion(trans=np.zeros((0, 3)), poses=np.zeros((0, 24, 3)), fps=30.0, source="x")


def test_plausibility_bounds_are_inclusive():
    T = 3
    fields = valid_fields(T)
    for fps in FPS_RANGE:
        assert Motion(**{**fields, "fps": fps}).fps == fps
    far = np.zeros((T, 3))
    far[1, 0] = -MAX_DISTANCE_M
    assert Motion(**{**fields, "trans": far}).trans[1, 0] == -MAX_DISTANCE_M
    assert Motion(**fields, betas=np.full(NUM_BETAS, MAX_ABS_BETA)).betas.max() == MAX_ABS_BETA
    assert Motion(**valid_fields(1)).num_frames == 1  # a single frame is a clip


def test_fields_are_float32_read_only_copies_and_the_dataclass_is_frozen():
    trans, poses, betas = np.zeros((4, 3)), np.zeros((4, 24, 3)), np.ones(10)
    m = Motion(trans=trans, poses=poses, fps=np.float32(25), betas=betas, source=Path("a/b.npz"))
    for name in ("trans", "poses", "betas"):
        a = getattr(m, name)
        assert a.dtype == np.float32 and not a.flags.writeable
        with pytest.raises(ValueError):
            a[0] = 1.0
    trans[0, 0] = 5.0  # the caller's array is not shared
    assert m.trans[0, 0] == 0.0
    assert type(m.fps) is float and m.fps == 25.0
    assert m.source == str(Path("a/b.npz"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.fps = 30.0
    np.testing.assert_array_equal(Motion(**valid_fields()).betas, np.zeros(10, np.float32))  # default body


@pytest.mark.parametrize(
    "label, stored", [(None, None), ("", None), ("walk", "walk"), (np.str_("run"), "run"), (7, "7")]
)
def test_label_is_a_string_or_none(label, stored):
    m = Motion(**valid_fields(), label=label)
    assert m.label == stored and (stored is None or type(m.label) is str)


def test_motions_compare_by_identity():
    m = Motion(**valid_fields())
    assert m == m and m != Motion(**valid_fields())
    assert len({m, m}) == 1


# ------------------------------------------------------------------------------------- views
def test_num_frames_and_duration():
    m = make_motion(np.random.default_rng(0), T=31, fps=30.0)
    assert m.num_frames == 31
    assert m.duration == pytest.approx(1.0, abs=1e-15)
    assert Motion(**valid_fields(1)).duration == 0.0


def test_replace_makes_a_validated_copy():
    m = make_motion(np.random.default_rng(1), label="walk")
    r = m.replace(label="run", fps=60.0)
    assert (r.label, r.fps, m.label, m.fps) == ("run", 60.0, "walk", 30.0)
    np.testing.assert_array_equal(r.trans, m.trans)
    np.testing.assert_array_equal(r.poses, m.poses)
    assert not r.trans.flags.writeable
    with pytest.raises(MotionValidationError, match="Motion.fps"):
        m.replace(fps=0.0)
    with pytest.raises(MotionValidationError, match="trans has 3 frames"):
        m.replace(trans=m.trans[:3])


def test_joints_and_fk_are_forward_kinematics_of_the_clip():
    rng = np.random.default_rng(2)
    m = make_motion(rng)
    j = m.joints()
    pos, glob = m.fk()
    assert j.shape == pos.shape == (m.num_frames, 24, 3) and glob.shape == (m.num_frames, 24, 3, 3)
    np.testing.assert_allclose(j, sk.fk(m.poses, m.trans), atol=1e-12)
    np.testing.assert_allclose(pos, j, atol=1e-12)
    np.testing.assert_allclose(pos[:, sk.PELVIS], m.trans, atol=1e-7)  # trans is the pelvis position
    np.testing.assert_allclose(glob[:, 0], matrices(m.poses[:, 0]), atol=1e-12)
    np.testing.assert_allclose(sk.local_rotations(glob), matrices(m.poses), atol=1e-12)
    # other rest offsets: bones take their lengths
    offsets = sk.REST_OFFSETS * 1.3
    bones = [(j, p) for j, p in enumerate(sk.PARENTS) if p >= 0]
    big = m.joints(offsets)
    np.testing.assert_allclose(m.fk(offsets)[0], big, atol=1e-12)
    for child, parent in bones:
        np.testing.assert_allclose(
            np.linalg.norm(big[:, child] - big[:, parent], axis=-1), np.linalg.norm(offsets[child]), atol=1e-6
        )


def test_slice_keeps_frames_and_metadata():
    m = make_motion(np.random.default_rng(3), T=20, label="jump", source="s")
    s = m.slice(5, 12)
    assert s.num_frames == 7 and (s.fps, s.label, s.source) == (m.fps, m.label, m.source)
    np.testing.assert_array_equal(s.trans, m.trans[5:12])
    np.testing.assert_array_equal(s.poses, m.poses[5:12])
    np.testing.assert_array_equal(s.betas, m.betas)
    np.testing.assert_array_equal(m.slice(-3, 100).trans, m.trans[-3:])  # Python slice semantics
    with pytest.raises(MotionValidationError, match="zero frames"):
        m.slice(4, 4)


# ---------------------------------------------------------------------------------- resample
@pytest.mark.parametrize("fps", [60.0, 45.0, 20.0, 15.0, 29.0, 7.3, 120.0])
def test_resample_frame_count_duration_and_endpoints(fps):
    m = make_motion(np.random.default_rng(4), T=31, fps=30.0)
    r = m.resample(fps)
    assert r.fps == fps and (r.label, r.source) == (m.label, m.source)
    np.testing.assert_array_equal(r.betas, m.betas)
    assert r.num_frames == int(np.floor(m.duration * fps + 1e-6)) + 1
    assert m.duration - 1.0 / fps < r.duration <= m.duration + 1e-12  # rounded down by < 1 new frame
    np.testing.assert_allclose(r.trans[0], m.trans[0], atol=1e-6)
    np.testing.assert_allclose(matrices(r.poses[0]), matrices(m.poses[0]), atol=1e-6)
    if (m.duration * fps) % 1 < 1e-9:  # the last frame lands on the old last frame
        np.testing.assert_allclose(r.trans[-1], m.trans[-1], atol=1e-6)
        np.testing.assert_allclose(matrices(r.poses[-1]), matrices(m.poses[-1]), atol=1e-6)


def test_resample_interpolates_linearly_and_by_slerp():
    m = make_motion(np.random.default_rng(5), T=11, fps=10.0)
    r = m.resample(20.0)
    assert r.num_frames == 21
    # even frames are the old ones; odd frames the midpoints
    np.testing.assert_allclose(r.trans[::2], m.trans, atol=1e-6)
    np.testing.assert_allclose(matrices(r.poses[::2]), matrices(m.poses), atol=1e-6)
    np.testing.assert_allclose(r.trans[1::2], 0.5 * (m.trans[:-1] + m.trans[1:]), atol=1e-6)
    for j in (0, 4, 18):
        ref = Slerp(np.arange(m.num_frames) / m.fps, Rotation.from_rotvec(m.poses[:, j].astype(np.float64)))
        np.testing.assert_allclose(matrices(r.poses[:, j]), ref(np.arange(r.num_frames) / r.fps).as_matrix(), atol=1e-6)


def test_resample_to_the_same_rate_or_of_one_frame():
    m = make_motion(np.random.default_rng(6))
    assert m.resample(30.0) is m
    assert m.resample(30.0 + 1e-12) is m
    one = m.slice(0, 1).resample(10.0)
    assert one.num_frames == 1 and one.fps == 10.0
    np.testing.assert_array_equal(one.poses, m.poses[:1])


@pytest.mark.parametrize(
    "fps, error", [(0.0, "must be > 0"), (-5.0, "must be > 0"), (float("nan"), "must be > 0"), (0.5, "plausible")]
)
def test_resample_rejects_bad_rates(fps, error):
    with pytest.raises(MotionValidationError, match=error):
        make_motion(np.random.default_rng(7)).resample(fps)


# ------------------------------------------------------------------------------- save / load
def test_save_load_round_trip_is_exact(tmp_path):
    m = make_motion(np.random.default_rng(8), T=17, fps=29.97, label="kick", source="mocap/a.bvh")
    path = m.save(tmp_path / "deep" / "dir" / "a.npz")  # parent directories are created
    assert path == tmp_path / "deep" / "dir" / "a.npz"
    back = Motion.load(path)
    for name in ("trans", "poses", "betas"):
        np.testing.assert_array_equal(getattr(back, name), getattr(m, name), err_msg=name)
    assert (back.fps, back.label, back.source) == (m.fps, m.label, m.source)
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.npz"]  # no temporary file left


def test_saved_file_is_format_2_amass_layout(tmp_path):
    m = make_motion(np.random.default_rng(9), label=None)
    raw = file_fields(m, tmp_path / "c.npz")
    assert set(raw) == {"trans", "poses", "betas", "gender", "mocap_framerate", "label", "source", "motionloop_format"}
    assert int(raw["motionloop_format"]) == FORMAT_VERSION == 2
    np.testing.assert_allclose(raw["trans"], m.trans - sk.SMPL_PELVIS_REST, atol=1e-12)
    np.testing.assert_array_equal(raw["poses"], m.poses.reshape(m.num_frames, 72))
    assert str(raw["gender"]) == "neutral" and str(raw["label"]) == "" and float(raw["mocap_framerate"]) == 30.0


def test_label_none_round_trips_and_an_empty_source_becomes_the_path(tmp_path):
    m = make_motion(np.random.default_rng(10), label=None, source="")
    back = Motion.load(m.save(tmp_path / "x.npz"))
    assert back.label is None
    assert back.source == str(tmp_path / "x.npz")


def test_save_refuses_other_suffixes_and_writes_nothing(tmp_path):
    m = make_motion(np.random.default_rng(11))
    with pytest.raises(FormatError, match=r"a\.npy: clips are saved as \.npz"):
        m.save(tmp_path / "a.npy")
    assert list(tmp_path.iterdir()) == []


def test_format_1_file_reads_trans_as_the_pelvis_position(tmp_path):
    m = make_motion(np.random.default_rng(12), label="wave", source="old")
    raw = file_fields(m, tmp_path / "v2.npz")
    raw.update(trans=m.trans, motionloop_format=np.int64(1))  # format 1 stored the pelvis position
    back = Motion.load(write_npz(tmp_path / "v1.npz", **raw))
    np.testing.assert_array_equal(back.trans, m.trans)
    np.testing.assert_array_equal(back.poses, m.poses)
    assert (back.label, back.source, back.fps) == ("wave", "old", m.fps)


def test_foreign_amass_files(tmp_path):
    """No motionloop_format: AMASS trans (+ the rest pelvis), SMPL-H poses cut to the body, the
    alternative frame-rate keys, betas truncated / padded to 10, source = the path."""
    rng = np.random.default_rng(13)
    T = 6
    trans, body = rng.normal(size=(T, 3)), rng.normal(size=(T, 66))
    smplh = np.concatenate([body, rng.normal(size=(T, 90))], axis=1)  # 156
    cases = [
        dict(poses=smplh, mocap_framerate=np.float64(120), betas=rng.normal(size=16)),
        dict(poses=smplh, mocap_frame_rate=np.array(60.0), betas=rng.normal(size=3)),
        dict(poses=np.concatenate([body, np.ones((T, 6))], 1), fps=np.float32(50)),
    ]
    for i, extra in enumerate(cases):
        path = write_npz(tmp_path / f"f{i}.npz", trans=trans, **extra)
        m = Motion.load(path)
        np.testing.assert_allclose(m.trans, trans + sk.SMPL_PELVIS_REST, atol=1e-6)
        np.testing.assert_allclose(m.poses[:, :22].reshape(T, 66), body, atol=1e-6)
        hands = np.zeros((T, 2, 3)) if extra["poses"].shape[1] == 156 else np.ones((T, 2, 3))
        np.testing.assert_array_equal(m.poses[:, 22:], hands)
        assert m.fps == float(extra.get("mocap_framerate", extra.get("mocap_frame_rate", extra.get("fps"))))
        betas = np.zeros(10)
        if "betas" in extra:
            b = extra["betas"][:10]
            betas[: len(b)] = b
        np.testing.assert_allclose(m.betas, betas, atol=1e-6)
        assert m.source == str(path) and m.label is None


def test_foreign_file_with_a_label_keeps_it(tmp_path):
    path = write_npz(
        tmp_path / "l.npz", trans=np.zeros((2, 3)), poses=np.zeros((2, 72)), fps=np.float64(30), label=np.str_("sit")
    )
    assert Motion.load(path).label == "sit"


def _good_arrays(T: int = 4) -> dict:
    return dict(
        trans=np.zeros((T, 3)), poses=np.zeros((T, 72)), mocap_framerate=np.float64(30), motionloop_format=np.int64(2)
    )


LOAD_ERRORS = [
    # (arrays replacing / removed from a good file, error type, message after "<path>: ")
    (
        dict(trans=None),
        FormatError,
        r"missing array 'trans' \(has \['mocap_framerate', 'motionloop_format', 'poses'\]\)",
    ),
    (dict(poses=None), FormatError, r"missing array 'poses'"),
    (dict(poses=np.zeros(72)), FormatError, r"poses has shape \(72,\), expected \(T, 72\) SMPL or \(T, 156\) SMPL-H"),
    (dict(poses=np.zeros((4, 63))), FormatError, r"poses has shape \(4, 63\)"),
    (dict(poses=np.zeros((4, 70))), FormatError, r"poses has shape \(4, 70\)"),
    (dict(motionloop_format=np.str_("two")), FormatError, r"motionloop_format is not an integer"),
    (dict(motionloop_format=np.int64(3)), FormatError, r"motionloop_format 3 \(this motionloop reads 1\.\.2; a newer"),
    (dict(motionloop_format=np.int64(0)), FormatError, r"motionloop_format 0"),
    (dict(trans=np.zeros((0, 3)), poses=np.zeros((0, 72))), FormatError, r"the clip has no frames"),
    (dict(mocap_framerate=None), FormatError, r"no frame rate \(mocap_framerate\)"),
    (dict(mocap_framerate=np.str_("fast")), FormatError, r"frame rate, trans, poses and betas must be numbers"),
    (dict(trans=np.array([["a", "b", "c"]] * 4)), FormatError, r"frame rate, trans, poses and betas must be numbers"),
    # a file that reads but is not a valid Motion: the validation error, prefixed with the path
    (dict(mocap_framerate=np.float64(0.0)), MotionValidationError, r"Motion\.fps \(source '.*'\): must be > 0"),
    (
        dict(trans=np.zeros((5, 3))),
        MotionValidationError,
        r"Motion \(source '.*'\): trans has 5 frames but poses has 4",
    ),
    (dict(trans=np.full((4, 3), np.nan)), MotionValidationError, r"Motion\.trans .*non-finite value at index \(0, 0\)"),
    (dict(betas=np.full(10, 1e3)), MotionValidationError, r"Motion\.betas .*\|beta\| up to 1e\+03"),
]


@pytest.mark.parametrize("changes, error, pattern", LOAD_ERRORS, ids=[p[:40] for _, _, p in LOAD_ERRORS])
def test_every_load_error_names_the_file_and_the_problem(tmp_path, changes, error, pattern):
    arrays = {**_good_arrays(), **changes}
    path = write_npz(tmp_path / "bad.npz", **{k: v for k, v in arrays.items() if v is not None})
    with pytest.raises(error) as e:
        Motion.load(path)
    assert type(e.value) is error
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and re.match(pattern, msg[len(f"{path}: ") :]), msg
    assert "\n" not in msg


def test_load_refuses_missing_files_other_suffixes_and_damaged_npz(tmp_path):
    with pytest.raises(FormatError, match=r"nope\.npz: no such file"):
        Motion.load(tmp_path / "nope.npz")
    (tmp_path / "a.bvh").write_text("HIERARCHY\n")
    with pytest.raises(FormatError, match=r"a\.bvh: not an \.npz clip \(use `motionloop data import`"):
        Motion.load(tmp_path / "a.bvh")
    good = make_motion(np.random.default_rng(14)).save(tmp_path / "good.npz")
    blob = good.read_bytes()
    for name, data in [("empty", b""), ("text", b"not a zip\n"), ("cut", blob[: len(blob) // 2])]:
        bad = tmp_path / f"{name}.npz"
        bad.write_bytes(data)
        with pytest.raises(FormatError, match=rf"{name}\.npz: unreadable npz \(") as e:
            Motion.load(bad)
        assert "allow_pickle" not in str(e.value)
    # an object array (would need pickle)
    np.savez(tmp_path / "obj.npz", trans=np.array([{"a": 1}], dtype=object), poses=np.zeros((1, 72)))
    with pytest.raises(FormatError, match=r"obj\.npz: unreadable npz \(not an array file \(it would need pickle"):
        Motion.load(tmp_path / "obj.npz")


# --------------------------------------------------------------------------------- clip sets
def test_clip_paths_sorted_npz_only_hidden_skipped(tmp_path):
    rng = np.random.default_rng(15)
    for name in ("b.npz", "a.npz", "c.npz"):
        make_motion(rng).save(tmp_path / name)
    (tmp_path / ".a.123.tmp.npz").write_bytes(b"half written")  # what an interrupted atomic save would leave
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    make_motion(rng).save(tmp_path / "sub" / "z.npz")  # not recursive
    assert clip_paths(tmp_path) == [tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"]
    assert clip_paths(tmp_path / "b.npz") == [tmp_path / "b.npz"]
    assert clip_paths(str(tmp_path / "notes.txt")) == [tmp_path / "notes.txt"]  # a file is taken as given
    with pytest.raises(FormatError, match=r"missing: no such file or directory"):
        clip_paths(tmp_path / "missing")
    with pytest.raises(FormatError, match=r"sub2: directory holds no \.npz clips"):
        (tmp_path / "sub2").mkdir()
        clip_paths(tmp_path / "sub2")


def test_save_clips_and_load_clips_round_trip(tmp_path):
    rng = np.random.default_rng(16)
    motions = [make_motion(rng, T=3 + i, label=f"l{i}", source=f"s{i}") for i in range(3)]
    paths = save_clips(motions, tmp_path / "out")
    assert paths == [tmp_path / "out" / f"clip_{i:04d}.npz" for i in range(3)]
    back = load_clips(tmp_path / "out")
    assert [(b.num_frames, b.label, b.source) for b in back] == [(3, "l0", "s0"), (4, "l1", "s1"), (5, "l2", "s2")]
    for b, m in zip(back, motions):
        np.testing.assert_array_equal(b.poses, m.poses)
    named = save_clips(motions[:2], tmp_path / "named", names=["walk", "run"])
    assert [p.name for p in named] == ["walk.npz", "run.npz"]
    assert [m.label for m in load_clips(tmp_path / "named")] == ["l1", "l0"]  # sorted by name: run, walk
    assert [m.label for m in load_clips(named[0])] == ["l0"]
    with pytest.raises(ValueError, match="save_clips: 2 clips but 1 names"):
        save_clips(motions[:2], tmp_path / "x", names=["one"])


def test_load_clips_fails_on_the_first_bad_file(tmp_path):
    make_motion(np.random.default_rng(17)).save(tmp_path / "a.npz")
    (tmp_path / "b.npz").write_bytes(b"junk")
    with pytest.raises(FormatError, match=r"b\.npz: unreadable npz"):
        load_clips(tmp_path)


def test_load_clips_skipping_keeps_good_clips_and_names_each_bad_file(tmp_path):
    rng = np.random.default_rng(18)
    good = {name: make_motion(rng, label=name[0]) for name in ("a.npz", "c.npz", "e.npz")}
    for name, m in good.items():
        m.save(tmp_path / name)
    (tmp_path / "b.npz").write_bytes(b"junk")
    write_npz(tmp_path / "d.npz", **{**_good_arrays(), "mocap_framerate": np.float64(0)})  # MotionValidationError
    write_npz(tmp_path / "f.npz", poses=np.zeros((2, 72)))  # no trans
    clips, paths, problems = load_clips_skipping(tmp_path)
    assert paths == [tmp_path / n for n in ("a.npz", "c.npz", "e.npz")]
    assert [c.label for c in clips] == ["a", "c", "e"]
    for c, n in zip(clips, good):
        np.testing.assert_array_equal(c.trans, good[n].trans)
    assert len(problems) == 3
    for problem, bad in zip(problems, ("b.npz", "d.npz", "f.npz")):
        assert problem.startswith(f"{tmp_path / bad}: "), problem
        assert problem.count(str(tmp_path / bad)) >= 1 and not problem.startswith(f"{tmp_path / bad}: {tmp_path / bad}")
    assert "unreadable npz" in problems[0] and "must be > 0" in problems[1] and "missing array 'trans'" in problems[2]


def test_load_clips_skipping_still_raises_when_there_are_no_clips(tmp_path):
    with pytest.raises(FormatError, match="no such file or directory"):
        load_clips_skipping(tmp_path / "missing")
    with pytest.raises(FormatError, match=r"holds no \.npz clips"):
        load_clips_skipping(tmp_path)
    # a single bad file given directly: skipped, not raised
    (tmp_path / "only.npz").write_bytes(b"junk")
    assert load_clips_skipping(tmp_path / "only.npz")[:2] == ([], [])
