"""BVH import: parser, forward kinematics, rig recognition, units, up axis, errors, real files."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from motionloop import rotations as rot
from motionloop.data import rigs
from motionloop.data.bvh import bvh_to_source, read_bvh
from motionloop.errors import ConfigError, FormatError, RetargetError, UnknownNameError

ZXY = ("Zrotation", "Xrotation", "Yrotation")
ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition", *ZXY)
RIGIFY_MAP = Path(__file__).resolve().parents[2] / "assets" / "joint_maps" / "rigify.toml"
ASSIMP_DIR = Path("/usr/share/assimp/models/BVH")


# ------------------------------------------------------------------------------ fixture writing
def node(name, offset, *children, channels=None):
    """A BVH joint: name (None for an End Site), offset, children, channels (default by role)."""
    return (name, tuple(offset), list(children), channels)


def end(*offset):
    return node(None, offset)


def bvh_text(root, frames, frame_time=0.05) -> str:
    """BVH text of a hierarchy (root first) with `frames (T, C)` in file order."""
    out = ["HIERARCHY"]

    def emit(n, depth, is_root):
        name, off, kids, chans = n
        pad = "  " * depth
        if name is None:
            out.extend([f"{pad}End Site", f"{pad}{{", f"{pad}  OFFSET {off[0]:.6f} {off[1]:.6f} {off[2]:.6f}"])
            out.append(f"{pad}}}")
            return
        chans = chans if chans is not None else (ROOT_CHANNELS if is_root else ZXY)
        out.extend([f"{pad}{'ROOT' if is_root else 'JOINT'} {name}", f"{pad}{{"])
        out.append(f"{pad}  OFFSET {off[0]:.6f} {off[1]:.6f} {off[2]:.6f}")
        out.append(f"{pad}  CHANNELS {len(chans)} {' '.join(chans)}")
        for k in kids:
            emit(k, depth + 1, False)
        out.append(f"{pad}}}")

    emit(root, 0, True)
    frames = np.atleast_2d(frames)
    out += ["MOTION", f"Frames: {len(frames)}", f"Frame Time: {frame_time}"]
    out += [" ".join(f"{v:.6f}" for v in row) for row in frames]
    return "\n".join(out) + "\n"


def write(tmp_path, text, name="clip.bvh") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def joint_count(n) -> int:
    """Joints of a hierarchy, End Sites not counted."""
    return 0 if n[0] is None else 1 + sum(joint_count(k) for k in n[2])


# ---------------------------------------------------------------------- humanoid rigs (metres, y up)
def chain(*links, tip=None, extra=()):
    """Joints `(name, offset)` each the parent of the next; the last one gets an End Site at
    `tip` (if given) and the `extra` subtrees as children."""
    name, off = links[-1]
    out = node(name, off, *([end(*tip)] if tip is not None else []), *extra)
    for name, off in reversed(links[:-1]):
        out = node(name, off, out)
    return out


def both_sides(builder):
    """The subtrees `builder(side word, side letter, x sign)` of the left and the right side."""
    return [builder("Left", "L", 1.0), builder("Right", "R", -1.0)]


def cmu_rig():
    def leg(side, s, x):
        return chain(
            (f"{s}HipJoint", (0, 0, 0)),
            (f"{side}UpLeg", (x * 0.09, -0.05, 0)),
            (f"{side}Leg", (0, -0.42, 0)),
            (f"{side}Foot", (0, -0.42, 0)),
            (f"{side}ToeBase", (0, -0.06, 0.12)),
            tip=(0, 0, 0.05),
        )

    def arm(side, s, x):
        fingers = chain((f"{side}FingerBase", (0, 0, 0)), (f"{s}Fingers", (x * 0.05, 0, 0)), tip=(x * 0.04, 0, 0))
        thumb = chain((f"{s}Thumb", (0, 0, 0)), tip=(x * 0.03, 0, 0.03))
        return chain(
            (f"{side}Shoulder", (0, 0, 0)),
            (f"{side}Arm", (x * 0.17, 0.1, 0)),
            (f"{side}ForeArm", (x * 0.28, 0, 0)),
            (f"{side}Hand", (x * 0.25, 0, 0)),
            extra=(fingers, thumb),
        )

    head = chain(("Neck", (0, 0, 0)), ("Neck1", (0, 0.14, 0)), ("Head", (0, 0.1, 0)), tip=(0, 0.16, 0))
    spine = chain(
        ("LowerBack", (0, 0, 0)), ("Spine", (0, 0.12, 0)), ("Spine1", (0, 0.14, 0)), extra=(head, *both_sides(arm))
    )
    return node("Hips", (0, 0, 0), *both_sides(leg), spine)


def biovision_rig():
    def leg(side, s, x):
        return chain(
            (f"{side}Hip", (x * 0.09, -0.05, 0)),
            (f"{side}Knee", (0, -0.42, 0)),
            (f"{side}Ankle", (0, -0.42, 0)),
            (f"{side}Toes", (0, -0.06, 0.12)),
            tip=(0, 0, 0.05),
        )

    def arm(side, s, x):
        return chain(
            (f"{side}Collar", (x * 0.03, 0.2, 0)),
            (f"{side}Shoulder", (x * 0.15, 0, 0)),
            (f"{side}Elbow", (x * 0.28, 0, 0)),
            (f"{side}Wrist", (x * 0.25, 0, 0)),
            tip=(x * 0.15, 0, 0),
        )

    head = chain(("Neck", (0, 0.22, 0)), ("Head", (0, 0.1, 0)), tip=(0, 0.17, 0))
    spine = chain(("Ab", (0, 0.1, 0)), ("Chest", (0, 0.2, 0)), extra=(head, *both_sides(arm)))
    return node("Hips", (0, 0, 0), spine, *both_sides(leg))


def mixamo_rig():
    m = "mixamorig:"

    def leg(side, s, x):
        return chain(
            (f"{m}{side}UpLeg", (x * 0.09, -0.06, 0)),
            (f"{m}{side}Leg", (0, -0.42, 0)),
            (f"{m}{side}Foot", (0, -0.41, 0)),
            (f"{m}{side}ToeBase", (0, -0.06, 0.12)),
            (f"{m}{side}Toe_End", (0, 0, 0.05)),
            tip=(0, 0, 0.01),
        )

    def arm(side, s, x):
        fingers = [
            chain((f"{m}{side}Hand{f}1", (x * dx, 0, dz)), tip=(x * 0.03, 0, 0))
            for f, dx, dz in (("Thumb", 0.02, 0.03), ("Index", 0.09, 0.02), ("Middle", 0.095, 0.0))
        ]
        return chain(
            (f"{m}{side}Shoulder", (x * 0.06, 0.1, 0)),
            (f"{m}{side}Arm", (x * 0.12, 0, 0)),
            (f"{m}{side}ForeArm", (x * 0.27, 0, 0)),
            (f"{m}{side}Hand", (x * 0.25, 0, 0)),
            extra=fingers,
        )

    head = chain(
        (f"{m}Neck", (0, 0.15, 0)), (f"{m}Head", (0, 0.1, 0)), (f"{m}HeadTop_End", (0, 0.18, 0)), tip=(0, 0.01, 0)
    )
    spine = chain(
        (f"{m}Spine", (0, 0.1, 0)),
        (f"{m}Spine1", (0, 0.12, 0)),
        (f"{m}Spine2", (0, 0.13, 0)),
        extra=(head, *both_sides(arm)),
    )
    return node(f"{m}Hips", (0, 0, 0), spine, *both_sides(leg))


def _mapped(midline, sided):
    """An expected SMPL map: `midline` as is, `sided` patterns ({side}: Left/Right, {s}: L/R) on both sides."""
    out = dict(midline)
    for smpl, pattern in sided.items():
        out["left_" + smpl] = pattern.format(side="Left", s="L")
        out["right_" + smpl] = pattern.format(side="Right", s="R")
    return out


LIMBS = {
    "hip": "{side}UpLeg",
    "knee": "{side}Leg",
    "ankle": "{side}Foot",
    "foot": "{side}ToeBase",
    "collar": "{side}Shoulder",
    "shoulder": "{side}Arm",
    "elbow": "{side}ForeArm",
    "wrist": "{side}Hand",
}
EXPECTED = {
    "cmu": _mapped(
        {"pelvis": "Hips", "spine1": "Spine", "spine3": "Spine1", "neck": "Neck1", "head": "Head"},
        {**LIMBS, "hand": "{s}Fingers"},
    ),
    "biovision": _mapped(
        {"pelvis": "Hips", "spine1": "Ab", "spine3": "Chest", "neck": "Neck", "head": "Head"},
        {
            "hip": "{side}Hip",
            "knee": "{side}Knee",
            "ankle": "{side}Ankle",
            "foot": "{side}Toes",
            "collar": "{side}Collar",
            "shoulder": "{side}Shoulder",
            "elbow": "{side}Elbow",
            "wrist": "{side}Wrist",
            "hand": "{side}Wrist_end",
        },
    ),
    "mixamo": {
        k: "mixamorig:" + v
        for k, v in _mapped(
            {
                "pelvis": "Hips",
                "spine1": "Spine",
                "spine2": "Spine1",
                "spine3": "Spine2",
                "neck": "Neck",
                "head": "Head",
            },
            {**LIMBS, "hand": "{side}HandMiddle1"},
        ).items()
    },
}
RIGS = {"cmu": cmu_rig, "biovision": biovision_rig, "mixamo": mixamo_rig}
PELVIS_HEIGHT = 0.95  # metres, root position of the fixtures; their toe bases touch y = 0
STATURE = {  # head top (End Site or HeadTop joint) above the toe base, metres
    "cmu": PELVIS_HEIGHT + 0.12 + 0.14 + 0.14 + 0.10 + 0.16,
    "biovision": PELVIS_HEIGHT + 0.1 + 0.2 + 0.22 + 0.1 + 0.17,
    "mixamo": PELVIS_HEIGHT + 0.1 + 0.12 + 0.13 + 0.15 + 0.1 + 0.18,
}


def walk_frames(root, T=12, seed=0) -> np.ndarray:
    """`(T, C)` channel values (metres, y up): a forward walk of the root, random joint angles within 15 deg."""
    rng = np.random.default_rng(seed)
    angles = rng.uniform(-15, 15, size=(T, joint_count(root), 3))
    trans = np.stack([np.zeros(T), np.full(T, PELVIS_HEIGHT), 0.05 * np.arange(T)], axis=1)
    return np.concatenate([trans, angles.reshape(T, -1)], axis=1)


def variant(root, frames, scale=1.0, z_up=False):
    """The same motion in another unit (`scale` file units per metre) and, if `z_up`, turned by
    Q = Rx(+90 deg) into a z-up file: offsets and root positions become Q p and every ZXY
    rotation (a, b, c) becomes the YXZ rotation (-a, b, c), since Q Rz(a) Rx(b) Ry(c) Q^T = Ry(-a) Rx(b) Rz(c)."""

    def conv(p):
        p = np.asarray(p, dtype=np.float64) * scale
        return (p[0], -p[2], p[1]) if z_up else tuple(p)

    def walk(n, is_root):
        name, off, kids, _ = n
        if name is None:
            return end(*conv(off))
        chans = None
        if z_up:
            yxz = ("Yrotation", "Xrotation", "Zrotation")
            chans = ("Xposition", "Yposition", "Zposition", *yxz) if is_root else yxz
        return node(name, conv(off), *[walk(k, False) for k in kids], channels=chans)

    out = frames.copy()
    out[:, :3] = [conv(p) for p in frames[:, :3]]
    if z_up:
        out[:, 3::3] *= -1  # the first angle of every rotation triple
    return walk(root, True), out


# -------------------------------------------------------------------------- parser and FK by hand
def chain_text(frames):
    """Root A (6 channels, ZXY) -> B offset (0,1,0) ZXY -> C offset (0,2,0) ZXY -> End Site (1,0,0)."""
    return bvh_text(node("A", (0, 0, 0), node("B", (0, 1, 0), node("C", (0, 2, 0), end(1, 0, 0)))), frames)


def test_chain_positions_by_hand(tmp_path):
    frames = np.zeros((3, 12))
    frames[:, :3] = (1, 2, 3)
    frames[1, 3] = 90  # A: Rz(90)
    frames[1, 7] = 90  # B: Rx(90)
    frames[2, 3:6] = (90, 90, 0)  # A: Rz(90) @ Rx(90) -- the order of the channels
    clip = read_bvh(write(tmp_path, chain_text(frames)))
    assert clip.names == ("A", "B", "C", "C_end")
    assert clip.parents == (-1, 0, 1, 2)
    assert clip.end_site == (False, False, False, True)
    assert clip.fps == pytest.approx(20.0)
    pos = clip.positions()
    assert pos.shape == (3, 4, 3)
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [1, 3, 3], [1, 5, 3], [2, 5, 3]], atol=1e-9)
    # Rz(90) turns B's offset (0,1,0) to (-1,0,0);
    # Rz(90) Rx(90) turns C's (0,2,0) to (0,0,2) and C_end's (1,0,0) to (0,1,0)
    np.testing.assert_allclose(pos[1], [[1, 2, 3], [0, 2, 3], [0, 2, 5], [0, 3, 5]], atol=1e-9)
    # ZXY: Rx(90) first turns (0,1,0) to (0,0,1), which Rz keeps; XZY would give (-1,0,0)
    np.testing.assert_allclose(pos[2, 1], [1, 2, 4], atol=1e-9)


def test_channel_subsets_orders_and_translation_channels(tmp_path):
    c = node("C", (5, 5, 5), end(0, 1, 0), channels=("Yposition", "Xrotation"))
    root = node("A", (0, 0, 0), node("B", (0, 1, 0), c, channels=("Yrotation",)), channels=("Zposition", "Xposition"))
    frames = np.array([[2.0, 1.0, 90.0, 3.0, 90.0]])  # A z=2 x=1; B Ry(90); C y=3 (x, z from OFFSET), Rx(90)
    pos = read_bvh(write(tmp_path, bvh_text(root, frames))).positions()[0]
    # A at (1, 0, 2); B = A + (0,1,0); C = B + Ry(90) (5,3,5) = B + (5,3,-5);
    # C_end = C + Ry(90) Rx(90) (0,1,0) = C + Ry(90) (0,0,1) = C + (1,0,0)
    np.testing.assert_allclose(pos, [[1, 0, 2], [1, 1, 2], [6, 4, -3], [7, 4, -3]], atol=1e-9)


def test_root_offset_plus_displacement_channels(tmp_path):
    chain = node("B", (0, 1, 0), end(0, 1, 0))
    near_zero = np.array([[0.1, 0.0, -0.1, 0, 0, 0, 0, 0, 0]])
    absolute = np.array([[5.0, 0.9, 7.0, 0, 0, 0, 0, 0, 0]])
    as_delta = read_bvh(write(tmp_path, bvh_text(node("A", (0, 0.9, 0), chain), near_zero), "d.bvh")).positions()
    as_abs = read_bvh(write(tmp_path, bvh_text(node("A", (0, 0.9, 0), chain), absolute), "a.bvh")).positions()
    np.testing.assert_allclose(as_delta[0, 0], [0.1, 0.9, -0.1])  # channels add to the OFFSET
    np.testing.assert_allclose(as_abs[0, 0], [5.0, 0.9, 7.0])  # channels replace it


def test_tolerates_tabs_crlf_spacing_and_braces(tmp_path):
    frames = np.arange(24, dtype=float).reshape(2, 12)
    plain = chain_text(frames)
    messy = (
        plain.replace("  ", "\t")
        .replace("Frame Time: 0.05", "Frame Time:\t 0.05")
        .replace("Frames: 2", "Frames:2")
        .replace("ROOT A\n{", "ROOT A {")
        .replace("\n", "  \r\n\r\n")
    )
    a = read_bvh(write(tmp_path, plain, "plain.bvh"))
    b = read_bvh(write(tmp_path, messy, "messy.bvh"))
    assert a.names == b.names and a.channels == b.channels and a.frame_time == b.frame_time
    np.testing.assert_array_equal(a.frames, b.frames)


def test_joint_names_with_spaces(tmp_path):
    text = chain_text(np.zeros((1, 12)))
    text = text.replace("JOINT B", "JOINT Bip01 L Thigh").replace("JOINT C", "JOINT Bip01 L Calf")
    assert read_bvh(write(tmp_path, text)).names == ("A", "Bip01 L Thigh", "Bip01 L Calf", "Bip01 L Calf_end")


# --------------------------------------------------------------------------------- parse errors
def _lines(text):
    return text.splitlines()


def _error(tmp_path, text) -> str:
    path = write(tmp_path, text)
    with pytest.raises(FormatError) as err:
        read_bvh(path)
    assert str(path) in str(err.value)
    return str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(FormatError, match="no such BVH file"):
        read_bvh(tmp_path / "nope.bvh")


def test_not_a_bvh(tmp_path):
    assert "not a BVH" in _error(tmp_path, "ply\nformat ascii 1.0\n")
    assert "not a BVH" in _error(tmp_path, "")


def test_truncated_frame_count(tmp_path):
    lines = _lines(chain_text(np.zeros((5, 12))))
    msg = _error(tmp_path, "\n".join(lines[:-2]))
    assert "truncated" in msg and "Frames: 5" in msg and "3 frame lines" in msg


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path):
    n = 5000
    text = (
        "HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
        + "".join(f"JOINT b{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n" for i in range(n))
        + "}\n" * (n + 1)
        + "MOTION\nFrames: 1\nFrame Time: 0.05\n"
        + " ".join(["0"] * (6 + 3 * n))
        + "\n"
    )
    assert "nested more than 200 deep" in _error(tmp_path, text)


def test_huge_frame_count_is_refused_without_allocating(tmp_path):
    lines = _lines(chain_text(np.zeros((2, 12))))
    text = "\n".join(line if not line.startswith("Frames:") else "Frames: 99999999999" for line in lines)
    msg = _error(tmp_path, text)
    assert "Frames: 99999999999" in msg and "2 frame lines" in msg


def test_short_line_names_its_line(tmp_path):
    lines = _lines(chain_text(np.zeros((3, 12))))
    lines[-2] = " ".join(lines[-2].split()[:-1])
    msg = _error(tmp_path, "\n".join(lines))
    assert f":{len(lines) - 1}:" in msg and "11 values, expected 12" in msg


@pytest.mark.parametrize(
    ("token", "expected"), [("abc", "non-numeric value 'abc'"), ("nan", "NaN"), ("inf", "NaN or infinite")]
)
def test_bad_values_name_their_line(tmp_path, token, expected):
    lines = _lines(chain_text(np.zeros((3, 12))))
    lines[-1] = lines[-1].replace("0.000000", token, 1)
    msg = _error(tmp_path, "\n".join(lines))
    assert f":{len(lines)}:" in msg and expected in msg


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("Frame Time: 0.05", "Frame Time: 0", "Frame Time must be > 0"),
        ("Frame Time: 0.05", "Frame Time: -0.1", "Frame Time must be > 0"),
        ("Frames: 2", "Frames: 0", "zero frames"),
        ("Frames: 2", "Frame count: 2", "expected 'Frames: N'"),
        ("Zrotation", "Wrotation", "unknown channel 'Wrotation'"),
        ("OFFSET 0.000000 1.000000", "OFFSET 0.000000 one", "is not a number: 'one'"),
        ("JOINT C", "JOINT B", "duplicate joint name 'B'"),
    ],
)
def test_header_errors(tmp_path, old, new, expected):
    assert expected in _error(tmp_path, chain_text(np.zeros((2, 12))).replace(old, new, 1))


def test_hierarchy_cut_short(tmp_path):
    text = chain_text(np.zeros((2, 12)))
    assert "hierarchy ends" in _error(tmp_path, text[: text.index("JOINT C")])


# ------------------------------------------------------------------------- rigs, units, up axis
@pytest.mark.parametrize("family", list(RIGS))
def test_family_mapping(tmp_path, family):
    root = RIGS[family]()
    src = bvh_to_source(write(tmp_path, bvh_text(root, walk_frames(root))))
    assert src.smpl_map == EXPECTED[family]
    assert src.meta["family"] == family


@pytest.mark.parametrize(
    ("family", "scale", "z_up", "unit", "up"),
    [
        ("cmu", 100.0, False, "cm", "+y"),
        ("biovision", 1 / 0.0254, False, "inch", "+y"),
        ("mixamo", 1.0, True, "m", "+z"),
        ("cmu", 1 / rigs.UNITS["cmu"], False, "cmu", "+y"),
        ("biovision", 1000.0, True, "mm", "+z"),
    ],
)
def test_units_and_up_axis(tmp_path, family, scale, z_up, unit, up):
    root, frames = RIGS[family](), walk_frames(RIGS[family]())
    ref = bvh_to_source(write(tmp_path, bvh_text(root, frames), "ref.bvh"))  # metres, y up
    src = bvh_to_source(write(tmp_path, bvh_text(*variant(root, frames, scale, z_up)), "v.bvh"))
    assert (src.meta["unit"], src.meta["up"]) == (unit, up)
    assert src.meta["unit_detected"] and src.meta["up_detected"]
    np.testing.assert_allclose(src.positions, ref.positions, atol=1e-5)
    assert src.meta["height_m"] == pytest.approx(STATURE[family], abs=0.04)  # joint angles up to 15 deg
    # world: z up, the pelvis where the root channels put it, forward (file +z) along -y
    np.testing.assert_allclose(ref.joint("pelvis")[:, 2], PELVIS_HEIGHT, atol=1e-9)
    np.testing.assert_allclose(ref.joint("pelvis")[:, 1], -0.05 * np.arange(len(frames)), atol=1e-9)


def test_explicit_unit_and_up_override_detection(tmp_path):
    root = cmu_rig()
    path = write(tmp_path, bvh_text(*variant(root, walk_frames(root), 100.0)))
    auto = bvh_to_source(path)
    forced = bvh_to_source(path, unit="mm", up="y")
    assert forced.meta["unit"] == "mm" and not forced.meta["unit_detected"] and not forced.meta["up_detected"]
    np.testing.assert_allclose(forced.positions, auto.positions / 10.0, atol=1e-9)
    turned = bvh_to_source(path, up="-z")  # wrong on purpose: must still be a rotation of the right answer
    assert turned.meta["up"] == "-z"

    def dist_to_root(src):
        return np.linalg.norm(src.positions[0, 1:] - src.positions[0, :1], axis=-1)

    np.testing.assert_allclose(dist_to_root(turned), dist_to_root(auto), atol=1e-9)
    with pytest.raises(UnknownNameError, match="valid: auto, "):
        bvh_to_source(path, unit="furlong")
    with pytest.raises(UnknownNameError, match=r"\+x"):
        bvh_to_source(path, up="w")


@pytest.mark.parametrize("up", rigs.UP_AXES)
def test_up_rotation_is_proper_and_sends_up_to_z(up):
    r = rigs.up_rotation(up)
    u = np.zeros(3)
    u["xyz".index(up[1])] = 1.0 if up[0] == "+" else -1.0
    assert np.linalg.det(r) == pytest.approx(1.0)
    np.testing.assert_allclose(r @ u, [0, 0, 1], atol=1e-12)
    np.testing.assert_array_equal(r, np.round(r))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mixamorig:LeftUpLeg", ("L", "upleg")),
        ("LHipJoint", ("L", "hipjoint")),
        ("thigh.L", ("L", "thigh")),
        ("Bip01 L Thigh", ("L", "thigh")),
        ("Character1_RightForeArm", ("R", "forearm")),
        ("upper_arm_r", ("R", "upperarm")),
        ("DEF-shin.R", ("R", "shin")),
        ("lShldr", ("L", "shldr")),
        ("LEFT_KNEE", ("L", "knee")),
        ("leftfoot", ("L", "foot")),
        ("L_Arm_R", (None, "arm")),
        ("Spine1", (None, "spine1")),
        ("spine.001", (None, "spine001")),
        ("Hips", (None, "hips")),
    ],
)
def test_split_name(name, expected):
    assert rigs.split_name(name) == expected


def test_biped_names_with_prefix_and_spaces(tmp_path):
    def leg(side, s, x):
        return chain(
            (f"Bip01 {s} Thigh", (x * 0.09, -0.05, 0)),
            (f"Bip01 {s} Calf", (0, -0.42, 0)),
            (f"Bip01 {s} Foot", (0, -0.42, 0)),
            (f"Bip01 {s} Toe0", (0, -0.06, 0.12)),
            tip=(0, 0, 0.05),
        )

    def arm(side, s, x):
        return chain(
            (f"Bip01 {s} Clavicle", (x * 0.03, 0.2, 0)),
            (f"Bip01 {s} UpperArm", (x * 0.15, 0, 0)),
            (f"Bip01 {s} Forearm", (x * 0.28, 0, 0)),
            (f"Bip01 {s} Hand", (x * 0.25, 0, 0)),
            tip=(x * 0.1, 0, 0),
        )

    head = chain(("Bip01 Neck", (0, 0.22, 0)), ("Bip01 Head", (0, 0.1, 0)), tip=(0, 0.17, 0))
    spine = chain(("Bip01 Spine", (0, 0.1, 0)), ("Bip01 Spine1", (0, 0.2, 0)), extra=(head, *both_sides(arm)))
    root = node("Bip01", (0, 0, 0), node("Bip01 Pelvis", (0, 0, 0), spine, *both_sides(leg)))
    src = bvh_to_source(write(tmp_path, bvh_text(root, walk_frames(root))))
    m = src.smpl_map
    assert src.meta["family"] == "biped"
    assert m["pelvis"] == "Bip01 Pelvis" and m["spine3"] == "Bip01 Spine1" and m["head"] == "Bip01 Head"
    left_arm = ("Bip01 L Clavicle", "Bip01 L UpperArm", "Bip01 L Hand")
    assert (m["left_collar"], m["left_shoulder"], m["left_wrist"]) == left_arm
    assert (m["right_hip"], m["right_knee"], m["right_foot"]) == ("Bip01 R Thigh", "Bip01 R Calf", "Bip01 R Toe0")


def spine_rig(spine_lengths):
    """Topology with a spine chain of the given bone lengths between Hips and Neck; collars hang
    from the last spine joint. Returns auto_map's result."""
    names, parents, lengths = ["Hips"], [-1], [0.0]

    def add(name, parent, length):
        names.append(name)
        parents.append(parent)
        lengths.append(length)
        return len(names) - 1

    for side in ("Left", "Right"):
        add(f"{side}Knee", add(f"{side}UpLeg", 0, 0.1), 0.4)
    top = 0
    for k, length in enumerate(spine_lengths):
        top = add(f"S{k}", top, length)
    add("Head", add("Neck", top, 0.2), 0.1)
    for side in ("Left", "Right"):
        add(f"{side}ForeArm", add(f"{side}Arm", add(f"{side}Shoulder", top, 0.15), 0.1), 0.28)
    return rigs.auto_map(names, parents, [False] * len(names), np.array(lengths))


