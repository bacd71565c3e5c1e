"""The residual-free search (physics/search.py): shifted references, the depth-first search with
its backtracking and budget on a scripted simulation, and the search as the ladder's rung."""

from __future__ import annotations

import numpy as np
import pytest
from clips import bundled_clip, standing

from motionloop.errors import ConfigError
from motionloop.physics import correct as pc
from motionloop.physics.config import SearchConfig
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.physics.model import Humanoid
from motionloop.physics.reference import build_reference, shifted
from motionloop.physics.search import Segment, depth_first
from motionloop.physics.summary import summarize


def test_a_shifted_reference_moves_every_target_by_a_smooth_bump():
    h = Humanoid()
    ref = build_reference(h, bundled_clip("cmu01_03_walk_d").slice(0, 30), 80.0)
    start, end, delta = 10, 50, np.array([0.1, -0.2, 0.0])
    out = shifted(ref, start, end, delta)
    off = out.com - ref.com
    # zero outside the stretch and at its ends, the full shift at its middle
    assert np.allclose(off[: start + 1], 0.0) and np.allclose(off[end:], 0.0)
    assert np.allclose(off[(start + end) // 2], delta)
    # the root, the centre of mass and every body move together
    assert np.allclose(out.qpos[:, :3] - ref.qpos[:, :3], off)
    assert np.allclose(out.body_pos - ref.body_pos, off[:, None])
    # velocities and accelerations are the bump's derivatives (central differences, away from
    # the stretch's ends, where the acceleration steps from 0 to its full value: sin^2)
    vel, acc = out.com_vel - ref.com_vel, out.com_acc - ref.com_acc
    inner = np.r_[1:start, start + 1 : end, end + 1 : ref.num_steps - 1]
    assert np.allclose(vel[inner], np.gradient(off, ref.dt, axis=0)[inner], atol=0.01)
    inner = np.r_[1 : start - 1, start + 2 : end - 1, end + 2 : ref.num_steps - 1]
    assert np.allclose(acc[inner], np.gradient(vel, ref.dt, axis=0)[inner], atol=0.2)
    assert np.abs(acc).max() > 10.0  # (so the comparison above is not of zeros)
    assert np.allclose(out.qvel[:, :3] - ref.qvel[:, :3], vel) and np.allclose(out.qacc[:, :3] - ref.qacc[:, :3], acc)
    assert np.allclose(out.body_vel - ref.body_vel, vel[:, None]) and np.allclose(
        out.body_acc - ref.body_acc, acc[:, None]
    )
    # what a translation does not change
    for name in ("stance", "angmom", "angmom_rate"):
        assert np.array_equal(getattr(out, name), getattr(ref, name))
    assert np.array_equal(out.qpos[:, 3:], ref.qpos[:, 3:]) and np.array_equal(out.qvel[:, 3:], ref.qvel[:, 3:])
    with pytest.raises(ValueError, match="start < end"):
        shifted(ref, 20, 20, delta)
    with pytest.raises(ValueError, match="start < end"):
        shifted(ref, 0, ref.num_steps, delta)


class ScriptedSim:
    """A stand-in for search.Simulation over 100 steps of 0.01 s. The body falls at step 40
    unless the stretch tracked through it is shifted more than 5 cm along x; and at step 70
    if it went through step 40 on the first shift that got it there (`dead_end`), or on any
    (`blocked_at_70`), whatever the shifts tried at step 70: the search must go back to step
    40 and take another shift."""

    num_steps, dt = 100, 0.01

    def __init__(self, falls: bool = True, dead_end: bool = True, blocked_at_70: bool = False):
        self.falls, self.dead_end, self.blocked_at_70 = falls, dead_end, blocked_at_70
        self.steps = 0
        self.windows: list[tuple[int, int, np.ndarray]] = []
        self.first_through_40: float | None = None

    def start(self):
        return {"k": 0, "x40": 0.0}

    def run(self, state, k, stop, window=None):
        assert state["k"] == k, "a run starts from the state of its first step"
        if window is not None:
            self.windows.append(window)
        x40 = state["x40"]
        out = Segment(None, {}, {})
        last = min(stop, self.num_steps - 1)
        while True:
            if k % 8 == 0:
                out.checkpoints[k] = {"k": k, "x40": x40}
            self.steps += 1
            inside = window is not None and window[0] <= k <= window[1]
            if k == 40:
                x40 = window[2][0] if inside else 0.0
                if self.falls and x40 <= 0.05:
                    out.fell = k
                    return out
                if self.first_through_40 is None:
                    self.first_through_40 = x40
            dead = self.blocked_at_70 or (self.dead_end and x40 == self.first_through_40)
            if self.falls and k == 70 and dead:
                out.fell = k
                return out
            out.steps[k] = (np.array([k, x40]), True)
            if k == last:
                out.last = k
                if k < self.num_steps - 1:
                    out.state = {"k": k + 1, "x40": x40}
                return out
            k += 1


SCRIPTED = SearchConfig(samples=8, sigma_m=0.2, rewinds_s=(0.1, 0.2), after_s=0.1, budget=60.0, seed=0)


def test_the_search_backtracks_to_the_shift_that_gets_the_body_to_the_end():
    sim = ScriptedSim()
    outcome = depth_first(sim, SCRIPTED)
    assert outcome.path is not None and sorted(outcome.path) == list(range(100))
    # the path is one consistent run: from step 40 on it carries the shift that passed there,
    # not the first one (a dead end), and the shift kept is that one
    x40 = [outcome.path[k][0][1] for k in range(100)]
    assert all(x == 0.0 for x in x40[:40]) and len(set(x40[40:])) == 1
    assert x40[40] > 0.05 and x40[40] != sim.first_through_40
    assert [(fell, float(d[0])) for fell, d in outcome.shifts] == [(40, x40[40])]
    # the stretch at step 70 was searched (every shift of every rewind) before going back
    at_70 = [w for w in sim.windows if w[0] > 40]
    assert len(at_70) == SCRIPTED.samples * len(SCRIPTED.rewinds_s)
    # horizontal shifts whose spread grows: the first tried at a fall are the smallest
    at_40 = np.array([w[2] for w in sim.windows if w[0] <= 40 <= w[1]])
    assert np.all(at_40[:, 2] == 0.0)
    spread = SCRIPTED.sigma_m * np.arange(1, SCRIPTED.samples + 1) / SCRIPTED.samples
    first = at_40[: SCRIPTED.samples, :2]
    assert np.all(np.abs(first).max(axis=1) <= 4 * spread[: len(first)])
    # the same seed, the same search
    again = depth_first(ScriptedSim(), SCRIPTED)
    assert all(np.array_equal(again.path[k][0], outcome.path[k][0]) for k in range(100))


def test_a_body_that_does_not_fall_is_not_searched():
    sim = ScriptedSim(falls=False)
    outcome = depth_first(sim, SCRIPTED)
    assert sorted(outcome.path) == list(range(100)) and sim.windows == [] and sim.steps == 100
    assert outcome.furthest == 99 and outcome.shifts == []


def test_the_search_stops_at_its_budget_and_says_how_far_it_got():
    sim = ScriptedSim(blocked_at_70=True)  # step 70 cannot be passed at all
    outcome = depth_first(sim, SearchConfig(samples=8, rewinds_s=(0.1, 0.2), after_s=0.1, budget=3.0))
    assert outcome.path is None and outcome.shifts == []
    assert outcome.furthest == 69
    assert sim.steps <= 3.0 * 100 + 100  # the budget is checked before each shift's run
    # with a larger budget it is exhausted instead (every shift at 40 and 70 tried): no path
    sim = ScriptedSim(blocked_at_70=True)
    outcome = depth_first(sim, SCRIPTED)
    assert outcome.path is None and outcome.furthest == 69
    assert len([w for w in sim.windows if w[0] <= 40 <= w[1]]) == SCRIPTED.samples * len(SCRIPTED.rewinds_s)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"samples": 0}, "samples"),
        ({"samples": 2.5}, "samples"),
        ({"sigma_m": 0.0}, "sigma_m"),
        ({"budget": float("inf")}, "budget"),
        ({"rewinds_s": ()}, "rewinds_s"),
        ({"rewinds_s": (0.5, -1.0)}, "rewinds_s"),
        ({"rewinds_s": "0.5"}, "rewinds_s"),
        ({"seed": -1}, "seed"),
        ({"max_falls": 0}, "max_falls"),
        ({"max_falls": 2.0}, "max_falls"),
        ({"max_falls": True}, "max_falls"),
    ],
)
def test_search_config_is_checked(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SearchConfig(**kwargs)


def test_max_falls_says_which_clips_fell_too_often():
    assert [SearchConfig(max_falls=2).fell_too_often(n) for n in (1, 2, 3)] == [False, False, True]
    assert not SearchConfig(max_falls=None).fell_too_often(100)


def test_the_search_settings_load_from_a_table():
    from motionloop.config import from_dict

    cfg = from_dict(CorrectionConfig, {"search": {"samples": 4, "rewinds_s": [0.5]}})
    assert cfg.search == SearchConfig(samples=4, rewinds_s=(0.5,))
    assert from_dict(CorrectionConfig, {}).search == SearchConfig()
    with pytest.raises(ConfigError, match="search: SearchConfig.budget"):
        from_dict(CorrectionConfig, {"search": {"budget": 0}})
    with pytest.raises(ConfigError, match="CorrectionConfig.search"):
        CorrectionConfig(search=True)


def test_a_search_that_fails_skips_its_rung_and_keeps_the_other_attempts(monkeypatch, caplog):
    def broken(h, motion, cfg, search, reference=None):
        raise np.linalg.LinAlgError("scripted")

    monkeypatch.setattr(pc, "search_track", broken)
    # a standing clip: make every residual-free rung fall so that the search is reached
    real = pc._track_attempt

    def falls_free(h, motion, fixed, cfg, smooth_s, kind):
        if kind in ("firm", "planned"):
            return None
        attempt = real(h, motion, fixed, cfg, smooth_s, kind)
        if kind == "free":  # as if it fell and was assisted there
            attempt.name, attempt.fall_s = "local", 0.5
        return attempt

    monkeypatch.setattr(pc, "_track_attempt", falls_free)
    with caplog.at_level("WARNING", logger="motionloop.physics.correct"):
        _, (rep,) = correct([standing(frames=12)], CorrectionConfig(), names=["stand_s"])
    assert rep.error is None and not rep.searched and rep.success
    assert "stand_s: residual-free search failed, skipped: LinAlgError: scripted" in caplog.text


@pytest.mark.slow
def test_a_kick_that_falls_every_other_way_reaches_the_end_by_search():
    """dm_kick (1.5 s): every other residual-free attempt falls (the first at 1.09 s), and the
    assisted ones break the residual budget. The search gets the body to the end with no
    residual: the clip counts as tracked residual-free, and the searched attempt, the only
    success, is the output (farther from the input than verify_mpjpe_mm, so not verified)."""
    clip = bundled_clip("dm_kick")
    _, (without,) = correct([clip], CorrectionConfig(search=None))
    assert not without.success_free and not without.success and without.free_fall_s > 0
    _, (rep,) = correct([clip], CorrectionConfig())
    assert rep.success_free and rep.success and not rep.verified and rep.free_fall_s == without.free_fall_s
    assert (rep.attempt, rep.searched, rep.resets, rep.residual_bw, rep.assisted_share) == ("free", True, 0, 0.0, 0.0)
    assert rep.mpjpe_mm > CorrectionConfig().verify_mpjpe_mm
    assert summarize([rep, without])["searched_rate"] == 0.5
    assert summarize([rep, without])["success_free_rate"] == 0.5
