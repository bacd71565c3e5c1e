"""The SMPL path of mesh export, on a tiny synthetic model in the SMPL layout written here.

The model puts a tetrahedron of 4 vertices around each of the 24 joints of motionloop's
default skeleton, each skinned only to its joint, with a joint regressor that takes the
tetrahedron's centroid. Skinned by SMPL's rule, each centroid must land exactly on
motionloop's forward-kinematics joint (same offsets), and the pelvis on `trans`.
"""

import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
from clips import standing

from motionloop import skeleton as sk
from motionloop.viz.mesh import export_mesh
from motionloop.viz.smpl import BodyModelError, find_model_file, load_body_model, read_model_data

TETRA = 0.02 * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)  # centroid 0
PER_JOINT = len(TETRA)


def synthetic_smpl(seed: int = 0, hands: bool = False) -> dict:
    """Arrays of an SMPL model file with 24 x 4 vertices (see the module docstring).

    With `hands`, an SMPL-H file instead: the 22 body joints, then 15 finger joints per hand
    (children of the wrists, 1 cm apart) and the hand PCA arrays SMPL-H files carry.
    """
    rng = np.random.default_rng(seed)
    joints = sk.rest_joints() + sk.SMPL_PELVIS_REST  # the rest pelvis sits off the origin, as in SMPL
    parents = [4294967295] + list(sk.PARENTS[1:])
    if hands:
        fingers = 0.01 * np.arange(1, 16)[:, None] * [1.0, 0.0, 0.0]
        joints = np.concatenate([joints[:22], joints[sk.LEFT_WRIST] + fingers, joints[sk.RIGHT_WRIST] - fingers])
        parents = parents[:22] + [sk.LEFT_WRIST] * 15 + [sk.RIGHT_WRIST] * 15
    n = len(joints)
    v = (joints[:, None] + TETRA).reshape(-1, 3)  # (4n, 3)
    owner = np.repeat(np.arange(n), PER_JOINT)
    weights = np.eye(n)[owner]  # (4n, n)
    faces = np.array([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]])
    data = {
        "v_template": v,
        "f": (faces[None] + PER_JOINT * np.arange(n)[:, None, None]).reshape(-1, 3).astype(np.uint32),
        "J_regressor": weights.T / PER_JOINT,  # (n, 4n): centroid of each tetrahedron
        "weights": weights,
        "posedirs": np.zeros((len(v), 3, 9 * (n - 1))),
        "shapedirs": rng.normal(0, 0.01, (len(v), 3, 10)),
        "kintree_table": np.array([parents, list(range(n))], dtype=np.int64),
    }
    if hands:
        for side in "lr":
            data[f"hands_components{side}"] = np.eye(45)
            data[f"hands_mean{side}"] = rng.normal(0, 0.3, 45)  # a curl the export must not add (flat hands)
    return data


def write_npz(directory, name="SMPL_NEUTRAL.npz", hands=False):
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(directory / name, **synthetic_smpl(hands=hands))
    return directory / name


def write_chumpy_pkl(directory, monkeypatch, name="SMPL_NEUTRAL.pkl"):
    """An SMPL .pkl as the official ones are: chumpy arrays, a sparse regressor, protocol 2."""
    data = synthetic_smpl()
    ch_module = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    ch_module.Ch = Ch
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
        m.setitem(sys.modules, "chumpy.ch", ch_module)
        data["shapedirs"] = Ch(data["shapedirs"])
        data["v_template"] = Ch(data["v_template"])
        data["J_regressor"] = scipy.sparse.csc_matrix(data["J_regressor"])
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / name, "wb") as f:
            pickle.dump(data, f, protocol=2)
    assert "chumpy" not in sys.modules
    return directory / name


def _centroids(verts: np.ndarray) -> np.ndarray:
    return verts.reshape(len(verts), sk.NUM_JOINTS, PER_JOINT, 3).mean(axis=2)


