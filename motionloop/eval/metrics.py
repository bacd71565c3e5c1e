"""Distribution metrics on embeddings: pure functions of arrays that never modify their inputs.

Conventions: a set of embeddings is a `(N, D)` array, one row per sample; labels are `(N,)`.
Every computation runs in float64. Random pair draws take a `seed` so a metric is a function
of its arguments alone.
"""

from __future__ import annotations

import numpy as np

from motionloop.eval.errors import EvaluationError


def _feats(x, name: str, min_rows: int = 1) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise EvaluationError(f"{name}: expected a (N, D) array of embeddings, got shape {a.shape}")
    if len(a) < min_rows:
        raise EvaluationError(f"{name}: needs at least {min_rows} samples, got {len(a)}")
    if not np.all(np.isfinite(a)):
        raise EvaluationError(f"{name}: embeddings contain non-finite values")
    return a


def _psd_sqrt(c: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix `(D, D)`; tiny negative eigenvalues -> 0."""
    w, v = np.linalg.eigh((c + c.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """Frechet distance between Gaussians N(mu1, cov1) and N(mu2, cov2).

    d^2 = |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr((C1 C2)^(1/2)).

    tr((C1 C2)^(1/2)) equals tr((S C2 S)^(1/2)) with S = C1^(1/2): S C2 S is symmetric PSD, so
    its eigenvalues come from `eigh` and stay real; round-off makes some slightly negative on
    (near-)singular covariances (fewer samples than dimensions), and those are clamped to 0.
    This avoids the complex results and failures of a general `sqrtm(C1 @ C2)`.

    Args:
        mu1, mu2: `(D,)` means; cov1, cov2: `(D, D)` symmetric PSD covariances.
    Returns:
        the squared distance (>= 0), in squared embedding units, as FID reports it.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    c1, c2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    d = mu1.shape[0] if mu1.ndim == 1 else -1
    for name, a, shape in (("mu1", mu1, (d,)), ("mu2", mu2, (d,)), ("cov1", c1, (d, d)), ("cov2", c2, (d, d))):
        if d < 1 or a.shape != shape:
            raise EvaluationError(f"frechet_distance: {name} has shape {a.shape}, expected {shape} (D from mu1)")
        if not np.all(np.isfinite(a)):
            raise EvaluationError(f"frechet_distance: {name} contains non-finite values")
    s1 = _psd_sqrt(c1)
    m = s1 @ c2 @ s1
    w = np.linalg.eigvalsh((m + m.T) / 2)
    tr_covmean = float(np.sum(np.sqrt(np.clip(w, 0.0, None))))
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(c1) + np.trace(c2) - 2.0 * tr_covmean)
    # the exact value is >= 0; round-off on identical inputs can leave -1e-12
    return max(value, 0.0)


