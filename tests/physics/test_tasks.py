"""Each objective of the whole-body controller on its own (tasks.py)."""

import mujoco
import numpy as np
import pytest
from clips import standing

from motionloop import skeleton as sk
from motionloop.physics.config import TrackerConfig
from motionloop.physics.model import Humanoid
from motionloop.physics.reference import build_reference
from motionloop.physics.tasks import (
    CentroidalTask,
    Contacts,
    Context,
    FlatFootTask,
    HoldFootTask,
    JointTask,
    NoSlipTask,
    SwingFootTask,
)
from motionloop.physics.wbc import WholeBodyController


@pytest.fixture(scope="module")
def setup():
    h = Humanoid()
    ref = build_reference(h, standing(11), 80.0)
    return h, ref


def _ctx(h, ref, qpos=None, qvel=None, cfg=TrackerConfig(), stance=None):
    d = mujoco.MjData(h.model)
    d.qpos[:] = ref.qpos[0] if qpos is None else qpos
    d.qvel[:] = ref.qvel[0] if qvel is None else qvel
    mujoco.mj_forward(h.model, d)
    if stance is not None:
        ref = type(ref)(**{**ref.__dict__, "stance": np.tile(stance, (ref.num_steps, 1))})
    ctl = WholeBodyController(h, cfg)
    return Context(h, d, ref, 0, cfg, ctl.contacts(d, ref.stance[0])), ctl


def test_joint_task_is_the_reference_acceleration_on_the_reference(setup):
    h, ref = setup
    ctx, _ = _ctx(h, ref)
    w, acc = JointTask(h, TrackerConfig()).diagonal(ctx)
    np.testing.assert_allclose(acc, ref.qacc[0], atol=1e-9)
    assert (w > 0).all() and w[0:3].max() < 1e-2  # the root translation is left to the CoM


def test_joint_task_pulls_a_bent_joint_back(setup):
    h, ref = setup
    qpos = ref.qpos[0].copy()
    adr = h.hinge_qpos[sk.LEFT_SHOULDER, 0]
    qpos[adr] += 0.2
    ctx, _ = _ctx(h, ref, qpos=qpos)
    _, acc = JointTask(h, TrackerConfig(kp=400.0)).diagonal(ctx)
    dof = h.hinge_dof[sk.LEFT_SHOULDER, 0]
    assert acc[dof] == pytest.approx(ref.qacc[0, dof] - 400.0 * 0.2, rel=1e-6)


def test_flat_foot_task_turns_a_tilted_planted_foot_level(setup):
    h, ref = setup
    qpos = ref.qpos[0].copy()
    qpos[h.hinge_qpos[sk.LEFT_ANKLE, 0]] += 0.15  # pitch the left foot
    ctx, _ = _ctx(h, ref, qpos=qpos, qvel=np.zeros(h.nv))
    rows = FlatFootTask(h).rows(ctx)
    assert len(rows) == 4  # every segment of both feet is planted and low
    body = int(h.body_id[sk.LEFT_ANKLE])
    normal = ctx.d.xmat[body].reshape(3, 3)[:, 1]
    # the asked angular acceleration turns the sole normal towards vertical: d(n_z)/dt > 0
    row = rows[0]
    omega_dot = np.linalg.lstsq(row.J, row.acc, rcond=None)[0]
    w = ctx.body_jac(body)[1] @ omega_dot
    assert np.cross(w, normal)[2] > 0
    assert not FlatFootTask(h).rows(_ctx(h, ref, stance=np.zeros(4, dtype=bool))[0])