@pytest.mark.parametrize(
    ("lengths", "expected"),
    [
        (
            [0.1, 0.1, 0.1, 0.1, 0.1],
            {"spine1": "S1", "spine2": "S3", "spine3": "S4"},
        ),  # SMPL's 38 % and 81 % of the way
        ([0.02, 0.12, 0.16], {"spine1": "S1", "spine3": "S2"}),  # S0 hugs the pelvis: unused; S1 (47 %) is spine1
        ([0.02, 0.2, 0.1], {"spine2": "S1", "spine3": "S2"}),  # S1 at 69 %: nearer spine2's 81 %
        ([0.3], {"spine3": "S0"}),
    ],
)
def test_spine_distribution(lengths, expected):
    m = spine_rig(lengths).smpl_map
    assert {k: v for k, v in m.items() if k.startswith("spine")} == expected
    assert (m["neck"], m["left_collar"], m["left_shoulder"]) == ("Neck", "LeftShoulder", "LeftArm")


# ----------------------------------------------------------------------------------- joint maps
def anonymous_rig():
    """The CMU fixture with meaningless joint names j0, j1, ... (End Sites keep theirs)."""
    counter = iter(range(1000))

    def rename(n):
        name, off, kids, chans = n
        return n if name is None else (f"j{next(counter)}", off, [rename(k) for k in kids], chans)

    return rename(cmu_rig())


