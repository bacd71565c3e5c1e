"""Summaries of correction reports: one dict for JSON, one table for people."""

from __future__ import annotations

import numpy as np

from motionloop.physics.correct import TrackingReport
from motionloop.physics.metrics import METRIC_KEYS

TRACKED = ("free", "local", "assisted")  # TrackingReport.attempt of a clip whose output was tracked
# bounds of `by_feasibility`'s groups, share of body weight: the success budget's 5 % and 20 %
FEASIBILITY_EDGES = (0.05, 0.20)


def _mean(values) -> float:
    vals = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def summarize(reports: list[TrackingReport]) -> dict:
    """Batch figures: success rate, means over corrected clips, physics before -> after."""
    ran = [r for r in reports if r.error is None]
    mpjpe = np.array([r.mpjpe_mm for r in ran], dtype=np.float64)
    local = np.array([r.mpjpe_local_mm for r in ran], dtype=np.float64)

    def rate(flags) -> float:
        """Share of all clips (failed ones included) for which `flags` (one bool per report) holds."""
        flags = list(flags)
        return float(np.mean(flags)) if flags else float("nan")

    out = {
        "clips": len(reports),
        "failed": len(reports) - len(ran),
        "success_rate": rate(r.success for r in reports),
        "success_free_rate": rate(r.success_free for r in reports),
        "verified_rate": rate(r.verified for r in reports),
        "local_rate": rate(r.attempt == "local" for r in reports),
        "assisted_rate": rate(r.attempt == "assisted" for r in reports),
        "assisted_share": _mean(r.assisted_share for r in ran),
        "unsmoothed_rate": rate(r.attempt in TRACKED and r.smooth_s == 0 for r in reports),
        "firm_rate": rate(r.firm for r in reports),
        "unbalanced_rate": rate(r.unbalanced for r in reports),
        "planned_rate": rate(r.planned for r in reports),
        "searched_rate": rate(r.searched for r in reports),
        "sparing_rate": rate(r.sparing for r in reports),
        "resets": int(sum(r.resets for r in ran)),
        "residual_bw": _mean(r.residual_bw for r in ran),
        "residual_peak_bw": _mean(r.residual_peak_bw for r in ran),
        "residual_torque_bw": _mean(r.residual_torque_bw for r in ran),
        "mpjpe_mm": _mean(mpjpe),
        "mpjpe_median_mm": float(np.median(mpjpe)) if len(mpjpe) else float("nan"),
        "mpjpe_over_150_share": float(np.mean(mpjpe > 150.0)) if len(mpjpe) else float("nan"),
        # pelvis-relative (PHC's "MPJPE", beside its global "g-MPJPE", which mpjpe_mm is)
        "mpjpe_local_mm": _mean(local),
        "mpjpe_local_median_mm": float(np.median(local)) if len(local) else float("nan"),
        # mean over clips of each clip's mean over frames (metrics.pitch_change_deg)
        "trunk_pitch_change_deg": _mean(r.trunk_pitch_change_deg for r in ran),
        "trunk_pitch_bias_deg": _mean(r.trunk_pitch_bias_deg for r in ran),
        "feasibility_bw": _mean(r.feasibility_bw for r in reports),
        "feasibility_after_bw": _mean(r.feasibility_after_bw for r in ran),
        "cpu_s": float(sum(r.cpu_s for r in reports)),
    }
    for k in METRIC_KEYS:
        out[f"before_{k}"] = _mean(r.before[k] for r in reports)
        out[f"after_{k}"] = _mean(r.after[k] for r in reports)
    return out


def feasibility_group(floor_bw: float, edges: tuple[float, ...] = FEASIBILITY_EDGES) -> str:
    """The `by_feasibility` group of an input whose feasibility floor is `floor_bw` (share of
    body weight): "<5%", "5-20%", ">=20%" for the default edges; "unknown" where it is NaN."""
    if not np.isfinite(floor_bw):
        return "unknown"
    pct = [f"{100 * e:g}" for e in edges]
    for i, e in enumerate(edges):
        if floor_bw < e:
            return f"<{pct[0]}%" if i == 0 else f"{pct[i - 1]}-{pct[i]}%"
    return f">={pct[-1]}%"


