"""Benchmark: the `demo` loop preset, seconds per generation split into fine-tune / sample /
correct / evaluate; JSON to benchmarks/results/bench_loop.json.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_loop.py [--generations K] [--out DIR] [--set key=value ...]

Runs the preset for real (default: all its generations, the 10-minute goal is for the whole
run) and reads the per-stage wall times every metrics.jsonl row carries: `fit_s` (fine-tune),
`sample_s` (synthetic clips and evaluation clips), `correct_s` (physics correction of the
synthetic clips and the probe clips), `evaluate_s` (`eval.evaluate`). A generation's figure is
the sum over its arms. Generation 0 (the base model's evaluation, shared by the arms, and the
first synthetic sets) is reported apart. `total_s` is the whole call, start-up and report included.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from motionloop.bench import write_result
from motionloop.io import read_jsonl
from motionloop.loop import load_config, run_loop

RESULTS = Path(__file__).resolve().parent / "results" / "bench_loop.json"
STAGES = ("fit", "sample", "correct", "evaluate")


def split(records: list[dict]) -> dict[int, dict[str, float]]:
    """Per generation: seconds per stage and in total, summed over the generation's rows."""
    out: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in records:
        row = out[r["generation"]]
        for s in STAGES:
            row[s] += r[f"{s}_s"]
        row["wall"] += r["wall_s"]
    return {g: {k: round(v, 2) for k, v in row.items()} for g, row in sorted(out.items())}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generations", type=int, help="override the preset's generations")
    p.add_argument("--out", help="run directory (default: a temporary one, deleted afterwards)")
    p.add_argument("--set", dest="overrides", action="append", default=[], help="more key=value overrides")
    args = p.parse_args()
    overrides = list(args.overrides) + ([f"generations={args.generations}"] if args.generations else [])
    config = load_config("demo", overrides)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "demo"
        t0 = time.perf_counter()
        run_loop(config, out, progress=False)
        total = time.perf_counter() - t0
        records = read_jsonl(out / "metrics.jsonl")
    per_gen = split(records)
    later = [row for g, row in per_gen.items() if g > 0]
    mean = {s: round(float(np.mean([row[s] for row in later])), 2) for s in (*STAGES, "wall")}
    share = {s: round(mean[s] / mean["wall"], 3) for s in STAGES}
    figures = {
        "total_s": round(total, 1),
        "within_10_min": total <= 600.0,
        "generation_0_s": per_gen[0],
        "per_generation_mean_s": mean,
        "per_generation_share": share,
        "dominant_stage": max(STAGES, key=lambda s: mean[s]),
        "per_generation_s": {str(g): row for g, row in per_gen.items()},
        "stages": {
            "fit": "fine-tune (model.fine_tune)",
            "sample": "model.sample: synthetic + evaluation clips",
            "correct": "physics.correct: synthetic clips (self-correcting arm) + probe clips (every arm)",
            "evaluate": "eval.evaluate",
        },
    }
    cfg = {
        "preset": "demo",
        "overrides": overrides,
        "generations": config.generations,
        "n": config.n,
        "arms": [a.name for a in config.arms],
        "finetune_steps": config.motion.finetune_steps,
        "eval_clips": config.motion.eval_clips,
        "probe_clips": config.motion.probe_clips,
        "workers": config.motion.workers,
    }
    write_result(RESULTS, "bench_loop", cfg, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
