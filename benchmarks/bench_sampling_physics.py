"""Physics inside the sampler vs after it (PhysDiff's comparison) on the shipped base model.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_sampling_physics.py [--n 256] [--workers 2]

Samples `--n` clips (labels from the training mix, seed 0) five ways and evaluates each set
against the bundled reference (FID at n = 256 with its real-vs-real floor, diversity,
accuracy, phys_err; each averaged over 3 window draws, the same draws for every set):
plain DDIM-50; DDIM-50 then post-hoc correction; DDIM-50 with P = 1, 2, 4 projections of the
clean estimate (diffusion.projection_steps: the last step and every 2nd before it). Cost is
wall seconds per clip on `--workers` correction processes, and its ratio to plain DDIM-50 and
to post-hoc correction, measured in this run. JSON: benchmarks/results/bench_sampling_physics.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must precede torch's OpenMP start-up

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from motionloop.bench import write_result
from motionloop.eval import evaluate
from motionloop.model.checkpoint import load_checkpoint
from motionloop.model.sample import sample
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.resources import BASE_MODEL

RESULTS = Path(__file__).resolve().parent / "results" / "bench_sampling_physics.json"
DRAWS = 3


def scores(clips, n_eval: int) -> dict:
    rows = [evaluate(clips, "bundled", n=n_eval, seed=s) for s in range(DRAWS)]
    out = {
        k: float(np.mean([r[k] for r in rows]))
        for k in ("fid", "fid_floor", "diversity", "accuracy", "phys_err_mm", "penetrate_mm", "float_mm", "skate_mm")
    }
    out["fid_draw_sd"] = float(np.std([r["fid"] for r in rows], ddof=1))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--projections", default="1,2,4")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ckpt = load_checkpoint(BASE_MODEL, torch.device("cpu"))
    physics = CorrectionConfig(workers=args.workers)
    n_eval = min(256, args.n)
    figures: dict = {}

    t0 = time.perf_counter()
    plain = sample(ckpt, args.n, seed=0, sampler="ddim:50")
    plain_s = time.perf_counter() - t0
    figures["ddim50"] = {"seconds_per_clip": plain_s / args.n, **scores(plain, n_eval)}
    t0 = time.perf_counter()
    post, reports = correct(plain, physics)
    post_s = plain_s + time.perf_counter() - t0
    figures["ddim50+posthoc"] = {
        "seconds_per_clip": post_s / args.n,
        **scores(post, n_eval),
        "success_rate": float(np.mean([r.success for r in reports])),
    }
    for p in (int(x) for x in args.projections.split(",")):
        t0 = time.perf_counter()
        guided = sample(ckpt, args.n, seed=0, sampler="ddim:50", physics_steps=p, physics=physics)
        s = time.perf_counter() - t0
        figures[f"ddim50+physics:{p}"] = {"seconds_per_clip": s / args.n, **scores(guided, n_eval)}
    for name, row in figures.items():
        row["cost_vs_ddim50"] = row["seconds_per_clip"] / figures["ddim50"]["seconds_per_clip"]
        row["cost_vs_posthoc"] = row["seconds_per_clip"] / figures["ddim50+posthoc"]["seconds_per_clip"]
        print(
            f"{name:18s} FID {row['fid']:6.1f} (floor {row['fid_floor']:.1f}, draw sd {row['fid_draw_sd']:.1f})  "
            f"diversity {row['diversity']:5.2f}  accuracy {row['accuracy']:.2f}  phys_err {row['phys_err_mm']:5.1f} mm  "
            f"{row['seconds_per_clip']:.3f} s/clip ({row['cost_vs_ddim50']:.0f}x DDIM-50, "
            f"{row['cost_vs_posthoc']:.2f}x post-hoc)"
        )
    write_result(
        RESULTS,
        "bench_sampling_physics",
        {
            "n": args.n,
            "eval_n": n_eval,
            "draws": DRAWS,
            "workers": args.workers,
            "sampler": "ddim:50",
            "seed": 0,
            "correction": "CorrectionConfig(strength=1)",
        },
        figures,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
