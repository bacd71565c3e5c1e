"""Evaluation windows: which fixed-length pieces of which clips are compared, and their inputs.

A window is a `(clip, start)` pair; its frames are `[start, start + window)`. FID depends on
the number of samples, so evaluation always draws a fixed number `n` of windows, chosen
deterministically from a seed. The reference set is split into two halves that share no
frame (alternating blocks of each clip), so the real-vs-real FID floor compares windows
that are truly held out from each other.
"""

from __future__ import annotations

import itertools

import numpy as np

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data.features import FEATURE_DIM, SLICES, motion_to_features
from motionloop.data.windows import window_starts
from motionloop.eval.errors import EvaluationError
from motionloop.eval.kinematics import KIN_NAMES, kinematic_stats
from motionloop.motion import Motion


def at_fps(motions: list[Motion], fps: float) -> list[Motion]:
    """The clips resampled to `fps` (clips already at `fps` are returned as they are)."""
    return [m if abs(m.fps - fps) < 1e-6 else m.resample(fps) for m in motions]


def window_index(lengths, window: int, stride: int = 1) -> np.ndarray:
    """All windows `(N, 2)` int64 rows `(clip, start)` of clips with `lengths` frames."""
    rows = [(c, s) for c, n in enumerate(lengths) for s in window_starts(int(n), window, stride)]
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


def split_index(lengths, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of two halves `(Na, 2)`, `(Nb, 2)` of a clip set that share no frame.

    Every clip is cut into blocks of `2 * window` frames (a shorter tail joins the last
    block); blocks alternate between the halves across the whole set, so both halves cover
    every clip (and label) of a long recording. Windows lie inside one block.
    """
    halves: tuple[list, list] = ([], [])
    k = 0
    for c, n in enumerate(lengths):
        n = int(n)
        if n < window:
            continue
        edges = list(range(0, n - 2 * window + 1, 2 * window)) + [n]
        if len(edges) == 1:
            edges = [0, n]
        for lo, hi in itertools.pairwise(edges):
            halves[k % 2].extend((c, s) for s in range(lo, hi - window + 1))
            k += 1
    return tuple(np.asarray(h, dtype=np.int64).reshape(-1, 2) for h in halves)  # type: ignore[return-value]


def draw(index: np.ndarray, n: int, seed: int, what: str) -> np.ndarray:
    """`n` windows `(n, 2)` drawn without replacement from `index`, sorted by clip and start."""
    if n > len(index):
        raise EvaluationError(
            f"{what}: n={n} windows asked but only {len(index)} distinct windows are available; use n <= {len(index)} "
            "(--n) or more/longer clips"
        )
    rows = index[np.random.default_rng(seed).choice(len(index), size=n, replace=False)]
    return rows[np.lexsort((rows[:, 1], rows[:, 0]))]


def window_inputs(motions: list[Motion], windows: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs and kinematic statistics of `windows` of `motions` (all at one fps).

    Args:
        windows: `(W, 2)` rows `(clip, start)`.
    Returns:
        features `(W, window, D)` float32 (raw, not normalised) and statistics `(W, K)`
        float64 (kinematics.KIN_NAMES), in the order of `windows`.
    """
    feats = np.empty((0, window, FEATURE_DIM), np.float32)
    kin = np.empty((0, len(KIN_NAMES)))
    out_f, out_k, order = [], [], []
    for c in np.unique(windows[:, 0]):
        rows = np.flatnonzero(windows[:, 0] == c)
        m = motions[int(c)]
        f = motion_to_features(m)  # (T, D)
        pos, glob = sk.fk_mats(rot.aa_to_mat(m.poses), m.trans)  # (T, 24, 3), (T, 24, 3, 3)
        frames = windows[rows, 1][:, None] + np.arange(window)  # (w, L)
        fw = f[frames]  # (w, L, D)
        # a clip's first frame has no velocity (features set it to 0); windows at the start of
        # a clip copy their second frame's so they do not differ from windows mid-clip
        for name in ("root_vel", "yaw_rate"):
            fw[:, 0, SLICES[name]] = fw[:, 1, SLICES[name]]
        out_f.append(fw)
        out_k.append(kinematic_stats(pos[frames], glob[frames], m.fps))
        order.append(rows)
    if out_f:
        inv = np.argsort(np.concatenate(order))
        feats = np.concatenate(out_f)[inv]
        kin = np.concatenate(out_k)[inv]
    return feats, kin
