"""Is correction a projection? Correct clips, then correct the corrected clips again.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_projection.py [--workers 2] [--quick]

A projection onto physical motion leaves motion that is already physical where it is: the
second correction of a corrected clip (the simulated body's own trajectory, so physical by
construction) should move it little and need no residual. For the 47 bundled real clips
without objects and bench_physics's generated set (8 per label of the shipped model, DDIM-50,
seed 7; `--quick`: real clips only), at strength 1 with the default corrector, this reports
both passes' summaries (success, success_free, verified, residual, MPJPE to their own input,
phys_err) and how far the second pass moved the first pass's output: MPJPE mean / median and
the share of clips it moved less than 20 and 50 mm. Writes benchmarks/results/
bench_projection.json (name, config, machine, figures).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from bench_physics import GENERATED_PER_LABEL, GENERATED_SEED, generated_set

from motionloop.bench import write_result
from motionloop.data.bundled import OBJECT_LABELS, list_bundled
from motionloop.motion import Motion
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.physics.summary import summarize

NEAR_MM = (20.0, 50.0)
KEYS = (
    "success_rate",
    "success_free_rate",
    "verified_rate",
    "residual_bw",
    "mpjpe_mm",
    "mpjpe_median_mm",
    "before_phys_err_mm",
    "after_phys_err_mm",
)


def twice(clips: list[Motion], names: list[str], cfg: CorrectionConfig) -> dict:
    """Both passes' summaries and the second pass's movement of the first pass's output."""
    once, first = correct(clips, cfg, names=names)
    _, second = correct(once, cfg, names=[f"{n}+again" for n in names])
    moved = np.array([r.mpjpe_mm for r in second])
    again = [b.success_free for a, b in zip(first, second) if a.success_free]  # of the first pass's free clips
    seconds = float(sum(m.duration for m in clips))
    s1, s2 = summarize(first), summarize(second)
    return {
        "clips": len(clips),
        "first": {k: s1[k] for k in KEYS} | {"cpu_s_per_motion_s": s1["cpu_s"] / seconds},
        "second": {k: s2[k] for k in KEYS} | {"cpu_s_per_motion_s": s2["cpu_s"] / seconds},
        "second_moved_mm_mean": float(moved.mean()),
        "second_moved_mm_median": float(np.median(moved)),
        **{f"second_moved_under_{int(t)}mm_share": float((moved < t).mean()) for t in NEAR_MM},
        "second_free_of_first_free": float(np.mean(again)) if again else 0.0,
    }


def line(tag: str, f: dict) -> str:
    a, b = f["first"], f["second"]
    return (
        f"{tag} ({f['clips']} clips): first pass success {a['success_rate']:.2f} free {a['success_free_rate']:.2f} "
        f"verified {a['verified_rate']:.2f} residual {100 * a['residual_bw']:.1f} %BW MPJPE {a['mpjpe_mm']:.0f} mm | second "
        f"pass success {b['success_rate']:.2f} free {b['success_free_rate']:.2f} residual {100 * b['residual_bw']:.1f} %BW, "
        f"moved the first pass's output {f['second_moved_mm_mean']:.0f} / {f['second_moved_mm_median']:.0f} mm (mean / "
        f"median), under 20 mm {100 * f['second_moved_under_20mm_share']:.0f}%, under 50 mm "
        f"{100 * f['second_moved_under_50mm_share']:.0f}% | phys_err {a['before_phys_err_mm']:.1f} -> "
        f"{a['after_phys_err_mm']:.1f} -> {b['after_phys_err_mm']:.1f} mm"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="the real clips only")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_projection.json"))
    args = ap.parse_args()
    cfg = CorrectionConfig(workers=args.workers)
    entries = [c for c in list_bundled() if c.label not in OBJECT_LABELS]
    figures = {"real": twice([Motion.load(c.path) for c in entries], [c.id for c in entries], cfg)}
    print(line("real", figures["real"]), flush=True)
    if not args.quick:
        clips, names = generated_set(GENERATED_PER_LABEL, GENERATED_SEED)
        figures["generated"] = twice(clips, names, cfg)
        print(line("generated", figures["generated"]), flush=True)
    config = {
        "strength": cfg.strength,
        "workers": args.workers,
        "real_clips": len(entries),
        "generated": None if args.quick else {"per_label": GENERATED_PER_LABEL, "seed": GENERATED_SEED},
    }
    write_result(args.out, "bench_projection", config, figures)


if __name__ == "__main__":
    main()
