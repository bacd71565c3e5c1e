import numpy as np
import pytest
import trimesh
from clips import standing

from motionloop import body as bd
from motionloop.errors import MotionloopError, UnknownNameError
from motionloop.viz.mesh import FrameSpecError, capsule_template, capsule_vertices, export_mesh, parse_frames


@pytest.mark.parametrize(
    "spec, want",
    [
        (None, range(10)),
        ("::3", [0, 3, 6, 9]),
        ("2:5", [2, 3, 4]),
        ("4", [4]),
        ("-1", [9]),
        ("-3:", [7, 8, 9]),
        ("8:2:-2", [8, 6, 4]),
        (" : ", range(10)),
    ],
)
def test_parse_frames(spec, want):
    np.testing.assert_array_equal(parse_frames(spec, 10), list(want))


@pytest.mark.parametrize(
    "spec, msg",
    [
        ("a:b", "expected a:b:s"),
        ("1:2:3:4", "expected"),
        ("::0", "step"),
        ("20:30", "selects no frame"),
        ("10", "has 10 frames"),
    ],
)
def test_parse_frames_rejects(spec, msg):
    with pytest.raises(FrameSpecError, match=msg):
        parse_frames(spec, 10)


def _load(path) -> trimesh.Trimesh:
    return trimesh.load(path, process=False, force="mesh")


@pytest.mark.parametrize("fmt", ["obj", "ply", "glb"])
def test_export_each_format_keeps_vertices_and_pose(tmp_path, fmt):
    clip = standing(frames=4)
    trans = clip.trans.copy()
    trans[2:, 0] += 1.0  # frames 2, 3 stand 1 m further along x
    paths = export_mesh(clip.replace(trans=trans), tmp_path, format=fmt, frames="::2")
    assert [p.name for p in paths] == [f"frame_00000.{fmt}", f"frame_00002.{fmt}"]
    n_verts = len(capsule_template()[0])
    a, b = _load(paths[0]), _load(paths[1])
    assert len(a.vertices) == len(b.vertices) == n_verts
    up = 1 if fmt == "glb" else 2  # glTF is y-up
    assert a.bounds[0, up] == pytest.approx(0.0, abs=1e-4)  # soles on the floor
    assert a.bounds[1, up] == pytest.approx(1.73, abs=0.05)  # about a person's height
    np.testing.assert_allclose(b.bounds[:, 0] - a.bounds[:, 0], [1.0, 1.0], atol=1e-4)


def test_glb_is_the_world_turned_y_up(tmp_path):
    clip = standing(frames=1)
    world = capsule_vertices(clip, np.array([0]))[0]
    glb = _load(export_mesh(clip, tmp_path, format="glb")[0]).vertices
    np.testing.assert_allclose(glb, np.stack([world[:, 0], world[:, 2], -world[:, 1]], -1), atol=1e-5)


def test_vertices_follow_the_joints():
    clip = standing(frames=2)
    poses = clip.poses.copy()
    poses[1, 0] = [0.0, 0.0, 0.0]  # frame 1: lying on its back along world y (see skeleton.py)
    v = capsule_vertices(clip.replace(poses=poses), np.array([0, 1]))
    ext0, ext1 = np.ptp(v[0], axis=0), np.ptp(v[1], axis=0)
    assert ext0[2] > 1.6 and ext1[2] < 0.5 and ext1[1] > 1.6  # height turned into length along y
    _, joint, owners, faces = capsule_template()
    assert faces.max() < len(joint) and set(owners) == set(range(len(bd.geometry())))


def test_capsule_mesh_is_coloured_by_marks(tmp_path):
    path = export_mesh(standing(frames=1, lift=-0.05), tmp_path, format="ply")[0]
    colours = _load(path).visual.vertex_colors[:, :3]
    red = (colours[:, 0] > 200) & (colours[:, 1] < 60)
    assert red.any() and not red.all()


def test_export_errors(tmp_path):
    clip = standing(frames=2)
    with pytest.raises(UnknownNameError, match="glb"):
        export_mesh(clip, tmp_path, format="stl")
    blocker = tmp_path / "f"
    blocker.write_text("x")
    with pytest.raises(MotionloopError, match="cannot create"):
        export_mesh(clip, blocker / "out")