def gaussian_stats(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean `(D,)` and unbiased covariance `(D, D)` of embeddings `(N, D)`, N >= 2."""
    f = _feats(feats, "gaussian_stats", min_rows=2)
    return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def fid(feats_a, feats_b) -> float:
    """Frechet distance between the Gaussian fits of two embedding sets `(Na, D)`, `(Nb, D)`.

    FID is biased upwards at small N and the bias depends on N; compare values at equal N only.
    """
    a = _feats(feats_a, "fid: feats_a", min_rows=2)
    b = _feats(feats_b, "fid: feats_b", min_rows=2)
    if a.shape[1] != b.shape[1]:
        raise EvaluationError(f"fid: embedding widths differ ({a.shape[1]} vs {b.shape[1]})")
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


def _pair_distances(f: np.ndarray, n_pairs: int, rng: np.random.Generator) -> np.ndarray:
    """Distances of `n_pairs` random pairs of distinct rows of `f (N, D)`, N >= 2."""
    i = rng.integers(0, len(f), n_pairs)
    j = (i + rng.integers(1, len(f), n_pairs)) % len(f)  # uniform over the other rows
    return np.linalg.norm(f[i] - f[j], axis=1)


def diversity(feats, n_pairs: int = 300, seed: int = 0) -> float:
    """Mean Euclidean distance of `n_pairs` random pairs of distinct samples (HumanML3D: 300).

    Args:
        feats: `(N, D)` embeddings, N >= 2.
    Returns:
        the mean distance in embedding units; 0 when all samples are equal.
    """
    f = _feats(feats, "diversity", min_rows=2)
    if n_pairs < 1:
        raise EvaluationError(f"diversity: n_pairs must be >= 1, got {n_pairs}")
    return float(_pair_distances(f, n_pairs, np.random.default_rng(seed)).mean())


def multimodality(feats, labels, n_pairs: int = 20, seed: int = 0) -> float:
    """Mean distance of random pairs drawn within the same label (action-to-motion protocol).

    Each label with at least two samples contributes `n_pairs` pairs; labels with one sample
    are skipped.

    Args:
        feats: `(N, D)` embeddings; labels: `(N,)` hashable labels (str or int).
    Returns:
        the mean within-label pair distance in embedding units.
    """
    f = _feats(feats, "multimodality")
    lab = np.asarray(labels)
    if lab.shape != (len(f),):
        raise EvaluationError(f"multimodality: labels has shape {lab.shape}, expected ({len(f)},)")
    if n_pairs < 1:
        raise EvaluationError(f"multimodality: n_pairs must be >= 1, got {n_pairs}")
    rng = np.random.default_rng(seed)
    dists = []
    for value in sorted(set(lab.tolist()), key=str):
        members = f[lab == value]
        if len(members) >= 2:
            dists.append(_pair_distances(members, n_pairs, rng))
    if not dists:
        raise EvaluationError("multimodality: no label has two or more samples")
    return float(np.concatenate(dists).mean())


def accuracy(logits_or_preds, labels) -> float:
    """Share of correct predictions.

    Args:
        logits_or_preds: `(N, C)` scores (argmax is the prediction) or `(N,)` predicted classes.
        labels: `(N,)` true classes.
    Returns:
        accuracy in [0, 1].
    """
    p = np.asarray(logits_or_preds)
    y = np.asarray(labels)
    if p.ndim == 2:
        p = p.argmax(1)
    if p.ndim != 1 or y.shape != p.shape or len(y) == 0:
        raise EvaluationError(
            f"accuracy: predictions {np.asarray(logits_or_preds).shape} and labels {y.shape} must be (N, C) or (N,) and (N,), N >= 1"
        )
    return float(np.mean(p == y))


def _kth_nn_radius(f: np.ndarray, k: int) -> np.ndarray:
    """Distance `(N,)` of each row of `f (N, D)` to its k-th nearest other row."""
    d = _cdist(f, f)
    # column 0 of the sorted row is the point itself (distance 0)
    return np.partition(d, k, axis=1)[:, k]


def _cdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances `(Na, Nb)` via |a|^2 + |b|^2 - 2ab, clamped at 0 against round-off."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(sq, 0.0, None))


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN manifolds.

    Each set's manifold is the union of balls around its samples, each reaching that sample's
    k-th nearest neighbour in the same set. Precision: share of fake samples inside the real
    manifold (quality). Recall: share of real samples inside the fake manifold (coverage).

    Args:
        real: `(Nr, D)`, fake: `(Nf, D)` embeddings, each with more than k samples.
    Returns:
        (precision, recall), each in [0, 1].
    """
    if k < 1:
        raise EvaluationError(f"precision_recall: k must be >= 1, got {k}")
    r = _feats(real, "precision_recall: real", min_rows=k + 1)
    f = _feats(fake, "precision_recall: fake", min_rows=k + 1)
    if r.shape[1] != f.shape[1]:
        raise EvaluationError(f"precision_recall: embedding widths differ ({r.shape[1]} vs {f.shape[1]})")
    d_fr = _cdist(f, r)  # (Nf, Nr)
    precision = float(np.mean((d_fr <= _kth_nn_radius(r, k)[None, :]).any(1)))
    recall = float(np.mean((d_fr.T <= _kth_nn_radius(f, k)[None, :]).any(1)))
    return precision, recall