def _posed_clip(frames=5):
    clip = standing(frames=frames)
    rng = np.random.default_rng(1)
    poses = clip.poses + rng.normal(0, 0.3, clip.poses.shape) * (np.arange(sk.NUM_JOINTS) > 0)[:, None]
    trans = clip.trans + rng.normal(0, 0.5, clip.trans.shape)
    return clip.replace(poses=poses, trans=trans)


def test_smpl_npz_vertices_follow_motionloop_fk(tmp_path):
    write_npz(tmp_path / "models")
    model = load_body_model(tmp_path / "models")
    assert model.kind == "smpl" and model.faces.shape == (4 * sk.NUM_JOINTS, 3)
    clip = _posed_clip()
    frames = np.array([0, 2, 4])
    verts = model.vertices(clip, frames)
    assert verts.shape == (3, sk.NUM_JOINTS * PER_JOINT, 3)
    np.testing.assert_allclose(_centroids(verts), clip.joints()[frames], atol=2e-5)


def test_smplh_body_joints_follow_motionloop_fk(tmp_path):
    write_npz(tmp_path, name="SMPLH_NEUTRAL.npz", hands=True)
    model = load_body_model(tmp_path)
    assert model.kind == "smplh"
    clip = _posed_clip(frames=3)
    verts = model.vertices(clip, np.arange(3))  # (3, 52 * 4, 3)
    cents = verts.reshape(3, 52, PER_JOINT, 3).mean(axis=2)
    np.testing.assert_allclose(cents[:, :22], clip.joints()[:, :22], atol=2e-5)
    # flat hands: each finger joint keeps its rest offset from the wrist, turned with the wrist
    rest = synthetic_smpl(hands=True)["v_template"].reshape(52, PER_JOINT, 3).mean(axis=1)
    _, glob = clip.fk()
    local = rest[22:37] - rest[sk.LEFT_WRIST]  # (15, 3) finger offsets from the wrist
    want = cents[:, [sk.LEFT_WRIST]] + np.einsum("tij,kj->tki", glob[:, sk.LEFT_WRIST], local)
    np.testing.assert_allclose(cents[:, 22:37], want, atol=2e-5)


def test_betas_change_the_shape_not_the_pelvis(tmp_path):
    model = load_body_model(write_npz(tmp_path))
    clip = _posed_clip(frames=2)
    shaped = clip.replace(betas=np.linspace(-2, 2, 10))
    v0, v1 = model.vertices(clip, np.arange(2)), model.vertices(shaped, np.arange(2))
    assert np.abs(v1 - v0).max() > 0.01
    np.testing.assert_allclose(_centroids(v1)[:, sk.PELVIS], clip.trans, atol=2e-5)


def test_chumpy_pkl_loads_without_chumpy(tmp_path, monkeypatch):
    pkl = write_chumpy_pkl(tmp_path / "a" / "smpl", monkeypatch)  # smplx's folder layout
    data = read_model_data(pkl)
    assert isinstance(data["shapedirs"], np.ndarray) and isinstance(data["J_regressor"], np.ndarray)
    write_npz(tmp_path / "b")
    clip = _posed_clip(frames=3)
    from_pkl = load_body_model(tmp_path / "a").vertices(clip, np.arange(3))
    from_npz = load_body_model(tmp_path / "b").vertices(clip, np.arange(3))
    np.testing.assert_allclose(from_pkl, from_npz, atol=1e-6)


def test_export_mesh_with_body_model(tmp_path):
    write_npz(tmp_path / "models")
    clip = _posed_clip(frames=4)
    paths = export_mesh(clip, tmp_path / "out", format="obj", frames="1:3", body_model=tmp_path / "models")
    import trimesh

    mesh = trimesh.load(paths[0], process=False, force="mesh")
    assert len(paths) == 2 and len(mesh.vertices) == sk.NUM_JOINTS * PER_JOINT
    np.testing.assert_allclose(_centroids(np.asarray(mesh.vertices)[None])[0], clip.joints()[1], atol=1e-4)


