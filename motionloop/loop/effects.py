"""The effect table: each arm against a reference arm, paired within seeds, with intervals.

For an arm A, a reference arm R and a metric, each seed s gives one number: the mean over the
last `last` generations of A's value minus R's value at the same generation (arms of one
seed share real data, sampling noise and evaluation draws, so the difference is paired).
Over seeds: the mean difference, a bootstrap 95% interval (seeds resampled with replacement),
and the smallest effect the run could have detected, `(z_0.975 + z_0.8) * sd / sqrt(S)`
(two-sided 5% test at 80% power, from the spread of the per-seed differences). A lambda of A
is compared with the same lambda of R, or with R's only lambda (the baseline's 0).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

DEFAULT_METRICS = {
    "motion": ("fid", "diversity", "precision", "recall", "phys_err_mm"),
    "gaussian": ("w2", "mean_sq_err", "trace_ratio"),
    "kde": ("nll",),
}
REFERENCES = ("iterative", "baseline")
_Z = 1.959964 + 0.841621  # z_0.975 + z_0.8


def _series(records: list[dict]) -> dict[tuple, dict[int, dict[int, dict]]]:
    """(arm, lambda) -> seed -> generation -> record."""
    out: dict[tuple, dict[int, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for r in records:
        out[(r["arm"], float(r["lambda"]))][int(r["seed"])][int(r["generation"])] = r
    return out


def bootstrap_interval(values: np.ndarray, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean of `values (S,)` over resamples of its entries."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def effect_table(
    records: list[dict],
    metrics: tuple[str, ...],
    last: int = 5,
    references: tuple[str, ...] = REFERENCES,
    n_boot: int = 2000,
) -> list[dict]:
    """Rows `{arm, lambda, against, metric, effect, low, high, mde, seeds, generations}` (module
    docstring); an arm is not compared with itself, and only where both have every seed's
    last generations."""
    series = _series(records)
    lambdas: dict[str, list[float]] = defaultdict(list)
    for arm, lam in series:
        lambdas[arm].append(lam)
    rows = []
    for ref in references:
        if ref not in lambdas:
            continue
        for (arm, lam), by_seed in series.items():
            if arm == ref:
                continue
            ref_lam = lam if lam in lambdas[ref] else (lambdas[ref][0] if len(lambdas[ref]) == 1 else None)
            if ref_lam is None:
                continue
            ref_by_seed = series[(ref, ref_lam)]
            seeds = sorted(set(by_seed) & set(ref_by_seed))
            if not seeds:
                continue
            top = min(max(by_seed[s]) for s in seeds)
            top = min(top, min(max(ref_by_seed[s]) for s in seeds))
            gens = [g for g in range(max(1, top - last + 1), top + 1)]
            if not gens:
                continue
            for metric in metrics:
                diffs = []
                for s in seeds:
                    pairs = [(by_seed[s].get(g, {}).get(metric), ref_by_seed[s].get(g, {}).get(metric)) for g in gens]
                    pairs = [(a, b) for a, b in pairs if isinstance(a, (int, float)) and isinstance(b, (int, float))]
                    if pairs:
                        diffs.append(float(np.mean([a - b for a, b in pairs])))
                if not diffs:
                    continue
                d = np.asarray(diffs)
                lo, hi = bootstrap_interval(d, n_boot)
                mde = float(_Z * d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
                rows.append(
                    {
                        "arm": arm,
                        "lambda": lam,
                        "against": ref,
                        "metric": metric,
                        "effect": float(d.mean()),
                        "low": lo,
                        "high": hi,
                        "mde": mde,
                        "seeds": len(d),
                        "generations": [gens[0], gens[-1]],
                    }
                )
    return rows


def cross_run_table(
    a: list[dict], b: list[dict], metrics: tuple[str, ...], reference: str = "iterative", last: int = 5
) -> dict[str, list[dict]]:
    """Two runs with the same seeds and data paired seed by seed (`effect_table` over both, the
    arms of `b` renamed `ARM@B`): `{noise, cross, within}` rows.

    Two runs need not be the same chain bit for bit (the fine-tuning's floating-point sums can
    differ in the last digits between process layouts, and training on its own samples
    amplifies that over generations), so `noise` pairs the `reference` arm of `b` with that of
    `a`: the floor under which a cross-run difference means nothing (0 where the two chains are
    identical). `cross`: every other arm of `b` against every arm of `a`. `within`: `b`'s own
    table against its `reference`. Raises ValueError if `reference` is missing from either run."""
    arms_a, arms_b = {r["arm"] for r in a}, {r["arm"] for r in b}
    if reference not in arms_a or reference not in arms_b:
        raise ValueError(f"reference arm {reference!r} must be in both runs (a: {sorted(arms_a)}, b: {sorted(arms_b)})")
    renamed = [dict(r, arm=f"{r['arm']}@B") for r in b]
    rows = effect_table(a + renamed, metrics, last=last, references=tuple(sorted(arms_a)))
    mine = f"{reference}@B"
    return {
        "noise": [r for r in rows if r["arm"] == mine and r["against"] == reference],
        "cross": [r for r in rows if r["arm"].endswith("@B") and r["arm"] != mine],
        "within": effect_table(b, metrics, last=last, references=(reference,)),
    }


def _num(v: float) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:+.3g}"


def format_table(rows: list[dict]) -> str:
    """A plain-text table of `effect_table` rows; an interval that excludes 0 is marked `*`."""
    if not rows:
        return "effects: no arm pairs to compare (needs an 'iterative' or 'baseline' arm and a complete generation)"
    g0, g1 = rows[0]["generations"]
    lines = [
        f"effect = arm minus reference, mean over generations {g0}-{g1} per seed, then over {rows[0]['seeds']} "
        "seed(s); 95% bootstrap interval over seeds; mde = smallest effect detectable (80% power)",
        f"{'arm':<26} {'lambda':>6} {'vs':<10} {'metric':<12} {'effect':>9} {'95% interval':>22} {'mde':>8}",
    ]
    for r in rows:
        sig = "*" if np.isfinite(r["low"]) and (r["low"] > 0 or r["high"] < 0) else " "
        interval = f"[{_num(r['low'])}, {_num(r['high'])}]"
        lines.append(
            f"{r['arm']:<26} {r['lambda']:>6g} {r['against']:<10} {r['metric']:<12} {_num(r['effect']):>9} "
            f"{interval:>22}{sig} {_num(r['mde']):>8}"
        )
    return "\n".join(lines)


def html_table(rows: list[dict]) -> str:
    """The same table as HTML (for report.html)."""
    import html

    if not rows:
        return "<p>No arm pairs to compare yet.</p>"
    g0, g1 = rows[0]["generations"]
    head = (
        "<tr><th>arm</th><th>&lambda;</th><th>vs</th><th>metric</th><th>effect</th><th>95% interval</th>"
        "<th>smallest detectable</th></tr>"
    )
    body = []
    for r in rows:
        sig = np.isfinite(r["low"]) and (r["low"] > 0 or r["high"] < 0)
        style = ' style="font-weight:bold"' if sig else ""
        body.append(
            f"<tr{style}><td>{html.escape(r['arm'])}</td><td>{r['lambda']:g}</td><td>{html.escape(r['against'])}"
            f"</td><td>{html.escape(r['metric'])}</td><td>{_num(r['effect'])}</td><td>[{_num(r['low'])}, "
            f"{_num(r['high'])}]</td><td>{_num(r['mde'])}</td></tr>"
        )
    return (
        f"<p>Arm minus reference arm, paired within seeds: mean over generations {g0}-{g1}, then over "
        f"{rows[0]['seeds']} seed(s); 95% bootstrap interval over seeds (bold: excludes 0); the smallest effect the "
        "run could detect (two-sided 5% test, 80% power).</p><table>" + head + "\n".join(body) + "</table>"
    )
