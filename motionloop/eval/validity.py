"""The validity protocol of the metrics: does FID see the damage it should, at a fixed n?

Held-out real clips are evaluated against the reference as they are (the floor), then
damaged at increasing strength with data/corrupt.py (joint jitter, temporal over-smoothing,
root floating), reduced to their three most frequent labels (mode dropping) and replaced by
one window repeated n times. A trustworthy evaluator gives a held-out FID near `fid_floor`
and an FID that grows with every damage level. Used by the slow tests on the bundled set
and by `scripts/train_evaluator.py --validate`, which prints the numbers.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from motionloop.data import corrupt
from motionloop.eval.evaluate import evaluate
from motionloop.eval.evaluator import Evaluator, resolve
from motionloop.motion import Motion

JITTER_RAD = (0.005, 0.01, 0.02, 0.05, 0.1)
SMOOTH_S = (0.05, 0.1, 0.2, 0.4)
LIFT_M = (0.02, 0.05, 0.1, 0.2)
ROW_KEYS = ("fid", "fid_floor", "diversity", "precision", "recall", "accuracy", "float_mm", "phys_err_mm")


def time_split(clips: list[Motion], holdout: float, window: int) -> tuple[list[Motion], list[Motion]]:
    """Each clip's first `1 - holdout` (reference) and its end (held out); ends under `window` frames are dropped."""
    ref, held = [], []
    for m in clips:
        cut = round(m.num_frames * (1.0 - holdout))
        ref.append(m.slice(0, cut) if cut >= window else m)
        if cut >= window and m.num_frames - cut >= window:
            held.append(m.slice(cut, m.num_frames))
    return ref, held


def validity_rows(
    heldout: list[Motion],
    reference: list[Motion],
    evaluator: Evaluator | str | Path | None = None,
    n: int = 128,
    seed: int = 0,
) -> list[dict]:
    """One row per (damage, level): `{"damage", "level", "unit"}` plus the ROW_KEYS metrics.

    Args:
        heldout: real clips not in `reference` (resampled to the evaluator's fps first).
        reference: real reference clips. n: windows per set, as in `evaluate`.
    """
    ev = resolve(evaluator)
    heldout = [m if abs(m.fps - ev.config.fps) < 1e-6 else m.resample(ev.config.fps) for m in heldout]
    rng = np.random.default_rng(seed)

    def row(damage: str, level, unit: str, clips: list[Motion]) -> dict:
        r = evaluate(clips, reference, n=n, seed=seed, evaluator=ev)
        return {"damage": damage, "level": level, "unit": unit, **{k: r[k] for k in ROW_KEYS}}

    rows = [row("none", 0, "", heldout)]
    rows += [row("jitter", s, "rad", [corrupt.jitter(m, s, rng) for m in heldout]) for s in JITTER_RAD]
    rows += [row("smooth", s, "s", [corrupt.smooth(m, s) for m in heldout]) for s in SMOOTH_S]
    rows += [row("lift", h, "m", [corrupt.lift(m, h) for m in heldout]) for h in LIFT_M]
    frames = Counter()
    for m in heldout:
        frames[m.label] += m.num_frames
    keep = {label for label, _ in frames.most_common(3)}
    rows.append(row("mode_drop", 3, "labels kept", [m for m in heldout if m.label in keep]))
    one = heldout[0].slice(0, ev.window)
    rows.append(row("repeat", 1, "clip", [one] * n))
    return rows


def format_rows(rows: list[dict]) -> str:
    """A fixed-width text table of `validity_rows`."""
    head = f"{'damage':10s} {'level':>7s} {'unit':12s}" + "".join(f"{k:>12s}" for k in ROW_KEYS)
    lines = [head]
    for r in rows:
        vals = "".join(f"{'-' if r[k] is None else format(r[k], '.3f'):>12s}" for k in ROW_KEYS)
        lines.append(f"{r['damage']:10s} {r['level']:>7g} {r['unit']:12s}{vals}")
    return "\n".join(lines)