def test_unmappable_rig_lists_missing_and_available(tmp_path):
    root = anonymous_rig()
    with pytest.raises(RetargetError) as err:
        bvh_to_source(write(tmp_path, bvh_text(root, walk_frames(root))))
    msg = str(err.value)
    assert "left_hip" in msg and "right_wrist" in msg and "neck or head" in msg
    assert "j0, j1, j2" in msg and "--joint-map" in msg
    assert "pelvis," not in msg.split("Rig joints")[0]  # the root is still taken as the pelvis


def test_joint_map_rescues_unmappable_rig(tmp_path):
    root = anonymous_rig()
    cmu = read_bvh(write(tmp_path, bvh_text(cmu_rig(), walk_frames(root)), "cmu.bvh"))
    anon = read_bvh(path := write(tmp_path, bvh_text(root, walk_frames(root)), "anon.bvh"))
    rename = dict(zip(cmu.names, anon.names))
    joints = {k: rename[v] for k, v in EXPECTED["cmu"].items()}
    toml = write(tmp_path, "[joints]\n" + "".join(f'{k} = "{v}"\n' for k, v in joints.items()), "map.toml")
    src = bvh_to_source(path, joint_map=toml)
    assert src.smpl_map == joints and src.meta["joint_map"] == str(toml)
    np.testing.assert_allclose(src.positions, bvh_to_source(tmp_path / "cmu.bvh").positions)


