"""`evaluate`: the protocol, bad input, and validity on a synthetic real set.

Validity: at fixed n, FID of held-out real clips is at the real-vs-real floor, and grows
monotonically with each corruption (jitter, over-smoothing, floating, mode dropping), and a
single repeated clip has diversity 0 and a huge FID. The same checks on the bundled real
set and the shipped evaluator are in test_eval_bundled.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from synthetic import synthetic_clips

from motionloop.data import corrupt
from motionloop.errors import CheckpointError, MotionloopError
from motionloop.eval import METRIC_KEYS, evaluate, format_metrics
from motionloop.eval.errors import EvaluationError
from motionloop.motion import save_clips

N = 64


@pytest.fixture(scope="module")
def run(evaluator, real_clips):
    def run(clips, **kw):
        return evaluate(clips, real_clips, n=N, evaluator=evaluator, **kw)

    return run


@pytest.fixture(scope="module")
def heldout(run, heldout_clips):
    return run(heldout_clips)


def fids(run, clips_per_level):
    return [run(clips)["fid"] for clips in clips_per_level]


def assert_increasing(values):
    assert all(b > a for a, b in itertools.pairwise(values)), values


def test_result_keys_units_and_determinism(run, heldout, heldout_clips):
    assert tuple(heldout) == METRIC_KEYS and heldout["n"] == N
    for key in METRIC_KEYS[1:]:
        assert isinstance(heldout[key], float) and np.isfinite(heldout[key]), key
    assert 0 <= heldout["precision"] <= 1 and 0 <= heldout["recall"] <= 1 and heldout["accuracy"] > 0.8
    assert heldout["phys_err_mm"] == pytest.approx(heldout["penetrate_mm"] + heldout["float_mm"] + heldout["skate_mm"])
    assert run(heldout_clips) == heldout
    lines = format_metrics({**heldout, "accuracy": None}).splitlines()
    assert [ln.split()[0] for ln in lines] == list(METRIC_KEYS)
    assert lines[METRIC_KEYS.index("accuracy")].split()[1] == "-" and lines[0].split()[1] == str(N)
    assert run(heldout_clips, seed=1)["fid"] != heldout["fid"]


def test_heldout_real_is_at_the_floor(run, heldout, heldout_clips):
    # at n=64 the floor itself varies by a factor ~3 between draws: compare means over seeds
    results = [heldout] + [run(heldout_clips, seed=s) for s in (1, 2, 3)]
    floor = np.mean([r["fid_floor"] for r in results])
    assert np.mean([r["fid"] for r in results]) < 2 * floor
    assert heldout["diversity"] == pytest.approx(heldout["diversity_ref"], rel=0.15)
    assert heldout["precision"] > 0.5 and heldout["recall"] > 0.5


def test_fid_grows_with_joint_jitter(run, heldout, heldout_clips):
    levels = (0.005, 0.01, 0.02, 0.05, 0.1)  # radians on every axis-angle component
    values = fids(run, [[corrupt.jitter(m, s, np.random.default_rng(0)) for m in heldout_clips] for s in levels])
    assert_increasing([heldout["fid"]] + values)
    assert values[0] > 3 * heldout["fid"]


def test_fid_grows_with_temporal_oversmoothing(run, heldout, heldout_clips):
    values = fids(run, [[corrupt.smooth(m, s) for m in heldout_clips] for s in (0.05, 0.1, 0.2, 0.4)])
    assert_increasing([heldout["fid"]] + values)


def test_fid_and_float_grow_with_root_floating(run, heldout, heldout_clips):
    results = [run([corrupt.lift(m, h) for m in heldout_clips]) for h in (0.02, 0.05, 0.1, 0.2)]
    assert_increasing([heldout["fid"]] + [r["fid"] for r in results])
    assert_increasing([heldout["float_mm"]] + [r["float_mm"] for r in results])
    # +200 mm, less up to 5 mm where the sole was within the contact tolerance (floating 0) before
    assert results[-1]["float_mm"] - heldout["float_mm"] == pytest.approx(200.0, abs=6.0)


def test_fid_grows_when_modes_are_dropped(run, heldout):
    three = run(synthetic_clips(16, seed=2, frames=120, labels=("walk", "wave", "squat")))
    assert three["fid"] > 3 * heldout["fid"]
    assert three["recall"] < heldout["recall"] - 0.2
    assert three["diversity"] < heldout["diversity"]


def test_one_repeated_clip_has_zero_diversity_and_huge_fid(run, heldout, heldout_clips):
    r = run([heldout_clips[0].slice(0, 40)] * N)
    assert r["diversity"] == 0.0
    assert r["fid"] > 10 * heldout["fid"]


def test_reference_from_a_directory_and_labels_optional(run, heldout, heldout_clips, real_clips, evaluator, tmp_path):
    save_clips(real_clips, tmp_path / "ref")
    assert evaluate(heldout_clips, tmp_path / "ref", n=N, evaluator=evaluator) == heldout
    unlabelled = run([m.replace(label=None) for m in heldout_clips])
    assert unlabelled["accuracy"] is None and unlabelled["multimodality"] is None
    assert unlabelled["fid"] == heldout["fid"]


def test_clips_at_another_fps_are_resampled(run, heldout, heldout_clips):
    r = run([m.resample(30.0) for m in heldout_clips])
    assert r["n"] == N and r["fid"] < 2 * heldout["fid"]


def test_bad_input(run, heldout_clips, real_clips, evaluator, tmp_path):
    with pytest.raises(EvaluationError, match="no clips"):
        run([])
    short = heldout_clips[:2] + [heldout_clips[2].slice(0, 39)]
    with pytest.raises(
        EvaluationError, match=r"shorter than the evaluator's window of 40 frames.*synthetic:walk \(39 frames\)"
    ):
        run(short)
    with pytest.raises(EvaluationError, match="n=5000 windows asked"):
        evaluate(heldout_clips, real_clips, n=5000, evaluator=evaluator)
    with pytest.raises(EvaluationError, match="reference half"):
        evaluate(heldout_clips, real_clips[:1], n=N, evaluator=evaluator)
    with pytest.raises(EvaluationError, match="n must be an integer"):
        evaluate(heldout_clips, real_clips, n=1, evaluator=evaluator)
    with pytest.raises(EvaluationError, match="no reference clip"):
        evaluate(heldout_clips, [m.slice(0, 10) for m in real_clips], n=N, evaluator=evaluator)
    with pytest.raises(EvaluationError, match="reference: expected"):
        evaluate(heldout_clips, 42, n=N, evaluator=evaluator)
    (tmp_path / "bad.pt").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="bad.pt"):
        evaluate(heldout_clips, real_clips, n=N, evaluator=tmp_path / "bad.pt")
    with pytest.raises(MotionloopError, match="no such file"):
        evaluate(heldout_clips, tmp_path / "nowhere", n=N, evaluator=evaluator)
