"""2-D toy distributions for the KDE task, like scikit-learn's make_blobs / make_circles /
make_moons / make_swiss_roll, written with numpy (no scikit-learn dependency).

Unlike scikit-learn's circles and moons, whose angles are evenly spaced, angles here are drawn
at random: every call is an i.i.d. sample of one fixed distribution, which the loop needs
(real data, held-out data and the ideal corrector's fresh samples all come from it).
"""

from __future__ import annotations

import numpy as np

from motionloop.errors import UnknownNameError

DEFAULT_NOISE = {"blobs": 1.0, "circles": 0.05, "moons": 0.05, "swiss-roll": 0.5}
# three fixed blob centres in the box (-10, 10)^2, as make_blobs' default three clusters
BLOB_CENTERS = np.array([[-6.0, 2.0], [3.5, 7.0], [5.0, -5.5]])
CIRCLE_FACTOR = 0.5  # inner radius / outer radius


def sample_dataset(name: str, k: int, rng: np.random.Generator, noise: float | None = None) -> np.ndarray:
    """`k` i.i.d. points `(k, 2)` float64 of the named distribution.

    Args:
        name: "blobs" (3 isotropic clusters, std = noise), "circles" (radii 1 and 0.5),
            "moons" (two interleaved half circles of radius 1), "swiss-roll" (the (x, z)
            plane of scikit-learn's roll, t in [1.5 pi, 4.5 pi]).
        noise: standard deviation of the added Gaussian noise (None = DEFAULT_NOISE).
    """
    if name not in DEFAULT_NOISE:
        raise UnknownNameError("dataset", name, DEFAULT_NOISE)
    sd = DEFAULT_NOISE[name] if noise is None else float(noise)
    if name == "blobs":
        centers = BLOB_CENTERS[rng.integers(0, len(BLOB_CENTERS), k)]
        return centers + sd * rng.standard_normal((k, 2))
    if name == "swiss-roll":
        t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(k))
        pts = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    else:
        inner = rng.random(k) < 0.5
        if name == "circles":
            a = 2.0 * np.pi * rng.random(k)
            r = np.where(inner, CIRCLE_FACTOR, 1.0)
            pts = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
        else:
            a = np.pi * rng.random(k)
            outer_pts = np.stack([np.cos(a), np.sin(a)], axis=1)
            inner_pts = np.stack([1.0 - np.cos(a), 0.5 - np.sin(a)], axis=1)
            pts = np.where(inner[:, None], inner_pts, outer_pts)
    return pts + sd * rng.standard_normal((k, 2))
