"""The whole-clip centroidal plan (plan.py): physics of the solution, and what it leaves alone."""

import numpy as np
import pytest
from clips import standing

from motionloop.physics.feasibility import feasibility_bw
from motionloop.physics.model import Humanoid, centroidal_state
from motionloop.physics.plan import PlanConfig, centroidal_repair, solve_plan

G = 9.81


@pytest.fixture(scope="module")
def h():
    return Humanoid()


def test_a_body_standing_still_is_left_where_it_is(h):
    clip = standing(21)
    out, info = centroidal_repair(h, clip)
    assert info["com_shift_mm"] < 1.0 and info["flight_frames"] == 0
    np.testing.assert_allclose(out.trans, clip.trans, atol=1e-3)


def test_without_contacts_the_plan_is_free_fall():
    T, fps = 11, 20.0
    com = np.zeros((T, 3))
    com[:, 2] = 1.0  # hovering: no contact can hold it
    points = [np.zeros((0, 3))] * T
    dc, info = solve_plan(com, np.zeros((T, 3)), points, 70.0, fps, PlanConfig())
    z = com[:, 2] + dc[:, 2]
    acc = np.diff(z, 2) * fps**2
    np.testing.assert_allclose(acc, -G, atol=1e-4)  # every inner frame falls at g
    assert info["flight"] == T - 2


def test_the_planned_forces_carry_the_planned_com(h):
    """Whatever CoM path it is asked for, the plan's linear momentum is what non-negative
    pyramid forces at the contacts can give."""
    clip = standing(21)
    com, angmom = centroidal_state(h, clip)
    pushed = com.copy()
    pushed[:, 0] += 0.4 * np.linspace(0.0, 1.0, len(com)) ** 2  # pushed forward at 1.6 m/s^2
    pushed[:, 2] += 0.2 * np.sin(np.linspace(0.0, 6.0, len(com)))  # and bobbing faster than gravity allows
    feet = np.array([[x, y, 0.0] for x in (-0.1, 0.15) for y in (-0.15, 0.15)])
    points = [feet] * len(com)
    dc, _ = solve_plan(pushed, angmom, points, h.mass, clip.fps, PlanConfig())
    planned = pushed + dc
    acc = np.diff(planned, 2, axis=0) * clip.fps**2
    assert np.all(acc[:, 2] + G >= -1e-6)  # the floor only pushes
    # the friction pyramid (mu 0.8) bounds horizontal against vertical force
    assert np.all(np.abs(acc[:, :2]).max(axis=1) <= 0.8 * (acc[:, 2] + G) + 1e-4)
    assert np.abs(dc).max() > 0.01  # the asked path was not feasible, and was changed


def test_plan_makes_a_drifting_clip_more_feasible(h):
    clip = standing(41)
    trans = clip.trans.copy()
    trans[:, 0] += 0.25 * np.sin(np.linspace(0, 4 * np.pi, len(trans)))  # the body sways 25 cm over still feet
    from motionloop.physics.plant import plant_feet

    swaying = plant_feet(clip.replace(trans=trans))
    out, _ = centroidal_repair(h, swaying)
    assert feasibility_bw(out, h) < 0.5 * feasibility_bw(swaying, h)
