"""Benchmark: `evaluate` on 512 clips on CPU; JSON to benchmarks/results/bench_eval.json.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_eval.py [--clips 512] [--frames 60] [--n 512]

With the bundled dataset and the shipped evaluator present, the evaluated clips are
windows of the bundled clips and the reference is the bundled set; otherwise both are
synthetic (tests/synthetic.py) and a small evaluator is trained first (not timed). Times
are wall-clock seconds of one call, after a warm-up call on 8 clips.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from motionloop.bench import write_result
from motionloop.data.windows import make_windows
from motionloop.eval import Evaluator, EvaluatorConfig, evaluate, load_reference, train_evaluator
from motionloop.eval.evaluator import BUNDLED_WEIGHTS
from motionloop.physics.metrics import physics_metrics

# the synthetic clip generator lives with the tests (tests/synthetic.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic import synthetic_clips

RESULTS = Path(__file__).resolve().parent / "results" / "bench_eval.json"


def setup(frames: int, clips: int):
    """(evaluator, reference, clips to evaluate, description of the data)."""
    try:
        reference = load_reference("bundled")
        ev = Evaluator.load(BUNDLED_WEIGHTS)
        pool = make_windows(reference, frames, stride=max(1, frames // 4))
        rng = np.random.default_rng(0)
        chosen = [pool[i] for i in rng.choice(len(pool), size=clips, replace=len(pool) < clips)]
        return ev, reference, chosen, "bundled"
    except Exception as e:
        print(f"bundled data or weights unavailable ({e}); using synthetic clips", file=sys.stderr)
    reference = synthetic_clips(8, seed=0, frames=300)
    ev = train_evaluator(reference, config=EvaluatorConfig(steps=300), seed=0)
    return ev, reference, synthetic_clips(-(-clips // 8), seed=1, frames=frames)[:clips], "synthetic"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=512)
    p.add_argument("--frames", type=int, default=60, help="frames per evaluated clip (20 fps; the model samples 60)")
    p.add_argument("--n", type=int, default=512, help="windows per set")
    args = p.parse_args()
    ev, reference, clips, data = setup(args.frames, args.clips)
    evaluate(clips[:8], reference, n=8, evaluator=ev)  # warm-up: imports, allocator, thread pool

    t0 = time.perf_counter()
    result = evaluate(clips, reference, n=args.n, evaluator=ev)
    total = time.perf_counter() - t0
    t0 = time.perf_counter()
    for m in clips:
        physics_metrics(m)
    physics = time.perf_counter() - t0
    config = {
        "data": data,
        "clips": len(clips),
        "frames_per_clip": args.frames,
        "reference_clips": len(reference),
        "reference_frames": int(sum(m.num_frames for m in reference)),
        "n": args.n,
        "torch_threads": torch.get_num_threads(),
    }
    figures = {"seconds_total": round(total, 2), "seconds_physics_metrics": round(physics, 2), "result": result}
    write_result(RESULTS, "bench_eval", config, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
