"""Benchmark: the `evidence` preset's cost, split by stage and arm, and the speed-up of running
its seeds in parallel processes; JSON to benchmarks/results/bench_evidence.json.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_evidence.py [--run DIR] [--generations 1]

Two measurements:
- `--run DIR`: a finished evidence run (e.g. the full one, `motionloop loop --config evidence
  --out DIR --jobs 2`): seconds per generation and per arm split into fine-tune / sample /
  correct / evaluate (summed over seeds, from metrics.jsonl), the filter's kept share, and the
  run's wall time from its files' timestamps.
- always: the preset cut to `--generations` generations and seeds [0, 1], run once with
  `--jobs 1` and once with `--jobs 2` in this process's machine, wall time of each and the
  ratio (the parallel speed-up on 2 cores), and how far the two runs' FIDs differ.
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
from motionloop.loop import run_loop

RESULTS = Path(__file__).resolve().parent / "results" / "bench_evidence.json"
STAGES = ("fit", "sample", "correct", "evaluate")
TIMING = ("wall_s", "fit_s", "sample_s", "correct_s", "evaluate_s")


def stage_split(records: list[dict]) -> dict:
    """Seconds per arm and stage, summed over seeds and averaged over generations >= 1."""
    gens = sorted({r["generation"] for r in records if r["generation"] >= 1})
    out: dict = defaultdict(lambda: defaultdict(float))
    for r in records:
        if r["generation"] < 1:
            continue
        for s in STAGES:
            out[r["arm"]][s] += r[f"{s}_s"] / len(gens)
        out[r["arm"]]["wall"] += r["wall_s"] / len(gens)
    per_gen = {s: sum(a[s] for a in out.values()) for s in (*STAGES, "wall")}
    return {
        "per_arm": {a: {k: round(v, 1) for k, v in row.items()} for a, row in out.items()},
        "per_generation": {k: round(v, 1) for k, v in per_gen.items()},
        "generations": len(gens),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="a finished evidence run directory to read")
    p.add_argument("--generations", type=int, default=1)
    args = p.parse_args()
    figures: dict = {}
    if args.run:
        root = Path(args.run)
        records = read_jsonl(root / "metrics.jsonl")
        figures["run"] = stage_split(records)
        files = [f for f in root.rglob("*") if f.is_file()]
        figures["run"]["wall_hours_from_files"] = round(
            (max(f.stat().st_mtime for f in files) - (root / "config.toml").stat().st_mtime) / 3600, 2
        )
        kept = [r["filter_kept_share"] for r in records if r.get("filter_kept_share") is not None]
        figures["run"]["filter_kept_share_mean"] = float(np.mean(kept)) if kept else None
        print(f"run {root}: per generation (all arms, all seeds) {figures['run']['per_generation']}")
    overrides = [f"generations={args.generations}", "seeds=[0, 1]"]
    walls, rows = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, 2):
            t0 = time.perf_counter()
            root = run_loop("evidence", Path(tmp) / f"jobs{jobs}", overrides=overrides, progress=False, jobs=jobs)
            walls[jobs] = time.perf_counter() - t0
            rows[jobs] = sorted(
                ({k: v for k, v in r.items() if k not in TIMING} for r in read_jsonl(root / "metrics.jsonl")),
                key=lambda r: (r["seed"], r["arm"], r["generation"]),
            )
    figures["parallel"] = {
        "generations": args.generations,
        "seeds": [0, 1],
        "wall_s_jobs1": round(walls[1], 1),
        "wall_s_jobs2": round(walls[2], 1),
        "speedup": round(walls[1] / walls[2], 2),
        "max_abs_fid_difference": max(abs(a["fid"] - b["fid"]) for a, b in zip(rows[1], rows[2])),
    }
    print(
        f"seeds in parallel: jobs 1 {walls[1]:.0f} s, jobs 2 {walls[2]:.0f} s, speed-up {walls[1] / walls[2]:.2f}x, "
        f"largest FID difference {figures['parallel']['max_abs_fid_difference']:.3g} (one process runs torch with "
        "its default threads, a worker with one)"
    )
    write_result(RESULTS, "bench_evidence", {"preset": "evidence", "overrides": overrides}, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
