"""Grounding that follows a drifting floor against one ground offset, on several generated sets.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_grounding.py [--seeds 7 8 9] [--per-label 8] [--workers 2]

The shipped model's samples drift up and down (physics/repair.py); bench_physics measures the
corrector on one generated set (seed 7), where the tracking's chaos moves a handful of clips
either way with any change of the reference. This benchmark samples 128 clips (8 per label,
DDIM-50) for each seed and corrects each set twice, with the default repair
(`RepairConfig.ground_window_s` 1 s) and with one offset per clip (`--one-ground-offset`):
paired, the same clips on both sides. Per seed and side: success, success_free, verified,
mean residual, MPJPE mean / median / share over 150 mm, phys_err after correction, how many
clips follow their floor level, and the CPU seconds per motion-second; then the differences
(default minus one offset), their mean over the seeds and their range. The real clips need
no such run: every one keeps its one offset (tests/physics/test_ground.py, bench_physics).
JSON: benchmarks/results/bench_grounding.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must precede torch's OpenMP start-up

import argparse
import sys
from pathlib import Path

import numpy as np

from motionloop.bench import write_result
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.physics.repair import RepairConfig, ground_offsets
from motionloop.physics.summary import summarize

sys.path.insert(0, str(Path(__file__).parent))
from bench_physics import generated_set

KEYS = (
    "success_rate",
    "success_free_rate",
    "verified_rate",
    "residual_bw",
    "mpjpe_mm",
    "mpjpe_median_mm",
    "mpjpe_over_150_share",
    "after_phys_err_mm",
)


def side(clips, names, cfg: CorrectionConfig) -> dict:
    _, reports = correct(clips, cfg, names=names)
    s = summarize(reports)
    out = {k: s[k] for k in KEYS}
    out["cpu_s_per_motion_s"] = s["cpu_s"] / float(sum(m.duration for m in clips))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    ap.add_argument("--per-label", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_grounding.json"))
    args = ap.parse_args()

    default = CorrectionConfig(workers=args.workers)
    one = CorrectionConfig(workers=args.workers, repair=RepairConfig(ground_window_s=None))
    per_seed = {}
    for seed in args.seeds:
        clips, names = generated_set(args.per_label, seed)
        window = default.repair.ground_window_s
        drifting = sum(int(np.ptp(ground_offsets(m, default.repair.percentile, window)) > 0) for m in clips)
        row = {"clips": len(clips), "following_their_level": drifting}
        row["default"] = side(clips, names, default)
        row["one_offset"] = side(clips, names, one)
        row["difference"] = {k: row["default"][k] - row["one_offset"][k] for k in KEYS}
        per_seed[str(seed)] = row
        d, o = row["default"], row["one_offset"]
        print(
            f"seed {seed}: {drifting} of {len(clips)} clips follow their level | success {o['success_rate']:.3f} -> "
            f"{d['success_rate']:.3f}, free {o['success_free_rate']:.3f} -> {d['success_free_rate']:.3f}, verified "
            f"{o['verified_rate']:.3f} -> {d['verified_rate']:.3f}, residual {100 * o['residual_bw']:.1f} -> "
            f"{100 * d['residual_bw']:.1f} %BW, MPJPE {o['mpjpe_mm']:.0f} / {o['mpjpe_median_mm']:.0f} -> "
            f"{d['mpjpe_mm']:.0f} / {d['mpjpe_median_mm']:.0f} mm, phys_err after {o['after_phys_err_mm']:.1f} -> "
            f"{d['after_phys_err_mm']:.1f} mm",
            flush=True,
        )
    diffs = {k: [per_seed[str(s)]["difference"][k] for s in args.seeds] for k in KEYS}
    figures = {
        "per_seed": per_seed,
        "difference_mean": {k: float(np.mean(v)) for k, v in diffs.items()},
        "difference_range": {k: [float(np.min(v)), float(np.max(v))] for k, v in diffs.items()},
    }
    config = {
        "seeds": args.seeds,
        "per_label": args.per_label,
        "sampler": "ddim:50",
        "workers": args.workers,
        "default": "CorrectionConfig() (RepairConfig.ground_window_s 1 s)",
        "one_offset": "CorrectionConfig(repair=RepairConfig(ground_window_s=None))",
    }
    write_result(args.out, "bench_grounding", config, figures)


if __name__ == "__main__":
    main()
