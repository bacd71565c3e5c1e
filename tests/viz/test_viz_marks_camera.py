import numpy as np
import pytest
from clips import standing

from motionloop import body as bd
from motionloop.errors import ConfigError
from motionloop.physics.metrics import CONTACT_TOL
from motionloop.viz import marks as mk
from motionloop.viz.camera import CameraConfig, follow_track, project


def test_foot_contact_is_lowest_corner_within_tolerance():
    sole_z = np.full((3, 4, 4), 0.10)
    sole_z[0, 1, 2] = CONTACT_TOL  # exactly at the tolerance: contact
    sole_z[1, 2, 0] = CONTACT_TOL + 1e-4  # just above: no contact
    sole_z[2, 3, :] = -0.02  # below the floor: contact
    got = mk.foot_contacts(sole_z)
    want = np.zeros((3, 4), bool)
    want[0, 1] = want[2, 3] = True
    np.testing.assert_array_equal(got, want)


def test_under_floor_threshold():
    lowest = np.array([[0.0, -mk.UNDER_FLOOR_DEPTH, -mk.UNDER_FLOOR_DEPTH - 1e-4, 0.3]])
    np.testing.assert_array_equal(mk.under_floor(lowest), [[False, False, True, False]])


def test_standing_feet_touch_and_nothing_is_under():
    marks = mk.body_marks(standing(frames=3))
    assert marks.contact.all() and not marks.under.any()


def test_lifted_body_touches_nothing():
    marks = mk.body_marks(standing(frames=3, lift=0.10))
    assert not marks.contact.any() and not marks.under.any()


def test_sunk_body_tints_feet_not_head():
    geoms = bd.geometry()
    marks = mk.body_marks(standing(frames=2, lift=-0.05))
    colours = marks.geom_colours(geoms)  # (T, G, 4)
    for g, geom in enumerate(geoms):
        if isinstance(geom, bd.Box):  # all foot boxes are 5 cm deep: red wins over contact green
            assert tuple(colours[0, g]) == mk.UNDER
        elif geom.joint == mk.sk.HEAD:
            assert tuple(colours[0, g]) == mk.SKIN


def test_contact_colours_only_the_touching_foot():
    clip = standing(frames=2)
    poses = clip.poses.copy()
    poses[:, mk.sk.LEFT_HIP, 0] = -0.6  # left thigh forward: left foot leaves the floor
    marks = mk.body_marks(clip.replace(poses=poses))
    geoms = bd.geometry()
    colours = marks.geom_colours(geoms)
    for g, geom in enumerate(geoms):
        if isinstance(geom, bd.Box):
            left = geom.joint in (mk.sk.LEFT_ANKLE, mk.sk.LEFT_FOOT)
            assert tuple(colours[0, g]) == (mk.FOOT if left else mk.CONTACT)


def test_follow_track_is_zero_phase_and_clipped():
    fps = 20.0
    t = np.arange(100) / fps
    root = np.stack([1.5 * t, np.zeros_like(t), np.full_like(t, 0.9)], axis=-1)
    rng = np.random.default_rng(0)
    noisy = root + rng.normal(0, 0.02, root.shape) * [1, 1, 0]
    track = follow_track(noisy, fps)
    mid = slice(20, 80)  # away from the ends, a Gaussian leaves a straight line where it is
    assert np.abs(track[mid, 0] - root[mid, 0]).max() < 0.02
    assert np.std(np.diff(track[mid, 1])) < 0.2 * np.std(np.diff(noisy[mid, 1]))
    low = follow_track(root * [1, 1, 0.1], fps)  # pelvis near the floor (a fall)
    assert np.allclose(low[:, 2], CameraConfig().height[0])


def test_project_centre_and_up():
    cam = CameraConfig()
    look = np.array([1.0, 2.0, 0.9])
    px = project(np.stack([look, look + [0, 0, 0.5]]), look, cam, (640, 480))
    np.testing.assert_allclose(px[0], [320, 240], atol=1e-9)
    assert px[1, 1] < 240 and abs(px[1, 0] - 320) < 1e-6


def test_camera_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="distance"):
        CameraConfig(distance=0)
    with pytest.raises(ConfigError, match="elevation"):
        CameraConfig(elevation=95)
