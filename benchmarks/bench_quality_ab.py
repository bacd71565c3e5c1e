"""The corrector's figures from two checkouts, paired and over perturbed draws: is a change
better, or only different?

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_quality_ab.py --base REV [--new DIR] [--draws 3]
        [--set real|generated] [--clips N] [--new-set FIELD=VALUE ...] [--out PATH]

One correction run is deterministic, and a change to the repair or to the controller moves
single clips either way through the ladder's thresholds (a fall or not, 39 mm or 41): a run
of the 47 real clips that comes out 3 successes or 5 mm of MPJPE apart from the other may be
luck, the more so against a default that was itself kept because its own run came out well.
So this corrects the same clips with both checkouts, unperturbed (draw 0) and with the start
state perturbed (`--draws` more draws: every start velocity component plus N(0, 0.02) m/s or
rad/s, bench_free_rungs' noise, seeded per clip and draw, the same on both sides and for
every attempt on the clip: bench_cost_ab.StartPerturbation), and reports per draw and side the
headline figures (success, success_free and verified rates, MPJPE mean and median, mean
residual, phys_err after correction), their paired difference new - base per draw, and that
difference's mean and standard deviation over the draws, with how many clips' outputs the
change left bit for bit the same.

`--base`, `--new` and `--new-set` as in bench_cost_ab (whose workers this uses: one per
side, run side by side; cost is bench_cost_ab's business). Clips: the 47 bundled real clips
without objects (`--set real`, the default) or bench_physics's 128 generated ones (`--set
generated`: 8 per label of the shipped model, DDIM-50, seed 7, sampled once here). Writes
benchmarks/results/bench_quality_ab.json (`--out` elsewhere).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from bench_cost_ab import ROOT, parse_changes, receive, revision, send, side_by_side

FIGURES = ("success", "success_free", "verified", "mpjpe_mm", "mpjpe_median_mm", "residual_bw", "phys_err_mm")


def figures(replies: list[dict]) -> dict[str, float]:
    """The headline figures of one side's replies for one draw (rates as shares of clips)."""
    col = {k: np.array([r[k] for r in replies], dtype=float) for k in ("mpjpe_mm", "residual_bw", "phys_err_mm")}
    return {
        "success": float(np.mean([bool(r["success"]) for r in replies])),
        "success_free": float(np.mean([bool(r["success_free"]) for r in replies])),
        "verified": float(np.mean([bool(r["verified"]) for r in replies])),
        "mpjpe_mm": float(col["mpjpe_mm"].mean()),
        "mpjpe_median_mm": float(np.median(col["mpjpe_mm"])),
        "residual_bw": float(col["residual_bw"].mean()),
        "phys_err_mm": float(col["phys_err_mm"].mean()),
    }


def clip_set(which: str, tmp: str) -> list[tuple[str, str]]:
    """(name, path of a clip file) of the clips `which` names."""
    from motionloop.data.bundled import OBJECT_LABELS, list_bundled

    if which == "real":
        return [(c.id, str(c.path)) for c in list_bundled() if c.label not in OBJECT_LABELS]
    from bench_physics import GENERATED_PER_LABEL, GENERATED_SEED, generated_set

    clips, names = generated_set(GENERATED_PER_LABEL, GENERATED_SEED)
    return [(n, str(m.save(Path(tmp) / f"{n}.npz"))) for m, n in zip(clips, names)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="git revision or checkout directory to compare against")
    ap.add_argument("--new", default=str(ROOT), help="checkout directory (default: this one)")
    ap.add_argument("--draws", type=int, default=3, help="perturbed draws besides the unperturbed one")
    ap.add_argument("--set", choices=("real", "generated"), default="real", dest="which")
    ap.add_argument("--clips", type=int, default=0, help="only the first N clips (a smoke run; 0: all)")
    ap.add_argument(
        "--new-set", action="append", default=[], metavar="FIELD=VALUE", help="CorrectionConfig change, new side"
    )
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_quality_ab.json"))
    args = ap.parse_args()
    if args.draws < 0:
        ap.error("--draws must be >= 0")
    changes = parse_changes(ap, args.new_set)

    from motionloop.bench import write_result

    per_draw = []
    with tempfile.TemporaryDirectory() as tmp:
        clips = clip_set(args.which, tmp)
        clips = clips[: args.clips] if args.clips > 0 else clips
        base_rev, new_rev = revision(str(ROOT), args.base), revision(args.new)
        with side_by_side(args.base, args.new, changes, tmp) as procs:
            for draw in range(args.draws + 1):
                replies: list[list[dict]] = [[], []]
                for name, path in clips:
                    for p in procs:  # both sides at once, each on its own core
                        send(p, name, path, draw)
                    for side, p in enumerate(procs):
                        replies[side].append(receive(p, name))
                base, new = figures(replies[0]), figures(replies[1])
                entry = {
                    "draw": draw,
                    "base": base,
                    "new": new,
                    "diff": {k: new[k] - base[k] for k in FIGURES},
                    "same_outputs": sum(a["digest"] == b["digest"] for a, b in zip(*replies)),
                    "success_gained": sum(b["success"] and not a["success"] for a, b in zip(*replies)),
                    "success_lost": sum(a["success"] and not b["success"] for a, b in zip(*replies)),
                }
                per_draw.append(entry)
                print(
                    f"draw {draw}: "
                    + ", ".join(f"{k} {base[k]:.3g} -> {new[k]:.3g}" for k in FIGURES)
                    + f" | same outputs {entry['same_outputs']}/{len(clips)}",
                    flush=True,
                )
    summary = {}
    for k in FIGURES:
        d = np.array([e["diff"][k] for e in per_draw])
        summary[k] = {
            "base_mean": float(np.mean([e["base"][k] for e in per_draw])),
            "new_mean": float(np.mean([e["new"][k] for e in per_draw])),
            "diff_mean": float(d.mean()),
            "diff_sd": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
            "diff_per_draw": d.tolist(),
        }
        print(
            f"{k:16s} base {summary[k]['base_mean']:.4g}  new {summary[k]['new_mean']:.4g}  "
            f"new - base {summary[k]['diff_mean']:+.4g} (sd {summary[k]['diff_sd']:.3g} over {len(d)} draws)"
        )
    write_result(
        args.out,
        "bench_quality_ab",
        {
            "base": args.base,
            "base_rev": base_rev,
            "new": args.new,
            "new_head": new_rev,  # the checkout's HEAD; its working tree may hold more
            "new_set": changes,
            "set": args.which,
            "clips": len(clips),
            "draws": args.draws,
        },
        {"summary": summary, "per_draw": per_draw},
    )


if __name__ == "__main__":
    main()
