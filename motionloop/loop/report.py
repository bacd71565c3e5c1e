"""What people look at after a run: curves.png and report.html, rebuilt from the run directory.

`plot_run(run_dir)` reads config.toml and metrics.jsonl (nothing else is needed for the
curves and tables) and, for the motion task, the probe clips for the viewers: per arm and
lambda (first seed) generation 0's first evaluation clip, the same noise's clip at the last
complete generation, and that clip after physics tracking. The page is self-contained (the
curves are inlined as a PNG data URI, the viewer's script as text).
"""

from __future__ import annotations

import base64
import html
from collections import defaultdict
from pathlib import Path

import numpy as np

from motionloop.errors import MotionloopError
from motionloop.io import read_jsonl, write_text
from motionloop.loop import rundir
from motionloop.loop.config import LoopConfig
from motionloop.loop.configio import load_config
from motionloop.loop.effects import DEFAULT_METRICS, effect_table, format_table, html_table
from motionloop.motion import Motion

CURVES = {
    "motion": ("fid", "diversity", "phys_err_mm", "residual_bw"),
    "gaussian": ("w2", "trace_ratio", "det_ratio", "mean_sq_err"),
    "kde": ("nll",),
}
TABLE = {
    "motion": (
        "fid",
        "fid_floor",
        "diversity",
        "diversity_ref",
        "accuracy",
        "precision",
        "recall",
        "phys_err_mm",
        "penetrate_mm",
        "float_mm",
        "skate_mm",
        "residual_bw",
        "success_rate",
        "mpjpe_mm",
    ),
    "gaussian": ("w2", "trace_ratio", "det_ratio", "mean_sq_err"),
    "kde": ("nll",),
}


def load_run(run_dir: Path) -> tuple[LoopConfig, list[dict]]:
    """A run directory's config and complete metrics records (none yet: an empty list)."""
    cfg_path, metrics = run_dir / rundir.CONFIG, run_dir / rundir.METRICS
    if not cfg_path.exists():
        raise MotionloopError(f"{run_dir}: not a loop run directory (no {rundir.CONFIG})")
    records = read_jsonl(metrics) if metrics.exists() else []
    return load_config(cfg_path), records


def plot_curves_only(run_dir: Path, config: LoopConfig, records: list[dict] | None = None) -> Path | None:
    """Redraw curves.png from `records` (default: read metrics.jsonl); None when there is
    nothing to plot yet."""
    from motionloop.viz.plots import plot_curves

    if records is None:
        records = read_jsonl(run_dir / rundir.METRICS)
    if not records:
        return None
    seeds = len(config.seeds)
    title = f"{config.name}: mean over {seeds} seeds, band min to max" if seeds > 1 else f"{config.name}: one seed"
    return plot_curves(
        records,
        CURVES[config.task],
        run_dir / rundir.CURVES,
        group_by=("arm", "lambda"),
        band="minmax" if seeds > 1 else "none",
        title=title,
    )


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4g}"


