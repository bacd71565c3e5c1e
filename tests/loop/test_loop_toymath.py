"""The toy tasks' pure functions against closed forms and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from motionloop.errors import UnknownNameError
from motionloop.loop import toymath
from motionloop.loop.datasets import DEFAULT_NOISE, sample_dataset


def test_w2_matches_the_one_dimensional_closed_form():
    # W2 between N(m1, s1^2) and N(m2, s2^2) is sqrt((m1 - m2)^2 + (s1 - s2)^2)
    got = toymath.w2_gaussians(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[0.25]]))
    assert got == pytest.approx(np.sqrt(3.0**2 + 1.5**2), rel=1e-12)


def test_w2_is_a_symmetric_distance_on_random_covariances():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    c1, c2 = a @ a.T + 0.1 * np.eye(3), b @ b.T + 0.1 * np.eye(3)
    m1, m2 = rng.normal(size=3), rng.normal(size=3)
    assert toymath.w2_gaussians(m1, c1, m1, c1) == pytest.approx(0.0, abs=1e-6)
    assert toymath.w2_gaussians(m1, c1, m2, c2) == pytest.approx(toymath.w2_gaussians(m2, c2, m1, c1), rel=1e-9)
    # commuting covariances: W2^2 = |dm|^2 + sum (sqrt(l1) - sqrt(l2))^2
    d1, d2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 9.0])
    assert toymath.w2_gaussians(m1, d1, m2, d2) ** 2 == pytest.approx(np.sum((m1 - m2) ** 2) + 1.0 + 1.0, rel=1e-9)


def test_gaussian_metrics_of_the_target_and_of_a_collapsed_fit():
    exact = toymath.gaussian_metrics(np.zeros(4), np.eye(4))
    assert exact == pytest.approx({"mean_sq_err": 0.0, "trace_ratio": 1.0, "det_ratio": 1.0, "w2": 0.0}, abs=1e-9)
    collapsed = toymath.gaussian_metrics(np.array([1.0, 0.0]), np.zeros((2, 2)))
    assert collapsed["det_ratio"] == 0.0 and collapsed["trace_ratio"] == 0.0
    assert collapsed["w2"] == pytest.approx(np.sqrt(1.0 + 2.0))  # mean offset 1, both sqrt-eigenvalues 1 -> 0


def test_fit_gaussian_mle_and_unbiased():
    x = np.random.default_rng(1).normal(size=(10, 2))
    mean, cov = toymath.fit_gaussian(x)
    _, cov_u = toymath.fit_gaussian(x, unbiased=True)
    assert np.allclose(mean, x.mean(0)) and np.allclose(cov * 10 / 9, cov_u)
    assert np.allclose(cov, (x - mean).T @ (x - mean) / 10)


def test_singular_gaussian_samples_stay_in_its_subspace():
    cov = np.diag([2.0, 0.0])
    z = toymath.sample_gaussian(np.array([1.0, 3.0]), cov, 2000, np.random.default_rng(0))
    assert np.all(z[:, 1] == pytest.approx(3.0)) and z[:, 0].var() == pytest.approx(2.0, rel=0.1)


def test_kde_nll_matches_brute_force_and_prefers_the_data():
    rng = np.random.default_rng(2)
    pts, x, h = rng.normal(size=(50, 2)), rng.normal(size=(7, 2)), 0.3
    dens = np.exp(-((x[:, None] - pts[None]) ** 2).sum(-1) / (2 * h**2)).mean(1) / (2 * np.pi * h**2)
    assert toymath.kde_nll(pts, h, x) == pytest.approx(-np.log(dens).mean(), rel=1e-10)
    assert toymath.kde_nll(pts, h, x, chunk=8) == pytest.approx(toymath.kde_nll(pts, h, x), rel=1e-12)
    assert toymath.kde_nll(pts, h, x) < toymath.kde_nll(pts + 5.0, h, x)


def test_kde_samples_have_the_data_variance_plus_the_bandwidth():
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(400, 2)) * 2.0
    s = toymath.sample_kde(pts, 0.5, 40000, rng)
    assert s.var(0) == pytest.approx(pts.var(0) + 0.25, rel=0.05)


def test_toy_datasets_have_their_shapes():
    rng = np.random.default_rng(4)
    for name in DEFAULT_NOISE:
        x = sample_dataset(name, 1000, rng)
        assert x.shape == (1000, 2) and np.all(np.isfinite(x))
    r = np.linalg.norm(sample_dataset("circles", 2000, rng, noise=0.0), axis=1)
    assert np.allclose(np.sort(np.unique(np.round(r, 6))), [0.5, 1.0])
    moons = sample_dataset("moons", 2000, rng, noise=0.0)
    upper = moons[:, 1] > 0.25
    assert np.allclose(np.linalg.norm(moons[upper], axis=1)[moons[upper, 0] < 0], 1.0)
    a, b = sample_dataset("blobs", 50, np.random.default_rng(9)), sample_dataset("blobs", 50, np.random.default_rng(9))
    assert np.array_equal(a, b)
    with pytest.raises(UnknownNameError, match="valid: blobs, circles, moons, swiss-roll"):
        sample_dataset("spiral", 3, rng)
