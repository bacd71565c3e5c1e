import dataclasses

import mujoco
import numpy as np
import pytest
from clips import standing

from motionloop.data.bundled import list_bundled
from motionloop.errors import ConfigError, MotionloopError
from motionloop.motion import Motion
from motionloop.physics.config import FREE_TRACKER, TrackerConfig
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.physics.feasibility import TORQUE_ARM
from motionloop.physics.model import Humanoid
from motionloop.physics.reference import build_reference
from motionloop.physics.repair import RepairConfig
from motionloop.physics.tracker import control_rate, track
from motionloop.physics.wbc import WholeBodyController


def test_control_rate_holds_whole_physics_steps():
    h = Humanoid()
    dt = h.model.opt.timestep
    for hz in (60.0, 80.0, 100.0, 120.0):
        rate = control_rate(h, TrackerConfig(control_hz=hz))
        steps = 1.0 / (rate * dt)
        assert abs(steps - round(steps)) < 1e-9 and round(steps) >= 1
        assert abs(rate - hz) / hz < 0.1


def test_reference_at_a_drifting_rate_is_refused():
    h = Humanoid()
    clip = standing(5)
    with pytest.raises(MotionloopError, match="physics steps"):
        track(h, clip, TrackerConfig(), reference=build_reference(h, clip, 100.0))


def test_real_walking_clip_is_tracked_to_the_end():
    entry = next(c for c in list_bundled() if c.id == "cmu01_03_walk_a")
    clip = Motion.load(entry.path)
    out, (rep,) = correct([clip], CorrectionConfig(strength=1.0))
    assert rep.success and rep.resets == 0 and rep.error is None
    assert rep.residual_bw < 0.15
    assert rep.mpjpe_mm < 100.0
    # the simulated walk is physically cleaner than the mocap it tracked
    assert rep.after["phys_err_mm"] < rep.before["phys_err_mm"]
    assert out[0].num_frames == clip.num_frames


# ------------------------------------------------------------------ strength -> price and balance share
# Documented in physics/correct.py (module docstring and the _W_RESIDUAL comment) and the README:
# the assisted attempt's residual costs 10^(2+3S) (1e2 as S -> 0, 1e5 at S = 1; 5.6e2 / 3.2e3 /
# 1.8e4 / 1e5 at S = 0.25 / 0.5 / 0.75 / 1), the ZMP balance repair is applied at share 2S - 1
# above S = 0.5, and the residual-free attempt is the same at every strength.

STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.mark.parametrize("s", STRENGTHS)
def test_residual_price_is_ten_to_the_two_plus_three_strength(s):
    assert CorrectionConfig(strength=s).tracker_for_strength().w_residual == pytest.approx(10 ** (2 + 3 * s), rel=1e-12)


def test_residual_prices_match_the_documented_table():
    prices = [CorrectionConfig(strength=s).tracker_for_strength().w_residual for s in STRENGTHS]
    # the code comment's table, to the two significant figures it gives; the ends exactly
    assert prices[1:] == pytest.approx([5.6e2, 3.2e3, 1.8e4, 1e5], rel=0.02)
    assert prices[0] == pytest.approx(1e2) and prices[-1] == pytest.approx(1e5)
    # geometric: every quarter of strength multiplies the price by 10^0.75
    assert np.divide(prices[1:], prices[:-1]) == pytest.approx([10**0.75] * 4)


def test_strength_changes_only_the_residual_price_of_the_given_tracker():
    custom = TrackerConfig(kp=123.0, residual_max_bw=0.1, w_residual=7.0)
    cfg = CorrectionConfig(strength=0.5, tracker=custom).tracker_for_strength()
    assert cfg.w_residual == pytest.approx(10**3.5) and dataclasses.replace(cfg, w_residual=7.0) == custom
    assert cfg.residual_max_bw == 0.1 and cfg.kp == 123.0  # the budget is not the knob's business


@pytest.mark.parametrize(
    "s, share", [(0.0, 0.0), (0.25, 0.0), (0.5, 0.0), (0.6, 0.2), (0.75, 0.5), (0.9, 0.8), (1.0, 1.0)]
)
def test_balance_share_is_two_strength_minus_one_above_a_half(s, share):
    base = RepairConfig()
    assert base.balance_amount == 1.0
    repaired = CorrectionConfig(strength=s).repair_for_strength()
    assert repaired.balance_amount == pytest.approx(share)
    assert dataclasses.replace(repaired, balance_amount=1.0) == base  # nothing else changes
    # the share scales the configured amount, it does not replace it
    half = CorrectionConfig(strength=s, repair=RepairConfig(balance_amount=0.5)).repair_for_strength()
    assert half.balance_amount == pytest.approx(0.5 * share)


def test_residual_free_attempt_is_the_same_at_every_strength():
    frees = [CorrectionConfig(strength=s).free_tracker() for s in STRENGTHS]
    assert all(f == FREE_TRACKER for f in frees) and FREE_TRACKER.residual_max_bw == 0.0
    # whatever the free controller says, its residual is off; None skips the attempt
    own = CorrectionConfig(strength=0.3, free=TrackerConfig(residual_max_bw=0.2)).free_tracker()
    assert own == TrackerConfig(residual_max_bw=0.0)
    assert CorrectionConfig(free=None).free_tracker() is None


@pytest.mark.parametrize("s", [-0.1, 1.5])
def test_strength_outside_zero_one_is_refused(s):
    with pytest.raises(ConfigError, match="strength: must be in \\[0, 1\\]"):
        CorrectionConfig(strength=s)