def _summary_rows(records: list[dict], metrics: tuple[str, ...]) -> list[tuple[str, int, dict[str, str]]]:
    """Per (arm, lambda) and generation: `mean (min-max over seeds)` of each metric."""
    groups: dict[tuple, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups[(r["arm"], r["lambda"])][r["generation"]].append(r)
    rows = []
    for (arm, lam), gens in groups.items():
        for g in sorted(gens):
            cells = {}
            for k in metrics:
                vals = [r[k] for r in gens[g] if isinstance(r.get(k), (int, float))]
                if not vals:
                    cells[k] = "-"
                elif len(vals) == 1:
                    cells[k] = _fmt(vals[0])
                else:
                    cells[k] = f"{_fmt(float(np.mean(vals)))} ({_fmt(min(vals))}-{_fmt(max(vals))})"
            rows.append((f"{arm} &lambda;={lam:g}", g, cells))
    return rows


def _table(rows, metrics: tuple[str, ...], last_only: bool) -> str:
    if last_only:
        last: dict[str, tuple] = {}
        for row in rows:
            last[row[0]] = row
        rows = list(last.values())
    head = "".join(f"<th>{html.escape(k)}</th>" for k in metrics)
    body = "\n".join(
        f"<tr><td>{name}</td><td>{g}</td>" + "".join(f"<td>{c[k]}</td>" for k in metrics) + "</tr>"
        for name, g, c in rows
    )
    return f"<table><tr><th>arm</th><th>gen</th>{head}</tr>\n{body}\n</table>"


def _probe_clip(gdir: Path, kind: str) -> Motion | None:
    path = gdir / "probe" / kind / "clip_0000.npz"
    return Motion.load(path) if path.exists() else None


def _viewers(run_dir: Path, config: LoopConfig, records: list[dict]) -> str:
    from motionloop.viz.viewer import viewer_fragment

    seed = config.seeds[0]
    first = _probe_clip(rundir.base_dir(run_dir, seed), "generated")
    parts = []
    for arm, lam in config.units():
        gens = [r["generation"] for r in records if r["arm"] == arm.name and r["lambda"] == lam and r["seed"] == seed]
        if not gens or max(gens) == 0:
            continue
        g = max(gens)
        gdir = rundir.gen_dir(rundir.unit_dir(run_dir, arm.name, lam, seed), g)
        clips = [("gen 0 generated", first), (f"gen {g} generated", _probe_clip(gdir, "generated"))]
        if arm.correction == "physics":  # arms that never correct show no tracked clip
            clips.append((f"gen {g} physics-tracked", _probe_clip(gdir, "corrected")))
        shown = [(t, c) for t, c in clips if c is not None]
        if not shown:
            continue
        parts.append(
            f"<h3>{html.escape(arm.name)} &lambda;={lam:g} (seed {seed})</h3>\n"
            + viewer_fragment([c for _, c in shown], titles=[t for t, _ in shown])
        )
    if not parts:
        return ""
    return (
        "<h2>Example clips</h2><p>The first evaluation clip (the same noise in every generation and arm): "
        "generation 0, the last generation, and, for arms that correct with physics, the last generation's "
        "clip tracked by the corrector.</p>\n" + "\n".join(parts)
    )


def plot_run(run_dir: str | Path) -> tuple[Path, Path]:
    """Regenerate `curves.png` and `report.html` of a run; returns their paths."""
    run_dir = Path(run_dir)
    config, records = load_run(run_dir)
    if not records:
        raise MotionloopError(f"{run_dir}: no complete generation yet ({rundir.METRICS} is empty)")
    curves = plot_curves_only(run_dir, config, records)
    png = base64.b64encode(curves.read_bytes()).decode("ascii")
    metrics = TABLE[config.task]
    rows = _summary_rows(records, metrics)
    effects = effect_table(records, DEFAULT_METRICS[config.task])
    viewers = _viewers(run_dir, config, records) if config.task == "motion" else ""
    cfg_text = (run_dir / rundir.CONFIG).read_text()
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(config.name)} - motionloop loop report</title>
<style>body{{font-family:sans-serif;margin:16px;background:#f7f8fa}} table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}} td:first-child{{text-align:left}}
img{{max-width:100%}} pre{{background:#fff;padding:8px;border:1px solid #ddd}}</style></head><body>
<h1>{html.escape(config.name)}</h1>
<p>Task {config.task}: generation 0 fits the real data only, then {config.generations} generations
(points 0 to {config.generations}) each train on the arm's mix of real and synthetic data; n = {config.n} real items,
seeds {list(config.seeds)}. Values are means over seeds (min-max in brackets).</p>
{_READING.get(config.task, "")}
<img alt="collapse curves" src="data:image/png;base64,{png}">
<h2>Effects</h2>
{html_table(effects)}
<h2>Last generation</h2>
{_table(rows, metrics, last_only=True)}
<details><summary>Every generation</summary>
{_table(rows, metrics, last_only=False)}
</details>
{viewers}
<h2>Configuration</h2>
<pre>{html.escape(cfg_text)}</pre>
</body></html>
"""
    report = run_dir / rundir.REPORT
    write_text(report, page)
    return curves, report


_READING = {
    "motion": "<p>How to read it: <b>FID</b> (lower is better) compares the evaluator's features of "
    "generated and real windows; the dashed line is the real-vs-real floor at the same n. "
    "<b>diversity</b> is the mean feature distance between random pairs (the dashed line is the real "
    "data's). <b>phys_err</b> is penetration + floating + foot skating, mm (PhysDiff's sum). "
    "<b>residual</b> is the root force the tracker needed, % of body weight. Collapse shows as FID "
    "rising and diversity falling generation after generation; an arm holds up when its curve stays "
    "near the baseline (real data only). The effect table pairs arms within each seed.</p>",
    "gaussian": "<p>How to read it: <b>w2</b> is the Wasserstein-2 distance of the fitted Gaussian to the target "
    "(lower is better); <b>trace_ratio</b> and <b>det_ratio</b> compare its covariance with the target's "
    "(1 is best; collapse drives them to 0); <b>mean_sq_err</b> is the squared error of its mean.</p>",
    "kde": "<p>How to read it: <b>nll</b> is the negative log-likelihood of held-out real points under the fitted "
    "density (lower is better); collapse shows as it grows.</p>",
}


def effects_text(run_dir: str | Path) -> str:
    """The effect table of a run as plain text (printed by `motionloop loop` and `plot`)."""
    config, records = load_run(Path(run_dir))
    return format_table(effect_table(records, DEFAULT_METRICS[config.task]))
