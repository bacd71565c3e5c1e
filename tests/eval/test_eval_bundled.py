"""Validity of the shipped evaluator on the bundled real set (slow: ~1 minute).

The bundled clips are split in time as the evaluator was trained (their last
`config.holdout` held out); the held-out ends are evaluated against the rest, as they are
and damaged (eval/validity.py). Skipped when the bundled data or weights are missing.
"""

from __future__ import annotations

import itertools

import pytest

from motionloop.errors import MotionloopError
from motionloop.eval import Evaluator, load_reference
from motionloop.eval.validity import JITTER_RAD, LIFT_M, SMOOTH_S, time_split, validity_rows

pytestmark = pytest.mark.slow
N = 128


@pytest.fixture(scope="module")
def shipped():
    try:
        return Evaluator.load(), load_reference("bundled")
    except MotionloopError as e:
        pytest.skip(f"bundled data or shipped evaluator unavailable: {e}")


@pytest.fixture(scope="module")
def rows(shipped):
    ev, clips = shipped
    reference, heldout = time_split(clips, ev.config.holdout, ev.window)
    return {(r["damage"], r["level"]): r for r in validity_rows(heldout, reference, ev, n=N, seed=0)}


def test_shipped_evaluator_recognises_heldout_windows(shipped):
    ev, clips = shipped
    assert set(ev.labels) == {m.label for m in clips if m.label is not None}
    chance = 1.0 / len(ev.labels)
    assert ev.train["heldout_accuracy"] > 2 * chance


def test_heldout_is_at_the_floor_and_every_damage_raises_fid(rows):
    base = rows[("none", 0)]
    assert base["fid"] < 3 * base["fid_floor"]
    for damage, levels in (("jitter", JITTER_RAD), ("smooth", SMOOTH_S), ("lift", LIFT_M)):
        fids = [base["fid"]] + [rows[(damage, lv)]["fid"] for lv in levels]
        assert all(b > a for a, b in itertools.pairwise(fids)), (damage, fids)
    floats = [base["float_mm"]] + [rows[("lift", h)]["float_mm"] for h in LIFT_M]
    assert all(b > a for a, b in itertools.pairwise(floats))
    assert rows[("mode_drop", 3)]["fid"] > base["fid"]


def test_repeated_clip_has_zero_diversity_and_huge_fid(rows):
    rep = rows[("repeat", 1)]
    assert rep["diversity"] == 0.0
    base = rows[("none", 0)]
    assert rep["fid"] > 4 * base["fid"] and rep["fid"] > 5 * base["fid_floor"]
    assert rep["fid"] > rows[("mode_drop", 3)]["fid"]