def test_joint_map_overrides_and_drops(tmp_path):
    root = cmu_rig()
    path = write(tmp_path, bvh_text(root, walk_frames(root)))
    toml = write(tmp_path, '[joints]\nneck = "neck"\nleft_hand = ""\nspine2 = "Spine1"\n', "map.toml")
    m = bvh_to_source(path, joint_map=toml).smpl_map
    assert m["neck"] == "Neck"  # exact name differs only in case: matched
    assert "left_hand" not in m and m["right_hand"] == "RFingers"
    assert m["spine2"] == "Spine1" and "spine3" not in m  # the user's use of Spine1 replaces the automatic one


@pytest.mark.parametrize(
    ("text", "error", "expected"),
    [
        ('[joints]\nleft_hipp = "LeftUpLeg"\n', UnknownNameError, "left_hipp'; valid: head, left_ankle"),
        ('[joints]\nleft_hip = "LeftThigh"\n', UnknownNameError, "'LeftThigh'; valid: Head, Head_end, Hips, LFingers"),
        ("[joints]\nleft_hip = 3\n", ConfigError, "left_hip must be a joint name"),
        ('[bones]\nleft_hip = "LeftUpLeg"\n', ConfigError, "needs a [joints] table"),
        ("[joints\n", FormatError, "invalid TOML"),
    ],
)
def test_bad_joint_maps(tmp_path, text, error, expected):
    root = cmu_rig()
    path = write(tmp_path, bvh_text(root, walk_frames(root)))
    toml = write(tmp_path, text, "map.toml")
    with pytest.raises(error) as err:
        bvh_to_source(path, joint_map=toml)
    assert expected in str(err.value) and str(toml) in str(err.value)


