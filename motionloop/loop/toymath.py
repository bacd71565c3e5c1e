"""Pure functions of the toy tasks: Gaussian fits and distances, KDE sampling and likelihood.

All arrays are float64; points are rows `(N, d)`.
"""
from __future__ import annotations

import numpy as np


def fit_gaussian(x: np.ndarray, unbiased: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean `(d,)` and covariance `(d, d)` of points `(N, d)`, N >= 2: the maximum-
    likelihood estimate (divides by N), or the unbiased one (N - 1) with `unbiased`."""
    x = np.asarray(x, np.float64)
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False, ddof=1 if unbiased else 0))


def psd_sqrt(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix (negative round-off clipped)."""
    w, v = np.linalg.eigh((cov + cov.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def sample_gaussian(mean: np.ndarray, cov: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """`k` draws `(k, d)` of N(mean, cov); a singular cov (fewer points than dimensions) is fine."""
    z = rng.standard_normal((k, mean.shape[0]))
    return mean + z @ psd_sqrt(cov)


def w2_gaussians(m1: np.ndarray, c1: np.ndarray, m2: np.ndarray, c2: np.ndarray) -> float:
    """Wasserstein-2 distance between N(m1, c1) and N(m2, c2), closed form:

    W2^2 = |m1 - m2|^2 + tr(c1 + c2 - 2 (c2^1/2 c1 c2^1/2)^1/2).
    """
    s2 = psd_sqrt(c2)
    cross = psd_sqrt(s2 @ c1 @ s2)
    w2sq = float(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2.0 * np.trace(cross))
    return float(np.sqrt(max(w2sq, 0.0)))


def gaussian_metrics(mean: np.ndarray, cov: np.ndarray) -> dict[str, float]:
    """Kazdan et al.'s metrics and W2 of a fit against the target N(0, I_d).

    Returns mean_sq_err (|mean|^2), trace_ratio (tr cov / d), det_ratio (det cov; 0 when
    singular) and w2.
    """
    d = mean.shape[0]
    sign, logdet = np.linalg.slogdet(cov)
    return {
        "mean_sq_err": float(np.sum(mean**2)),
        "trace_ratio": float(np.trace(cov) / d),
        "det_ratio": float(np.exp(logdet)) if sign > 0 else 0.0,
        "w2": w2_gaussians(mean, cov, np.zeros(d), np.eye(d)),
    }


def sample_kde(points: np.ndarray, bandwidth: float, k: int, rng: np.random.Generator) -> np.ndarray:
    """`k` draws `(k, d)` of the Gaussian KDE of `points` `(N, d)`: a random point plus N(0, h^2 I)."""
    idx = rng.integers(0, points.shape[0], k)
    return points[idx] + bandwidth * rng.standard_normal((k, points.shape[1]))


def kde_nll(points: np.ndarray, bandwidth: float, x: np.ndarray, chunk: int = 8192) -> float:
    """Mean negative log-likelihood (nats per point) of `x` `(M, d)` under the Gaussian KDE of
    `points` `(N, d)` with bandwidth h: p(x) = 1/N sum_i N(x; points_i, h^2 I).
    """
    n, d = points.shape
    running = np.full(x.shape[0], -np.inf)
    for start in range(0, n, chunk):
        p = points[start : start + chunk]
        sq = ((x[:, None, :] - p[None, :, :]) ** 2).sum(-1)  # (M, chunk)
        logk = -sq / (2.0 * bandwidth**2)
        running = np.logaddexp(running, np.logaddexp.reduce(logk, axis=1))
    log_p = running - np.log(n) - 0.5 * d * np.log(2.0 * np.pi * bandwidth**2)
    return float(-log_p.mean())