@pytest.mark.parametrize("pitch_deg, levelled", [(40.0, True), (50.0, False), (100.0, False)])
def test_flat_foot_task_leaves_a_foot_on_its_toe_tips(setup, pitch_deg, levelled):
    """A planted foot whose sole is turned more than LEVEL_MAX_TILT_DEG (45) from the floor,
    as a prone body's feet are, is not levelled: turning it flat would lift the body."""
    h, ref = setup
    qpos = ref.qpos[0].copy()
    qpos[h.hinge_qpos[sk.LEFT_ANKLE, 0]] += np.radians(pitch_deg)
    ctx, _ = _ctx(h, ref, qpos=qpos, qvel=np.zeros(h.nv))
    body = int(h.body_id[sk.LEFT_ANKLE])
    tilt = np.degrees(np.arccos(ctx.d.xmat[body].reshape(3, 3)[2, 1]))
    assert tilt == pytest.approx(pitch_deg, abs=1.0)
    assert [FlatFootTask.active(ctx, seg) for seg in range(4)] == [levelled, levelled, True, True]
    assert len(FlatFootTask(h).rows(ctx)) == (4 if levelled else 2)


def test_swing_foot_task_goes_for_the_shifted_target(setup):
    h, ref = setup
    ctx, _ = _ctx(h, ref, stance=np.array([False, False, True, True]), qvel=np.zeros(h.nv))
    ctx.step_shift = np.array([0.1, 0.0, 0.0])
    rows = SwingFootTask(h).rows(ctx)
    assert len(rows) == 1  # only the left foot swings
    assert rows[0].acc[0] == pytest.approx(ref.body_acc[0, sk.LEFT_ANKLE, 0] + 200.0 * 0.1, rel=1e-6)


def test_hold_task_brings_down_an_unloaded_planted_foot(setup):
    h, ref = setup
    qpos = ref.qpos[0].copy()
    qpos[2] += 0.02  # 2 cm up: no segment touches, all are planted and low
    ctx, ctl = _ctx(h, ref, qpos=qpos, qvel=np.zeros(h.nv))
    assert not ctx.contacts.touching
    rows = HoldFootTask(h, ctl.sole_geoms, ctl._foot_bodies).rows(ctx)
    assert len(rows) == 4 and all(r.acc[2] < 0 for r in rows)


def test_no_slip_rows_are_the_contact_points_velocity_jacobian(setup):
    h, ref = setup
    ctx, _ = _ctx(h, ref)
    (row,) = NoSlipTask().rows(ctx)
    # finite differences: J v == d(point)/dt for a random velocity
    rng = np.random.default_rng(0)
    v = rng.normal(size=h.nv) * 0.1
    pts, bodies = ctx.contacts.points, ctx.contacts.bodies
    local = [ctx.d.xmat[b].reshape(3, 3).T @ (p - ctx.d.xpos[b]) for p, b in zip(pts, bodies)]
    eps = 1e-6
    d2 = mujoco.MjData(h.model)
    d2.qpos[:] = ctx.d.qpos
    mujoco.mj_integratePos(h.model, d2.qpos, v, eps)
    mujoco.mj_kinematics(h.model, d2)
    moved = np.array([d2.xpos[b] + d2.xmat[b].reshape(3, 3) @ lp for lp, b in zip(local, bodies)])
    np.testing.assert_allclose(row.J @ v, ((moved - pts) / eps).ravel(), atol=1e-4)
    assert (
        len(
            NoSlipTask().rows(
                Context(
                    h,
                    ctx.d,
                    ref,
                    0,
                    TrackerConfig(),
                    Contacts(np.zeros((0, 3)), np.zeros(0, int), np.zeros(0, int), set(), np.zeros(0, bool)),
                )
            )
        )
        == 0
    )


def test_centroidal_task_asks_for_gravity_on_a_still_body_and_restores_the_com(setup):
    h, ref = setup
    ctx, _ = _ctx(h, ref, qvel=np.zeros(h.nv))
    row, _com, _ = CentroidalTask(h).wrench(ctx)
    np.testing.assert_allclose(row.target[:3], h.mass * (ref.com_acc[0] - h.model.opt.gravity), atol=1e-6)
    qpos = ref.qpos[0].copy()
    qpos[0] += 0.05  # the whole body 5 cm along x
    ctx, _ = _ctx(h, ref, qpos=qpos, qvel=np.zeros(h.nv))
    row, _, _ = CentroidalTask(h).wrench(ctx)
    assert row.target[0] == pytest.approx(h.mass * (ref.com_acc[0, 0] - 100.0 * 0.05), rel=1e-3)