def test_missing_joint_map_file(tmp_path):
    root = cmu_rig()
    with pytest.raises(FormatError, match="no such joint map"):
        bvh_to_source(write(tmp_path, bvh_text(root, walk_frames(root))), joint_map=tmp_path / "none.toml")


def test_shipped_rigify_map_is_valid():
    joints = rigs.load_joint_map(RIGIFY_MAP)
    assert set(rigs.REQUIRED) <= set(joints)


# ------------------------------------------------------------------------------------ real files
REAL = [
    ("assimp", "01_01.bvh", "cmu", "cmu"),
    ("assimp", "01_03.bvh", "cmu", "cmu"),
    ("assimp", "Boxing_Toes.bvh", "biovision", "cm"),
    ("bvhtools", "test.bvh", "cmu", "cm"),
    ("bvhtools", "test2.bvh", "cmu", "cm"),
    ("bvhtools", "test3.bvh", "blender", "m"),
]


def real_path(request, where: str, name: str) -> Path:
    if where == "bvhtools":
        return request.getfixturevalue("bvhtools_dir") / "testBvhFiles" / name
    path = ASSIMP_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} absent: apt-get install assimp-testmodels")
    return path


@pytest.mark.parametrize(("where", "name", "family", "unit"), REAL)
def test_real_files(request, where, name, family, unit):
    src = bvh_to_source(real_path(request, where, name))
    assert (src.meta["family"], src.meta["unit"], src.meta["up"]) == (family, unit, "+y")
    assert set(rigs.REQUIRED) <= set(src.smpl_map) and "head" in src.smpl_map
    assert 1.4 <= src.meta["height_m"] <= 2.0
    z = src.positions[..., 2]
    ankles = np.maximum(src.joint("left_ankle")[:, 2], src.joint("right_ankle")[:, 2])
    assert np.median(src.joint("head")[:, 2] - ankles) > 0.8
    feet = np.stack([src.joint(k)[:, 2] for k in ("left_ankle", "right_ankle", "left_foot", "right_foot")], axis=1)
    assert np.median(feet.min(axis=1) - z.min(axis=1)) < 0.05  # a foot is the lowest point, or nearly


def test_real_rigify_map_matches_automatic(bvhtools_dir):
    path = bvhtools_dir / "testBvhFiles" / "test3.bvh"
    assert bvh_to_source(path, joint_map=RIGIFY_MAP).smpl_map == bvh_to_source(path).smpl_map


def test_long_real_file_is_fast(bvhtools_dir):
    start = time.perf_counter()
    src = bvh_to_source(bvhtools_dir / "testBvhFiles" / "test.bvh")
    assert src.positions.shape[0] == 7184
    assert time.perf_counter() - start < 3.0


def test_rotation_module_convention():
    """The importer relies on intrinsic order: "ZXY" is Rz @ Rx @ Ry."""
    a = np.array([30.0, 40.0, 50.0])
    rz, rx, ry = (rot.axis_rotation(axis, np.deg2rad(deg)) for axis, deg in (("Z", 30), ("X", 40), ("Y", 50)))
    expected = rz @ rx @ ry
    np.testing.assert_allclose(rot.euler_to_mat(a, "ZXY"), expected)
