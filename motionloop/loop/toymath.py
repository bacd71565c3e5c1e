"""Pure functions of the toy tasks: Gaussian fits and distances, KDE sampling and likelihood,
and the rejection-sampling corrector of Gillman et al.'s 2-D toy.

All arrays are float64; points are rows `(N, d)`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from motionloop.errors import MotionloopError

MAX_CANDIDATES_PER_DRAW = 10_000  # rejection sampling gives up beyond this (a far-off histogram with t = 0)


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
    x_sq = np.sum(x**2, axis=1)[:, None]  # (M, 1)
    parts = []
    for start in range(0, n, chunk):
        p = points[start : start + chunk]
        # |x - p|^2 = |x|^2 + |p|^2 - 2 x.p: one matrix product instead of an (M, chunk, d) array
        # (4x faster on the accumulate pools); the round-off, ~1e-16 |x|^2, is far below h^2
        sq = np.maximum(x_sq + np.sum(p**2, axis=1)[None, :] - 2.0 * (x @ p.T), 0.0)  # (M, chunk)
        parts.append(logsumexp(-sq / (2.0 * bandwidth**2), axis=1))
    log_p = logsumexp(np.stack(parts, axis=1), axis=1) - np.log(n) - 0.5 * d * np.log(2.0 * np.pi * bandwidth**2)
    return float(-log_p.mean())


def normal_pdf_2d(x: np.ndarray, var: float) -> np.ndarray:
    """Density `(K,)` of N(0, var I_2) at points `x` `(K, 2)`."""
    return np.exp(-0.5 * np.sum(x**2, axis=1) / var) / (2.0 * np.pi * var)


Histogram2D = tuple[np.ndarray, np.ndarray, np.ndarray]  # density (bins, bins), x edges, y edges (bins + 1,)


def histogram_2d(points: np.ndarray, bins: int = 10) -> Histogram2D:
    """The bins x bins density histogram of `points` `(N, 2)`, bins spanning their min..max per
    axis (np.histogram2d, density=True)."""
    return np.histogram2d(points[:, 0], points[:, 1], bins=bins, density=True)


def histogram_pdf_2d(hist: Histogram2D, x: np.ndarray) -> np.ndarray:
    """Density `(K,)` of a histogram_2d at points `x` `(K, 2)`; zero outside its bins (but see below).

    The bin of a point is found as Gillman et al.'s script finds it: int((x - lowest edge) /
    bin width), a truncation toward zero, so points up to one bin width below the lowest
    edge of an axis also read that axis's first bin. Kept to reproduce the script; it adds
    mass on the low side of each axis (about one edge bin's worth).
    """
    dens, xedges, yedges = hist
    bins = dens.shape[0]
    ix = np.trunc((x[:, 0] - xedges[0]) / (xedges[1] - xedges[0]))
    iy = np.trunc((x[:, 1] - yedges[0]) / (yedges[1] - yedges[0]))
    inside = (ix >= 0) & (ix < bins) & (iy >= 0) & (iy < bins)
    out = np.zeros(x.shape[0])
    out[inside] = dens[ix[inside].astype(int), iy[inside].astype(int)]
    return out


def rejection_mixture_sample(
    points: np.ndarray, t: float, k: int, rng: np.random.Generator, bins: int = 10
) -> tuple[np.ndarray, dict[str, float]]:
    """`k` draws `(k, 2)` by rejection sampling from (1 - t) H(x) + t N(x; 0, I), H the
    histogram density of `points` `(N, 2)` (histogram_pdf_2d): Gillman et al.'s idealised
    corrector of strength gamma, t = gamma / (1 + gamma), as their toy script draws it.

    Proposal q = N(0, 2 I), bound M = N(0; 0, I) / q(0) = 2, the script's: it bounds the
    N(0, I) part only; where (1 - t) H exceeds M q the acceptance is capped at 1, so the draws
    follow min((1 - t) H + t N(0, I), M q), normalised. Candidates are drawn in batches and
    the first k accepted, in draw order, are kept: the distribution of the script's
    one-candidate-at-a-time loop (not its random stream).

    Returns the draws and {accept_rate: accepted / candidates used, over_bound_share: share
    of those candidates where the target exceeded M q}.
    """
    bound = 2.0  # N(0; 0, I) / N(0; 0, 2I) = (1 / 2 pi) / (1 / 4 pi)
    batch = max(64, 4 * k)  # acceptance is at most 1 / M = 1/2: one batch usually suffices
    hist = histogram_2d(points, bins)
    kept, used, over = [], 0, 0
    while sum(len(a) for a in kept) < k:
        if used >= MAX_CANDIDATES_PER_DRAW * k:
            raise MotionloopError(
                f"rejection sampling: {sum(len(a) for a in kept)} of {k} draws accepted after {used} "
                "candidates; the samples lie where the proposal N(0, 2I) hardly reaches"
            )
        x = np.sqrt(2.0) * rng.standard_normal((batch, 2))  # (batch, 2) ~ N(0, 2I)
        u = rng.random(batch)
        ratio = ((1.0 - t) * histogram_pdf_2d(hist, x) + t * normal_pdf_2d(x, 1.0)) / (bound * normal_pdf_2d(x, 2.0))
        accept = ratio > u
        need = k - sum(len(a) for a in kept)
        # candidates after the k-th acceptance were never needed: they count for nothing
        stop = batch if accept.sum() < need else int(np.flatnonzero(accept)[need - 1]) + 1
        kept.append(x[:stop][accept[:stop]])
        used, over = used + stop, over + int((ratio[:stop] > 1.0).sum())
    out = np.concatenate(kept, axis=0) if kept else np.zeros((0, 2))
    return out, {"accept_rate": k / used if used else 1.0, "over_bound_share": over / used if used else 0.0}
