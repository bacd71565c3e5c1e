import numpy as np
import pytest
from clips import standing

from motionloop.physics.feasibility import feasibility_bw, feasibility_profile


def test_standing_needs_no_residual():
    assert feasibility_bw(standing(21)) < 1e-6


def test_floating_needs_full_body_weight():
    assert feasibility_bw(standing(21, lift=0.2)) == pytest.approx(1.0, abs=1e-3)


def test_uniform_slide_is_feasible_but_shaking_is_not():
    base = standing(41)
    trans = base.trans.copy()
    trans[:, 0] += np.arange(41) * 0.02  # constant velocity: no force needed
    assert feasibility_bw(base.replace(trans=trans)) < 1e-6
    t = np.arange(41) / 20.0
    trans = base.trans.copy()
    trans[:, 2] += 0.05 * np.sin(2 * np.pi * 3 * t)  # bobbing at 3 Hz: needs pulling down
    assert feasibility_bw(base.replace(trans=trans)) > 0.1


def test_deep_body_is_not_supported_by_the_floor():
    prof = feasibility_profile(standing(5, lift=-2.0))
    assert prof.min() == pytest.approx(1.0, abs=1e-3)


def test_candidate_points_are_the_soles_and_capsule_bottoms_near_the_floor():
    from motionloop import body as bd
    from motionloop.physics.feasibility import CONTACT_HEIGHT, MAX_DEPTH, candidate_points
    from motionloop.physics.model import default_humanoid

    h = default_humanoid()
    m = standing(3)
    rng = np.random.default_rng(0)
    m = m.replace(poses=m.poses + rng.normal(scale=0.3, size=m.poses.shape).astype(np.float32))
    m = h.motion_from_qpos(h.qpos_from_motion(m), m)  # a pose the simulated body's joints can take
    # every candidate point from the clip's own forward kinematics and the capsule body
    off = h.spec.offsets_array()
    geoms = bd.geometry(off)

    def every_point(clip):
        pos, glob = clip.fk(off)
        out = [bd.sole_points(geoms, pos[1], glob[1]).reshape(-1, 3)]
        for g in geoms:
            if isinstance(g, bd.Capsule):
                a = pos[1, g.joint] + glob[1, g.joint] @ np.asarray(g.a)
                b = pos[1, g.joint] + glob[1, g.joint] @ np.asarray(g.b)
                out.append((a if a[2] <= b[2] else b)[None] - np.array([0.0, 0.0, g.radius]))
        return np.concatenate(out)

    # lower the body until its second-lowest capsule bottom is 2 cm deep: soles and capsules
    # on both sides of the thresholds
    caps = np.sort(every_point(m)[16:, 2])
    m = m.replace(trans=m.trans - np.array([0.0, 0.0, caps[1] + 0.02], dtype=np.float32))
    want = every_point(m)
    near = (want[:, 2] <= CONTACT_HEIGHT) & (want[:, 2] >= -MAX_DEPTH)
    assert near[:16].any() and near[16:].any() and not near.all()  # soles and capsules, kept and not
    pts, ids = candidate_points(h, h.qpos_from_motion(m)[1])
    np.testing.assert_allclose(pts, want[near], atol=1e-5)
    assert len(ids) == len(pts) and set(ids.tolist()) <= set(h.body_id.tolist())