def by_feasibility(reports: list[TrackingReport], edges: tuple[float, ...] = FEASIBILITY_EDGES) -> dict[str, dict]:
    """`summarize` per group of clips by their input's feasibility floor (`feasibility_bw`:
    the least root force, share of body weight, that the input clip itself needs; no
    simulation, feasibility.py), in increasing order; groups with no clip are left out.

    A corrector cannot leave an input that needs a large external force where it is: the
    groups tell how far a batch's figures come from the corrector and how far from its input
    (a generated batch mixes near-feasible clips with hovering, gliding or leaning ones)."""
    if list(edges) != sorted(edges) or not edges or edges[0] <= 0:
        raise ValueError(f"by_feasibility: edges must be positive and increasing, got {edges}")
    groups: dict[str, list[TrackingReport]] = {}
    for r in reports:
        groups.setdefault(feasibility_group(r.feasibility_bw, edges), []).append(r)
    order = [feasibility_group(0.0 if i == 0 else edges[i - 1], edges) for i in range(len(edges) + 1)] + ["unknown"]
    return {g: summarize(groups[g]) for g in order if g in groups}


def table(reports: list[TrackingReport]) -> str:
    """A fixed-width table: one row per clip and a total row."""
    head = (
        f"{'clip':<28} {'ok':>3} {'free':>4} {'attempt':>8} {'reset':>5} {'resid%BW':>8} {'floor%BW':>8} {'MPJPE':>7} "
        f"{'phys_err mm':>17} {'cpu s':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in reports:
        name = r.clip if len(r.clip) <= 28 else "..." + r.clip[-25:]
        if r.error:
            lines.append(f"{name:<28} {'no':>3}  failed: {r.error}")
            continue
        lines.append(
            f"{name:<28} {'yes' if r.success else 'no':>3} {'yes' if r.success_free else 'no':>4} {r.attempt:>8} "
            f"{r.resets:>5d} "
            f"{100 * r.residual_bw:>8.1f} "
            f"{100 * r.feasibility_bw:>8.1f} {r.mpjpe_mm:>7.1f} "
            f"{r.before['phys_err_mm']:>7.1f} -> {r.after['phys_err_mm']:>6.1f} {r.cpu_s:>6.1f}"
        )
    s = summarize(reports)
    lines.append("-" * len(head))
    lines.append(
        f"{'all (' + str(s['clips']) + ')':<28} {100 * s['success_rate']:>3.0f}% {100 * s['success_free_rate']:>3.0f}% "
        f"{'':>8} {s['resets']:>4d} "
        f"{100 * s['residual_bw']:>8.1f} {100 * s['feasibility_bw']:>8.1f} {s['mpjpe_mm']:>7.1f} "
        f"{s['before_phys_err_mm']:>7.1f} -> {s['after_phys_err_mm']:>6.1f} {s['cpu_s']:>6.1f}"
    )
    for k in ("penetrate_mm", "float_mm", "skate_mm"):
        lines.append(f"  {k:<12} {s['before_' + k]:>8.2f} -> {s['after_' + k]:>8.2f}")
    lines.append(
        f"  success: {s['success_rate']:.2f} (residual within its budget), free: {s['success_free_rate']:.2f} "
        f"(no residual at all, as PHC/UHC count), verified: {s['verified_rate']:.2f} (success and MPJPE "
        "within the bound: what a loop may train on)"
    )
    lines.append(
        f"  attempt: free = no residual anywhere, local = free with assisted stretches where it fell "
        f"({100 * s['local_rate']:.0f}% of clips), assisted = the whole clip with the residual "
        f"({100 * s['assisted_rate']:.0f}%); the residual was allowed on {100 * s['assisted_share']:.0f}% of the "
        "control steps, mean over clips; "
        f"{100 * s['unsmoothed_rate']:.0f}% of the outputs tracked the unsmoothed reference, "
        f"{100 * s['firm_rate']:.0f}% are the firm controller's (where the other free attempts fell), "
        f"{100 * s['unbalanced_rate']:.0f}% tracked the reference without the balance shift, "
        f"{100 * s['planned_rate']:.0f}% the reference with the centroidal plan (where the others fell or broke the budget), "
        f"{100 * s['searched_rate']:.0f}% are the residual-free search's (where every other free attempt fell), "
        f"{100 * s['sparing_rate']:.0f}% the whole clip with the dearer residual (where the closest success was "
        "not verified)"
    )
    groups = by_feasibility(reports)
    if len(groups) > 1:
        lines.append("  by the input's own feasibility floor (the root force it needs, floor%BW):")
        for name, g in groups.items():
            lines.append(
                f"    {name:>7} {g['clips']:>4} clips: success {g['success_rate']:.2f} free {g['success_free_rate']:.2f} "
                f"verified {g['verified_rate']:.2f} MPJPE median {g['mpjpe_median_mm']:.0f} mm"
            )
    return "\n".join(lines)
