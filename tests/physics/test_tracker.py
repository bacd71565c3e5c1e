import pytest
from clips import standing

from motionloop.data.bundled import list_bundled
from motionloop.errors import MotionloopError
from motionloop.motion import Motion
from motionloop.physics.config import TrackerConfig
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.physics.model import Humanoid
from motionloop.physics.reference import build_reference
from motionloop.physics.tracker import control_rate, track


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


def test_strength_sets_residual_price_and_balance_share():
    prices = [CorrectionConfig(strength=s).tracker_for_strength().w_residual for s in (0.25, 0.5, 1.0)]
    assert prices[0] < prices[1] < prices[2]
    shares = [CorrectionConfig(strength=s).repair_for_strength().balance_amount for s in (0.25, 0.5, 0.75, 1.0)]
    assert shares == pytest.approx([0.0, 0.0, 0.5, 1.0])
