"""Gillman et al.'s 2-D toy as their script runs it: the accumulate-schedule workflow, the
rejection-sampling ideal corrector, the ML fit, and the scsc-toy preset's process."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from motionloop.errors import ConfigError
from motionloop.io import read_jsonl
from motionloop.loop import run_loop, toymath
from motionloop.loop.configio import from_dict, load_config
from motionloop.loop.engine import make_task
from motionloop.loop.toy import GaussianTask
from motionloop.loop.workflows import schedule_counts, training_set


def _scsc(**top) -> dict:
    d = {
        "name": "scsc",
        "task": "gaussian",
        "generations": 3,
        "n": 4,
        "seeds": [0],
        "lambdas": [1.0],
        "workflow": "accumulate-schedule",
        "arms": [{"name": "rej", "correction": "ideal", "gamma": 1.0, "ideal_method": "rejection"}],
        "gaussian": {"dim": 2},
    }
    d.update(top)
    return d


def _arm(gamma: float):
    return from_dict(
        _scsc(arms=[{"name": "a", "correction": "ideal", "gamma": gamma, "ideal_method": "rejection"}])
    ).arms[0]


# ---------------------------------------------------------------- the schedule


def test_schedule_takes_a_fading_share_and_the_newest_set_whole():
    # g = 3 sets of 4: floor(1/3 * 4) = 1, floor(2/3 * 4) = 2, 4
    assert schedule_counts([4, 4, 4]) == [1, 2, 4]
    assert schedule_counts([25]) == [25]
    assert schedule_counts([25] * 4) == [6, 12, 18, 25]
    # the script: at its step i it takes int((j + 1) / (i + 1) * 25) of its step j's set
    for g in (1, 2, 7, 99, 500):
        assert schedule_counts([25] * g) == [int(((j + 1) / g) * 25) for j in range(g)]


def test_training_set_is_the_real_data_then_the_first_items_of_each_set():
    task = GaussianTask(from_dict(_scsc()))
    real = np.zeros((4, 2))
    sets = [np.full((4, 2), k) + np.arange(4)[:, None] / 10 for k in (1.0, 2.0, 3.0)]  # row i of S_k = k + i/10
    train = training_set(task, "accumulate-schedule", real, sets, 4, np.random.default_rng(0))
    expected = np.concatenate([real, sets[0][:1], sets[1][:2], sets[2]])
    assert np.array_equal(train, expected)
    assert np.array_equal(training_set(task, "accumulate-schedule", real, [], 4, np.random.default_rng(0)), real)


# ---------------------------------------------------------------- the rejection corrector


def test_histogram_density_is_read_as_the_script_reads_it():
    points = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.05, 0.05]])  # edges 0, 0.1, .., 1 on both axes
    hist = toymath.histogram_2d(points)
    dens = hist[0]
    assert dens.sum() * 0.1 * 0.1 == pytest.approx(1.0)
    x = np.array([[0.03, 0.02], [0.95, 0.95], [0.5, 0.5], [-0.05, 0.02], [-0.15, 0.02], [0.03, 1.05], [1.2, 0.5]])
    got = toymath.histogram_pdf_2d(hist, x)
    assert got[0] == dens[0, 0] == pytest.approx(2 / 4 / 0.01) and got[1] == dens[9, 9] and got[2] == 0.0
    # the script truncates toward zero: up to one bin below the lowest edge reads the first bin
    assert got[3] == dens[0, 0] and got[4] == 0.0
    assert got[5] == 0.0 and got[6] == 0.0  # above the top edge: zero


def _capped_mixture_mean(points: np.ndarray, t: float) -> np.ndarray:
    """Mean of min(q, p / M) normalised (what rejection with the script's bound draws), on a grid."""
    h = 0.02
    ax = np.arange(-7.0, 7.0, h) + h / 2
    grid = np.stack(np.meshgrid(ax, ax, indexing="ij"), -1).reshape(-1, 2)
    p = (1 - t) * toymath.histogram_pdf_2d(toymath.histogram_2d(points), grid) + t * toymath.normal_pdf_2d(grid, 1.0)
    dens = np.minimum(toymath.normal_pdf_2d(grid, 2.0), p / 2.0)
    return (grid * dens[:, None]).sum(0) / dens.sum()


def test_rejection_draws_the_capped_histogram_mixture():
    synthetic = np.random.default_rng(3).multivariate_normal([0.5, -0.3], [[1.0, 0.3], [0.3, 0.7]], 25)
    for t in (0.0, 0.5):
        x, stats = toymath.rejection_mixture_sample(synthetic, t, 20000, np.random.default_rng(1))
        assert x.shape == (20000, 2) and 0 < stats["accept_rate"] <= 1
        se = x.std(0) / np.sqrt(len(x))
        assert np.all(np.abs(x.mean(0) - _capped_mixture_mean(synthetic, t)) < 4 * se), t
    # gamma 0: every draw lies where the histogram is non-zero
    x, stats = toymath.rejection_mixture_sample(synthetic, 0.0, 2000, np.random.default_rng(2))
    assert np.all(toymath.histogram_pdf_2d(toymath.histogram_2d(synthetic), x) > 0)
    # with 25 points every occupied bin exceeds the script's bound 2 N(x; 0, 2I), so gamma 0
    # draws N(0, 2I) restricted to the occupied bins: every candidate there is accepted
    assert stats["over_bound_share"] == pytest.approx(stats["accept_rate"])


def test_rejection_at_gamma_zero_keeps_a_histogram_that_respects_the_bound():
    # N(0, 1.5 I) stays below 2 N(0, 2I) everywhere: the draws follow the histogram itself
    synthetic = np.random.default_rng(4).multivariate_normal([0.2, -0.1], 1.5 * np.eye(2), 20000)
    task = GaussianTask(from_dict(_scsc()))
    out, _, stats = task.correct(synthetic, _arm(0.0), seed=5)
    assert out.shape == synthetic.shape and not np.array_equal(out, synthetic)
    assert np.allclose(out.mean(0), synthetic.mean(0), atol=0.06)
    assert np.allclose(np.cov(out.T), np.cov(synthetic.T), atol=0.25)  # plus the bins' width^2 / 12
    assert stats["over_bound_share"] < 0.01


def test_rejection_moves_the_set_toward_the_target_as_gamma_grows():
    synthetic = np.random.default_rng(6).multivariate_normal([1.5, -1.0], 0.3 * np.eye(2), 4000)
    task = GaussianTask(from_dict(_scsc()))
    w2 = []
    for gamma in (0.0, 0.1, 1.0, 10.0, 1e6):
        out, _, _ = task.correct(synthetic, _arm(gamma), seed=7)
        mean, cov = toymath.fit_gaussian(out)
        w2.append(toymath.gaussian_metrics(mean, cov)["w2"])
    assert all(a > b for a, b in itertools.pairwise(w2)), w2
    # gamma huge: N(0, I) itself (its density is below the bound), up to sampling noise
    assert np.allclose(mean, 0.0, atol=0.06) and np.allclose(cov, np.eye(2), atol=0.1)


def test_rejection_is_seeded_and_vectorised_draws_match_their_seed():
    synthetic = np.random.default_rng(8).standard_normal((25, 2))
    task = GaussianTask(from_dict(_scsc()))
    a, _, _ = task.correct(synthetic, _arm(1.0), seed=11)
    b, _, _ = task.correct(synthetic, _arm(1.0), seed=11)
    c, _, _ = task.correct(synthetic, _arm(1.0), seed=12)
    assert np.array_equal(a, b) and not np.array_equal(a, c) and a.shape == (25, 2)


def test_rejection_needs_a_two_dimensional_gaussian():
    with pytest.raises(
        ConfigError, match=r"arms.rej.ideal_method: 'rejection' .*gaussian.dim = 2, got 3; use ideal_method 'swap'"
    ):
        make_task(from_dict(_scsc(gaussian={"dim": 3})))
    kde = _scsc(task="kde", kde={"dataset": "moons"})
    del kde["gaussian"]
    with pytest.raises(ConfigError, match=r"arms.rej.ideal_method: .*needs task 'gaussian'.* not task 'kde'"):
        make_task(from_dict(kde))
    make_task(from_dict(_scsc(gaussian={"dim": 3}, arms=[{"name": "swap", "correction": "ideal", "gamma": 1.0}])))


# ---------------------------------------------------------------- the fit


def test_mle_fit_is_sklearn_gaussian_mixture_up_to_its_reg_covar():
    mixture = pytest.importorskip("sklearn.mixture")
    x = np.random.default_rng(9).multivariate_normal([0.3, -0.2], [[1.2, 0.4], [0.4, 0.8]], 75)
    gm = mixture.GaussianMixture(n_components=1, tol=1e-9, random_state=1).fit(x)
    mean, cov = toymath.fit_gaussian(x)
    assert np.allclose(gm.means_[0], mean, atol=1e-12)
    assert np.allclose(gm.covariances_[0], cov + 1e-6 * np.eye(2), atol=1e-12)
    w2 = toymath.gaussian_metrics(mean, cov)["w2"]
    assert abs(toymath.gaussian_metrics(gm.means_[0], gm.covariances_[0])["w2"] - w2) < 1e-5


# ---------------------------------------------------------------- the preset and a short run


def test_scsc_toy_preset_is_the_scripts_process():
    cfg = load_config("scsc-toy")
    assert (cfg.n, cfg.lambdas, cfg.generations, cfg.workflow) == (50, (0.5,), 500, "accumulate-schedule")
    assert cfg.synthetic_count(0.5) == 25 and cfg.gaussian.dim == 2 and cfg.gaussian.estimator == "mle"
    assert {(a.correction, a.ideal_method) for a in cfg.arms} == {("ideal", "rejection")}
    assert [a.gamma for a in cfg.arms] == pytest.approx([0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 2.0, 5.0], abs=1e-9)
    assert len(cfg.seeds) >= 8


def test_a_short_run_orders_w2_by_gamma_and_trains_on_the_schedule(tmp_path):
    cfg = load_config("scsc-toy", ["generations=30", "seeds=[0, 1]"])
    cfg = dataclasses.replace(cfg, arms=tuple(a for a in cfg.arms if a.name in ("gamma0", "gamma5")))
    records = read_jsonl(run_loop(cfg, tmp_path / "run", progress=False) / "metrics.jsonl")
    late = {(r["arm"], r["seed"]): [] for r in records}
    for r in records:
        if r["generation"] >= 10:
            late[r["arm"], r["seed"]].append(r["w2"])
    for seed in (0, 1):
        assert np.mean(late["gamma0", seed]) > 1.3 * np.mean(late["gamma5", seed]), seed
    sizes = {r["generation"]: r["train_size"] for r in records if r["arm"] == "gamma5" and r["seed"] == 0}
    for g in (1, 2, 3, 30):
        assert sizes[g] == 50 + sum(schedule_counts([25] * g))
    assert sizes[1] == 75 and sizes[2] == 50 + 12 + 25
