"""The capsule body (motionloop/body.py), the shipped-file paths (resources.py) and the
benchmark record (bench.py)."""

import json

import numpy as np
import pytest

from motionloop import bench, resources
from motionloop import body as bd
from motionloop import rotations as rot
from motionloop import skeleton as sk


def test_segment_masses_add_up_to_the_body():
    total = sum(bd.segment_mass(j) for j in range(sk.NUM_JOINTS))
    assert total == pytest.approx(bd.BODY_MASS, rel=1e-3)  # de Leva's fractions of one body
    assert bd.segment_mass(sk.LEFT_KNEE, total=100.0) == pytest.approx(100 * bd.MASS_FRACTION["knee"])
    assert bd.segment_mass(sk.LEFT_HIP) == bd.segment_mass(sk.RIGHT_HIP)


def test_geometry_covers_every_segment_and_scales_with_the_skeleton():
    geoms = bd.geometry()
    assert sorted({g.joint for g in geoms}) == list(range(sk.NUM_JOINTS))
    feet = [g for g in geoms if isinstance(g, bd.Box)]
    assert {g.joint for g in feet} == {sk.LEFT_ANKLE, sk.RIGHT_ANKLE, sk.LEFT_FOOT, sk.RIGHT_FOOT}
    # a body 1.2x as long: limbs follow the bones, thicknesses scale with standing height
    big = bd.geometry(sk.REST_OFFSETS * 1.2)
    s = sk.height_of(sk.REST_OFFSETS * 1.2) / sk.height_of()
    assert 1.1 < s < 1.2  # the height includes a head top that does not come from the offsets
    for g, h in zip(geoms, big):
        if isinstance(g, bd.Capsule):
            assert h.radius == pytest.approx(s * g.radius)
        else:
            assert np.all(np.asarray(h.half) > np.asarray(g.half) * 1.1)
    thigh = next(i for i, g in enumerate(geoms) if g.joint == sk.LEFT_HIP)
    assert np.linalg.norm(np.subtract(big[thigh].b, big[thigh].a)) == pytest.approx(
        1.2 * np.linalg.norm(np.subtract(geoms[thigh].b, geoms[thigh].a))
    )


def test_box_corners_and_sole():
    box = bd.Box(joint=0, center=(0.0, -0.05, 0.1), half=(0.04, 0.02, 0.1))
    c = box.corners()
    assert c.shape == (8, 3)
    np.testing.assert_allclose(c.min(0), [-0.04, -0.07, 0.0])
    np.testing.assert_allclose(c.max(0), [0.04, -0.03, 0.2])
    sole = box.sole()
    assert sole.shape == (4, 3) and np.all(sole[:, 1] == -0.07)


def _standing():
    poses = np.zeros((1, sk.NUM_JOINTS, 3))
    poses[0, sk.PELVIS] = rot.mat_to_aa(sk.UPRIGHT)
    pos, glob = sk.fk_mats(rot.aa_to_mat(poses), np.array([[0.0, 0.0, 1.0]]))
    return pos, glob


def test_world_extremes_and_sole_points_of_a_standing_body():
    geoms = bd.geometry()
    pos, glob = _standing()
    low = bd.world_extremes(geoms, pos, glob)
    assert low.shape == (1, len(geoms))
    # the lowest geom of a standing body is a foot box, and raising the body raises every geom
    feet = [i for i, g in enumerate(geoms) if isinstance(g, bd.Box)]
    assert int(low[0].argmin()) in feet
    np.testing.assert_allclose(bd.world_extremes(geoms, pos + [0, 0, 0.3], glob), low + 0.3, atol=1e-12)
    soles = bd.sole_points(geoms, pos, glob)
    assert soles.shape == (1, 2, 8, 3)
    # both soles lie flat at the lowest geom's height, the left one on the body's left (+x of SMPL = world +x here)
    np.testing.assert_allclose(soles[..., 2], low[0].min(), atol=0.02)
    assert soles[0, 0, :, 0].mean() > soles[0, 1, :, 0].mean()


def test_capsule_lowest_points_lie_on_the_capsules_lowest_surface():
    geoms = bd.geometry()
    caps = [i for i, g in enumerate(geoms) if isinstance(g, bd.Capsule)]
    pos, glob = _standing()
    low = bd.capsule_lowest_points(geoms, pos, glob)
    assert low.shape == (1, len(caps), 3)
    # their heights are world_extremes' for the capsules, and each point lies on its capsule's
    # axis end (one radius above it) nearer the floor
    np.testing.assert_allclose(low[..., 2], bd.world_extremes(geoms, pos, glob)[:, caps], atol=1e-12)
    for c, i in enumerate(caps):
        g = geoms[i]
        ends = pos[0, g.joint] + np.array([g.a, g.b]) @ glob[0, g.joint].T  # (2, 3)
        end = ends[np.argmin(ends[:, 2])]
        np.testing.assert_allclose(low[0, c], end - [0.0, 0.0, g.radius], atol=1e-12)
    # any leading shape: frames of a clip, one frame
    both = bd.capsule_lowest_points(geoms, np.concatenate([pos, pos + [0, 0, 0.3]]), np.concatenate([glob, glob]))
    np.testing.assert_allclose(both[1], low[0] + [0.0, 0.0, 0.3], atol=1e-12)
    np.testing.assert_allclose(bd.capsule_lowest_points(geoms, pos[0], glob[0]), low[0], atol=1e-12)


def test_resources_point_into_the_package():
    assert resources.package_file("configs") == resources.PRESET_DIR
    assert resources.asset("models", "x.pt") == resources.asset() / "models" / "x.pt"
    for path in (resources.BASE_MODEL, resources.EVALUATOR, resources.HUMANOID_XML, resources.PRESET_DIR / "demo.toml"):
        assert path.is_file(), path
    assert (resources.VIEWER_STATIC / "viewer.js").is_file()


def test_write_result_writes_the_common_record(tmp_path, capsys):
    rec = bench.write_result(tmp_path / "r.json", "demo", {"n": 3}, {"seconds": 1.5})
    on_disk = json.loads((tmp_path / "r.json").read_text())
    assert on_disk == rec and set(rec) == {"name", "command", "config", "machine", "figures"}
    assert rec["figures"] == {"seconds": 1.5} and rec["machine"]["cpus"] >= 1
    assert '"name": "demo"' in capsys.readouterr().out


def test_geometry_is_built_once_per_skeleton_but_handed_out_as_a_fresh_list():
    a = bd.geometry()
    assert a == bd.geometry(sk.REST_OFFSETS)
    a.pop()  # a caller's list is its own
    assert len(bd.geometry()) == len(a) + 1
    tall = bd.geometry(sk.REST_OFFSETS * 1.2)
    assert tall != bd.geometry() and tall[0].radius > bd.geometry()[0].radius  # a taller body, thicker
