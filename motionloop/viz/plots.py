"""Plots of the self-consuming loop: metric-vs-generation curves with seed bands.

Records are the rows of a run's metrics.jsonl (README's loop section names the keys): one dict per
(arm, lambda, seed, generation). Rows sharing the `group_by` keys make one line: at each `x`
its mean over seeds, with a band from the min to the max over seeds (`band="minmax"`) or
mean +- one standard deviation (`band="std"`). matplotlib's Agg backend, no display needed.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from motionloop.errors import MotionloopError, UnknownNameError
from motionloop.io import atomic_path

BANDS = ("minmax", "std", "none")

# axis label and scale of the metrics a run records (others are labelled by their key)
LABELS = {
    "fid": ("FID (lower is better)", 1.0),
    "diversity": ("diversity (closer to real is better)", 1.0),
    "phys_err_mm": ("physics error, mm (lower is better)", 1.0),
    "residual_bw": ("tracking residual, % body weight", 100.0),
    "w2": ("W2 to the target (lower is better)", 1.0),
    "trace_ratio": ("trace ratio to the target (1 is best)", 1.0),
    "det_ratio": ("determinant ratio (1 is best)", 1.0),
    "mean_sq_err": ("squared error of the mean (lower is better)", 1.0),
    "nll": ("NLL of held-out real points (lower is better)", 1.0),
}
# a metric's real-data reference, drawn as a dashed line at its mean over records
REFERENCES = {"fid": ("fid_floor", "real vs real (floor)"), "diversity": ("diversity_ref", "real data")}


def _group_name(key: tuple, group_by: Sequence[str]) -> str:
    """`"arm-name lambda=0.5"`: the arm by its value, other keys as key=value, missing ones left out."""
    parts = [
        str(v) if k == "arm" else f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in zip(group_by, key)
        if v is not None
    ]
    return " ".join(parts) or "all"


def curve_table(
    records: Sequence[dict], metric: str, group_by: Sequence[str] = ("arm", "lambda"), x: str = "generation"
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per group: `(xs, mean, min, max, std)`, each `(K,)` over the sorted distinct x values.

    Records without `metric` (or with a non-finite value) are skipped; a group with none is left out.
    """
    values: dict[tuple, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        v = r.get(metric)
        if v is None or x not in r or not isinstance(v, (int, float)) or not math.isfinite(v):
            continue
        values[tuple(r.get(k) for k in group_by)][float(r[x])].append(float(v))
    out = {}
    for key in sorted(values, key=lambda k: tuple(str(v) for v in k)):
        xs = np.array(sorted(values[key]))
        rows = [np.array(values[key][xv]) for xv in xs]
        out[_group_name(key, group_by)] = (
            xs,
            np.array([r.mean() for r in rows]),
            np.array([r.min() for r in rows]),
            np.array([r.max() for r in rows]),
            np.array([r.std() for r in rows]),
        )
    return out


def plot_curves(
    records: Sequence[dict],
    metrics: Sequence[str],
    out: str | os.PathLike,
    group_by: Sequence[str] = ("arm", "lambda"),
    x: str = "generation",
    band: str = "minmax",
    title: str | None = None,
) -> Path:
    """Draw `metrics` against `x`, one panel per metric and one line per group; write a PNG.

    Args:
        records: metrics.jsonl rows (dicts with `x`, the `group_by` keys, a seed, the metrics).
        metrics: metric names, one panel each (e.g. ["fid", "phys_err_mm"]).
        out: the `.png` to write.
        band: "minmax" (default), "std" (mean +- 1 std) or "none" over seeds.
    Returns the path written.
    """
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise MotionloopError(f"{out}: curves are written as .png")
    if band not in BANDS:
        raise UnknownNameError("band", band, BANDS)
    metrics = list(metrics)
    if not metrics:
        raise MotionloopError("plot_curves: no metrics to plot")
    tables = {m: curve_table(records, m, group_by, x) for m in metrics}
    empty = [m for m, t in tables.items() if not t]
    if len(empty) == len(metrics):
        present = sorted({k for r in records for k in r})
        raise UnknownNameError("metric (no record holds it)", ", ".join(empty), present)
    metrics = [m for m in metrics if tables[m]]  # e.g. no residual panel when no probe clips were tracked
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    groups = sorted({g for t in tables.values() for g in t})
    colours = {g: f"C{i % 10}" for i, g in enumerate(groups)}
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, i + 1)
        label, scale = LABELS.get(metric, (metric, 1.0))
        for g, (xs, mean, lo, hi, std) in tables[metric].items():
            ax.plot(xs, mean * scale, marker="o", ms=3, color=colours[g], label=g)
            if band == "minmax":
                ax.fill_between(xs, lo * scale, hi * scale, color=colours[g], alpha=0.2, linewidth=0)
            elif band == "std":
                ax.fill_between(
                    xs, (mean - std) * scale, (mean + std) * scale, color=colours[g], alpha=0.2, linewidth=0
                )
        if metric in REFERENCES:
            key, name = REFERENCES[metric]
            ref = [r[key] for r in records if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
            if ref:
                ax.axhline(float(np.mean(ref)) * scale, color="0.4", linestyle="--", linewidth=1, label=name)
        ax.set_xlabel(x)
        ax.set_ylabel(label, fontsize="small")
        ax.grid(alpha=0.3)
    handles = {}
    for ax in fig.axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize="small")
    if title:
        fig.suptitle(title)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return out