# ------------------------------------------------------------------ the controller's residual price and bound


def test_controller_prices_the_residual_per_body_weight_squared():
    """wbc.py: the price and bound of each root row are per body weight; a torque of
    (weight x TORQUE_ARM) counts like a force of weight (TrackerConfig.w_residual, residual_max_bw)."""
    h = Humanoid()
    arm = np.array([1.0, 1.0, 1.0, TORQUE_ARM, TORQUE_ARM, TORQUE_ARM])
    for s in (0.25, 1.0):
        cfg = CorrectionConfig(strength=s).tracker_for_strength()
        ctl = WholeBodyController(h, cfg)
        np.testing.assert_allclose(ctl._res_price, 10 ** (2 + 3 * s) / (h.weight * arm) ** 2, rtol=1e-12)
        np.testing.assert_allclose(ctl._res_cap, cfg.residual_max_bw * h.weight * arm, rtol=1e-12)


def _first_command(h: Humanoid, clip: Motion, cfg: TrackerConfig) -> np.ndarray:
    """The controller's root residual `(6,)` at the first control step, the body on its reference."""
    ref = build_reference(h, clip, control_rate(h, cfg), cfg.smooth_s)
    d = mujoco.MjData(h.model)
    d.qpos[:], d.qvel[:] = ref.qpos[0], ref.qvel[0]
    mujoco.mj_forward(h.model, d)
    return WholeBodyController(h, cfg).compute(d, ref, 0).residual


def _swaying(amplitude: float, frames: int = 20) -> Motion:
    """Standing, the pelvis swinging sideways at 2 Hz: a small CoM acceleration to supply."""
    base = standing(frames)
    trans = base.trans.copy()
    trans[:, 0] += amplitude * np.sin(2 * np.pi * 2.0 * np.arange(frames) / base.fps)
    return base.replace(trans=trans)


def test_a_cheap_residual_is_inversely_proportional_to_its_price():
    """Where the residual is small (the contacts do almost everything) the price dominates its
    cost, so it scales as 1 / price: the strength's price ratio 10^(3 dS) shows in the command."""
    h = Humanoid()
    clip = _swaying(0.05)
    r = {
        s: np.linalg.norm(_first_command(h, clip, CorrectionConfig(strength=s).tracker_for_strength()))
        for s in STRENGTHS
    }
    assert 0 < r[1.0] < r[0.75]
    assert r[0.25] / h.weight < 1e-3  # the regime this is about: a tiny share of body weight
    for s in (0.25, 0.5, 0.75):
        assert r[s] / r[1.0] == pytest.approx(10 ** (3 * (1 - s)), rel=0.02), s


def test_residual_components_are_bounded_by_residual_max_bw():
    """A body held in the air needs ~1 body weight of lift; the residual gives at most
    `residual_max_bw` of it per component, at any price, and none at all when it is 0."""
    h = Humanoid()
    floating = standing(10, lift=0.3)
    for s in (0.25, 1.0):
        cfg = CorrectionConfig(strength=s).tracker_for_strength()
        out = track(h, floating, cfg)
        assert out.residual_bw.max() == pytest.approx(cfg.residual_max_bw, rel=1e-3)  # lift saturated
        r = _first_command(h, floating, dataclasses.replace(cfg, residual_max_bw=0.05))
        assert np.abs(r[:3]).max() == pytest.approx(0.05 * h.weight, rel=1e-6)
        assert np.all(np.abs(r[3:]) <= 0.05 * h.weight * TORQUE_ARM * (1 + 1e-9))
    free = track(h, floating, CorrectionConfig().free_tracker())
    assert np.all(free.residual_bw == 0.0) and np.all(free.residual_torque_bw == 0.0)


@pytest.mark.parametrize(
    "lift, planted, settled",
    [
        (0.01, True, True),  # planted soles a centimetre up: lowered onto the floor
        (0.04, True, True),
        (0.08, True, False),  # beyond SETTLE_MAX_M: something else is going on; left as is
        (0.01, False, False),  # no planted segment: nothing to stand on
        (0.0, True, False),  # already on the floor
    ],
)
def test_the_start_state_puts_hovering_planted_feet_on_the_floor(lift, planted, settled):
    from motionloop.physics.tracker import SETTLE_MAX_M, set_state

    assert SETTLE_MAX_M == 0.05
    h = Humanoid()
    ctl = WholeBodyController(h, FREE_TRACKER)
    ref = build_reference(h, standing(11, lift=lift), control_rate(h, FREE_TRACKER), 0.0)
    # the stance as the case says (the contact test itself plants soles up to a few cm)
    ref = dataclasses.replace(ref, stance=np.full_like(ref.stance, planted))
    d = mujoco.MjData(h.model)
    set_state(h, d, ref, 0, ctl.sole_geoms)
    low = min(float((d.geom_xpos[g, 2] - h.model.geom_size[g, 0]).min()) for g in ctl.sole_geoms)
    if settled:
        assert abs(low) < 1e-9 and d.qpos[2] < ref.qpos[0, 2]
    else:
        assert d.qpos[2] == ref.qpos[0, 2]
    # only the height changes, and the velocities are the reference's
    np.testing.assert_array_equal(d.qpos[3:], ref.qpos[0, 3:])
    np.testing.assert_array_equal(d.qpos[:2], ref.qpos[0, :2])
    np.testing.assert_array_equal(d.qvel, ref.qvel[0])
