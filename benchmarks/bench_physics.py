"""Physics correction on the bundled real clips: quality, the strength frontier, and cost.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_physics.py [--workers 2] [--quick]

Writes benchmarks/results/bench_physics.json with, per strength setting, every clip's report
(success, resets, residual %BW, feasibility floor %BW of the reference, MPJPE, physics metrics
before -> after, CPU s), a summary, the walking/turning summary and one per label; the results
on deliberately corrupted copies of the walking clips (root lifted 10 cm, sunk 5 cm, joint
jitter, sliding feet); and the cost as CPU seconds per motion-second against stepping the same
model for the same duration with zero control, measured in this run on the same executor (the
same number of worker processes, so both see the same machine load), before and after the
corrections. Object-interaction clips (climbing, hanging) are excluded: the simulation has no
objects.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import mujoco
import numpy as np

from motionloop.bench import machine
from motionloop.data import corrupt
from motionloop.data.bundled import OBJECT_LABELS, list_bundled
from motionloop.io import write_text
from motionloop.motion import Motion
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.physics.executor import make_executor
from motionloop.physics.model import Humanoid
from motionloop.physics.summary import summarize

STRENGTHS = (0.25, 0.5, 0.75, 1.0)
WALKING = ("walk", "turn")


def zero_control_cost(seconds: float) -> float:
    """CPU seconds to step the humanoid for `seconds` of simulated time with zero control."""
    h = Humanoid()
    d = mujoco.MjData(h.model)
    steps = round(seconds / h.model.opt.timestep)
    t0 = time.process_time()
    for _ in range(steps):
        mujoco.mj_step(h.model, d)
        if d.time > 2.0:  # keep stepping a body that has collapsed, as a fresh one would
            mujoco.mj_resetData(h.model, d)
    return time.process_time() - t0


def floor_cost(durations: list[float], workers: int) -> float:
    """Zero-control CPU seconds for every clip's duration, on the executor the corrections use."""
    return float(sum(make_executor(workers).map(zero_control_cost, durations)))


def corrupted_set(clips: list[Motion], names: list[str]) -> tuple[list[Motion], list[str]]:
    rng = np.random.default_rng(0)
    out, out_names = [], []
    for m, n in zip(clips, names):
        for kind, fn in (
            ("lift10cm", lambda m: corrupt.lift(m, 0.10)),
            ("sink5cm", lambda m: corrupt.lift(m, -0.05)),
            ("jitter", lambda m: corrupt.jitter(m, 0.05, rng)),
            ("slide", lambda m: corrupt.slide(m, 0.3, rng)),
        ):
            out.append(fn(m))
            out_names.append(f"{n}+{kind}")
    return out, out_names


def by_label(reports, entries) -> dict[str, dict]:
    labels = sorted({c.label for c in entries})
    out = {}
    for label in labels:
        s = summarize([r for r, c in zip(reports, entries) if c.label == label])
        out[label] = {k: s[k] for k in ("clips", "success_rate", "residual_bw", "mpjpe_mm", "feasibility_bw",
                                         "before_phys_err_mm", "after_phys_err_mm")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="walking clips only, strengths 0.5 and 1")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_physics.json"))
    args = ap.parse_args()

    entries = [c for c in list_bundled() if c.label not in OBJECT_LABELS]
    if args.quick:
        entries = [c for c in entries if c.label in WALKING]
    strengths = (0.5, 1.0) if args.quick else STRENGTHS
    clips = [Motion.load(c.path) for c in entries]
    names = [c.id for c in entries]
    durations = [m.duration for m in clips]
    seconds = float(sum(durations))

    result: dict = {
        "name": "bench_physics",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "config": {"clips": len(clips), "motion_seconds": seconds, "strengths": list(strengths),
                   "workers": args.workers, "excluded_labels": sorted(OBJECT_LABELS),
                   "correction": dataclasses.asdict(CorrectionConfig())},
        "machine": machine(),
        "figures": {},
    }
    floor_before = floor_cost(durations, args.workers)

    frontier = []
    for s in strengths:
        t0 = time.time()
        _, reports = correct(clips, CorrectionConfig(strength=s, workers=args.workers), names=names)
        summary = summarize(reports)
        walking = summarize([r for r, c in zip(reports, entries) if c.label in WALKING])
        row = {"strength": s, "summary": summary, "walking": walking, "by_label": by_label(reports, entries),
               "wall_s": time.time() - t0, "cpu_s_per_motion_s": summary["cpu_s"] / seconds,
               "clips": [dict(r.to_dict(), label=c.label) for r, c in zip(reports, entries)]}
        frontier.append(row)
    floor_after = floor_cost(durations, args.workers)
    floor = 0.5 * (floor_before + floor_after) / seconds
    result["figures"]["zero_control_cpu_s_per_motion_s"] = floor
    result["figures"]["zero_control_cpu_s_per_motion_s_before_after"] = [floor_before / seconds, floor_after / seconds]
    for row in frontier:
        row["cost_ratio_to_zero_control"] = row["cpu_s_per_motion_s"] / floor
        summary, walking = row["summary"], row["walking"]
        print(f"strength {row['strength']:4.2f}: success {summary['success_rate']:.2f}  residual "
              f"{100 * summary['residual_bw']:.1f} %BW  MPJPE {summary['mpjpe_mm']:.0f} mm  phys_err "
              f"{summary['before_phys_err_mm']:.1f} -> {summary['after_phys_err_mm']:.1f} mm  | walking: success "
              f"{walking['success_rate']:.2f} residual {100 * walking['residual_bw']:.1f} %BW MPJPE "
              f"{walking['mpjpe_mm']:.0f} mm  | {row['cpu_s_per_motion_s']:.3f} CPU s per motion s "
              f"({row['cost_ratio_to_zero_control']:.1f}x zero control)", flush=True)
    result["figures"]["frontier"] = frontier
    top = frontier[-1]
    print(f"per label at strength {top['strength']}: " + "  ".join(
        f"{k} {v['success_rate']:.2f}" for k, v in top["by_label"].items()))

    walk = [(m, n) for m, n, c in zip(clips, names, entries) if c.label in WALKING]
    bad, bad_names = corrupted_set([m for m, _ in walk], [n for _, n in walk])
    _, reports = correct(bad, CorrectionConfig(strength=1.0, workers=args.workers), names=bad_names)
    by_kind: dict[str, list] = {}
    for r in reports:
        by_kind.setdefault(r.clip.split("+")[1], []).append(r)
    corrupted = {}
    for kind, rs in by_kind.items():
        before = float(np.mean([r.before["phys_err_mm"] for r in rs]))
        after = float(np.mean([r.after["phys_err_mm"] for r in rs]))
        corrupted[kind] = {"phys_err_before_mm": before, "phys_err_after_mm": after,
                           "drop": 1.0 - after / max(before, 1e-9), "success_rate": float(np.mean([r.success for r in rs])),
                           "residual_bw": float(np.mean([r.residual_bw for r in rs])),
                           "mpjpe_mm": float(np.mean([r.mpjpe_mm for r in rs]))}
    result["figures"]["corrupted"] = corrupted
    for k, v in corrupted.items():
        print(f"corrupted {k:9s}: phys_err {v['phys_err_before_mm']:.1f} -> {v['phys_err_after_mm']:.1f} mm "
              f"(drop {100 * v['drop']:.0f}%), success {v['success_rate']:.2f}")
    write_text(args.out, json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