def test_missing_model_files_name_the_expected_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BodyModelError, match="SMPL_NEUTRAL.pkl") as e:
        export_mesh(standing(frames=1), tmp_path / "out", body_model=tmp_path / "empty")
    assert "SMPLX_NEUTRAL.npz" in str(e.value) and "SMPLH_NEUTRAL" in str(e.value)
    with pytest.raises(BodyModelError, match="no such directory"):
        find_model_file(tmp_path / "nope")
    with pytest.raises(BodyModelError, match="gender"):
        find_model_file(tmp_path / "empty", gender="robot")
    write_npz(tmp_path / "female", name="SMPL_FEMALE.npz")
    assert find_model_file(tmp_path / "female", gender="female")[1] == "smpl"
    with pytest.raises(BodyModelError, match="SMPL_NEUTRAL"):
        find_model_file(tmp_path / "female")
    amass = write_npz(tmp_path / "amass" / "smplh" / "neutral", name="model.npz")
    assert find_model_file(tmp_path / "amass") == (amass, "smplh")


def test_broken_model_files_are_clear_errors(tmp_path):
    bad = tmp_path / "SMPL_NEUTRAL.npz"
    np.savez(bad, v_template=np.zeros((4, 3)))
    with pytest.raises(BodyModelError, match="missing f, J_regressor"):
        load_body_model(tmp_path)
    bad.write_bytes(b"garbage")
    with pytest.raises(BodyModelError, match="unreadable"):
        load_body_model(bad)


class _Planted:
    """Pickles as a call of `func(*args)`: what a crafted model file does to run code."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _crafted_payloads(marker):
    code = f"open({str(marker)!r}, 'w').write('ran')"
    return [(exec, (code,)), (eval, (f"{code} or 1",)), (__import__("os").system, (f"touch {marker}",))]


@pytest.mark.parametrize("which", range(3))
def test_a_crafted_pkl_runs_nothing(tmp_path, which):
    marker = tmp_path / "ran"
    func, args = _crafted_payloads(marker)[which]
    data = synthetic_smpl()
    data["v_template"] = _Planted(func, *args)
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    with pytest.raises(BodyModelError, match="refusing to load"):
        load_body_model(tmp_path)
    assert not marker.exists()
    # a pickle that is nothing but the call, too
    path.write_bytes(pickle.dumps(_Planted(func, *args)))
    with pytest.raises(BodyModelError, match="refusing to load"):
        read_model_data(path)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["SMPL", "SMPLX"])
def test_a_crafted_npz_runs_nothing(tmp_path, kind):
    marker = tmp_path / "ran"
    data = synthetic_smpl()
    # an object array is stored as a pickle inside the npz: loading it would run the call
    planted = np.empty(1, dtype=object)
    planted[0] = _Planted(exec, f"open({str(marker)!r}, 'w').write('ran')")
    data["v_template"] = planted
    np.savez(tmp_path / f"{kind}_NEUTRAL.npz", **data)
    with pytest.raises(BodyModelError, match="missing v_template"):
        load_body_model(tmp_path)
    assert not marker.exists()


def test_smplx_model_is_loaded_from_the_checked_arrays(tmp_path, monkeypatch):
    """smplx's SMPLX unpickles its file itself; it must only ever see a pickle-free copy."""
    import smplx

    data = synthetic_smpl()
    path = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(path, **data, joint2num=np.array({"pelvis": 0}, dtype=object))
    seen = {}

    def fake_smplx(model_path, ext, **kwargs):
        seen["path"], seen["ext"] = model_path, ext
        with np.load(model_path, allow_pickle=False) as f:  # raises if any entry needs pickle
            seen["keys"] = set(f.files)
        raise ValueError("stop here")

    monkeypatch.setattr(smplx, "SMPLX", fake_smplx)
    with pytest.raises(BodyModelError, match="stop here"):
        load_body_model(tmp_path)
    assert seen["ext"] == "npz" and seen["path"] != str(path)
    assert seen["keys"] == set(data)
