"""Train the evaluator shipped for the bundled dataset (assets/models/evaluator.pt).

    OMP_WAIT_POLICY=PASSIVE python scripts/train_evaluator.py [--data bundled|DIR] [--out FILE]
        [--seed 0] [--steps N] [--validate] [--n 128]

Seeded and deterministic on one machine. Prints the training record (held-out window
accuracy, seconds) as JSON. With --validate it then measures the metric validity protocol
(eval/validity.py): the evaluator's own held-out clip ends vs the rest of the data, at n
windows, under jitter, smoothing, floating, mode dropping and a repeated clip, and prints
the table (and writes it as JSON beside the evaluator file, NAME.validity.json).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

from motionloop.errors import MotionloopError
from motionloop.eval import EvaluatorConfig, load_reference, train_evaluator
from motionloop.eval.validity import format_rows, time_split, validity_rows
from motionloop.io import write_text

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "assets" / "models" / "evaluator.pt"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="bundled", help="'bundled' or a directory of labelled .npz clips")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=EvaluatorConfig.steps)
    p.add_argument("--validate", action="store_true", help="measure the validity protocol after training")
    p.add_argument("--n", type=int, default=128, help="windows per set for --validate")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        clips = load_reference(args.data)
        config = dataclasses.replace(EvaluatorConfig(), steps=args.steps)
        ev = train_evaluator(clips, args.out, config=config, seed=args.seed, progress=True)
        print(json.dumps({"out": str(args.out), "labels": list(ev.labels), **ev.train}, indent=2))
        if args.validate:
            t0 = time.perf_counter()
            reference, heldout = time_split(clips, config.holdout, config.window)
            rows = validity_rows(heldout, reference, ev, n=args.n, seed=args.seed)
            print(format_rows(rows))
            record = {"n": args.n, "seed": args.seed, "seconds": round(time.perf_counter() - t0, 1), "rows": rows}
            write_text(args.out.with_suffix(".validity.json"), json.dumps(record, indent=2) + "\n")
    except MotionloopError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
