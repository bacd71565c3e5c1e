"""The pure metric functions: FID against a scipy reference, and the properties of each metric."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from motionloop.errors import MotionloopError
from motionloop.eval import metrics as M


def reference_frechet(mu1, c1, mu2, c2) -> float:
    """The straightforward formula with scipy's general matrix square root."""
    covmean = scipy.linalg.sqrtm(c1 @ c2)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(c1) + np.trace(c2) - 2 * np.trace(covmean))


def random_sets(seed: int, n: int = 400, d: int = 24):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d))
    a = rng.normal(size=(n, d)) @ mix
    b = rng.normal(size=(n, d)) @ (mix + 0.3 * rng.normal(size=(d, d))) + rng.normal(size=d)
    return a, b


@pytest.mark.parametrize("seed", range(5))
def test_frechet_matches_scipy_sqrtm_reference(seed):
    a, b = random_sets(seed)
    stats = (*M.gaussian_stats(a), *M.gaussian_stats(b))
    ours = M.frechet_distance(*stats)
    ref = reference_frechet(*stats)
    assert ours == pytest.approx(ref, rel=1e-6)
    assert M.fid(a, b) == pytest.approx(ref, rel=1e-6)


def test_fid_symmetric_and_zero_on_identical_sets():
    a, b = random_sets(7)
    assert M.fid(a, b) == pytest.approx(M.fid(b, a), rel=1e-9)
    assert M.fid(a, a) == pytest.approx(0.0, abs=1e-8)
    assert M.fid(a, b) > 1.0


def test_fid_of_shifted_gaussians_is_squared_mean_distance():
    a, _ = random_sets(3)
    shift = np.arange(a.shape[1], dtype=float) / 10
    assert M.fid(a, a + shift) == pytest.approx(shift @ shift, rel=1e-6)


def test_frechet_stable_on_singular_covariances():
    # fewer samples than dimensions: both covariances are rank-deficient
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(20, 64)) + 0.5
    d = M.fid(a, b)
    assert np.isfinite(d) and d > 0
    assert M.fid(a, a) == pytest.approx(0.0, abs=1e-7)
    # a covariance of rank 1 against itself
    v = rng.normal(size=(8, 1))
    c = v @ v.T
    assert M.frechet_distance(np.zeros(8), c, np.zeros(8), c) == pytest.approx(0.0, abs=1e-9)


def test_metrics_do_not_modify_inputs():
    a, b = random_sets(1, n=50, d=6)
    labels = np.arange(50) % 3
    copies = a.copy(), b.copy(), labels.copy()
    M.fid(a, b), M.diversity(a), M.multimodality(a, labels), M.precision_recall(a, b), M.accuracy(a[:, :3], labels)
    mu, cov = M.gaussian_stats(a)
    mu_c, cov_c = mu.copy(), cov.copy()
    M.frechet_distance(mu, cov, mu, cov)
    assert all(np.array_equal(x, y) for x, y in zip((a, b, labels, mu, cov), (*copies, mu_c, cov_c)))


def test_diversity_zero_on_one_repeated_sample_and_scales_with_distance():
    a, _ = random_sets(2, n=100, d=8)
    assert M.diversity(np.repeat(a[:1], 50, axis=0)) == 0.0
    assert M.diversity(3 * a, seed=4) == pytest.approx(3 * M.diversity(a, seed=4))
    assert M.diversity(a, seed=1) == M.diversity(a, seed=1)


def test_diversity_is_mean_pair_distance():
    # two points at distance 5: every pair of distinct samples is that pair
    pts = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert M.diversity(pts, n_pairs=50) == pytest.approx(5.0)


def test_multimodality_uses_pairs_within_a_label():
    # label 0 spread along x, label 1 a single repeated point far away
    f = np.array([[0.0, 0], [1, 0], [0, 100], [0, 100]])
    mm = M.multimodality(f, np.array([0, 0, 1, 1]), n_pairs=100)
    assert mm == pytest.approx(0.5)  # label 0 pairs: distance 1; label 1 pairs: 0
    with pytest.raises(MotionloopError, match="two or more"):
        M.multimodality(f, np.array([0, 1, 2, 3]))


def test_accuracy_from_logits_or_predictions():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [0.0, 1.0]])
    labels = np.array([0, 1, 1, 1])
    assert M.accuracy(logits, labels) == 0.75
    assert M.accuracy(np.array([0, 1, 0, 1]), labels) == 0.75
    with pytest.raises(MotionloopError):
        M.accuracy(logits, labels[:3])


def test_precision_recall_identity_disjoint_and_mode_dropping():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0], [10, 0], [0, 10], [10, 10]])
    real = np.concatenate([c + rng.normal(size=(100, 2)) for c in centres])
    assert M.precision_recall(real, real) == (1.0, 1.0)
    p, r = M.precision_recall(real, real + 100.0)
    assert p == 0.0 and r == 0.0
    # a generator that covers one mode only: its samples are real-looking, coverage is 1/4
    one_mode = centres[0] + rng.normal(size=(400, 2))
    p, r = M.precision_recall(real, one_mode)
    assert p > 0.9 and 0.15 < r < 0.35


@pytest.mark.parametrize(
    "call",
    [
        lambda: M.fid(np.zeros((1, 3)), np.zeros((5, 3))),
        lambda: M.fid(np.zeros((5, 3)), np.zeros((5, 4))),
        lambda: M.fid(np.zeros(5), np.zeros((5, 3))),
        lambda: M.fid(np.full((5, 3), np.nan), np.zeros((5, 3))),
        lambda: M.frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3)),
        lambda: M.diversity(np.zeros((1, 3))),
        lambda: M.diversity(np.zeros((4, 3)), n_pairs=0),
        lambda: M.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3),
        lambda: M.precision_recall(np.zeros((10, 2)), np.zeros((10, 2)), k=0),
    ],
)
def test_bad_metric_input_is_a_motionloop_error(call):
    with pytest.raises(MotionloopError):
        call()
