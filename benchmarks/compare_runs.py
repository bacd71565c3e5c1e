"""Compare the arms of two loop runs made with the same seeds; JSON to
benchmarks/results/compare_runs.json.

    python benchmarks/compare_runs.py RUN_A RUN_B [--reference iterative] [--last 5]

A run's own effect table pairs its arms within seeds. Two runs with the same preset, seeds and
data (for example the `evidence` run and a later run of two of its arms with another
corrector) pair the same way, seed by seed (loop/effects.py, `cross_run_table`): the reference
arm of RUN_B against RUN_A's (the noise floor of any cross-run difference: two runs need
not be the same chain bit for bit), every other arm of RUN_B against every arm of RUN_A, and RUN_B's
own table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from motionloop.bench import write_result
from motionloop.loop.effects import DEFAULT_METRICS, cross_run_table, format_table
from motionloop.loop.report import load_run

RESULTS = Path(__file__).resolve().parent / "results" / "compare_runs.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_a", type=Path)
    ap.add_argument("run_b", type=Path)
    ap.add_argument("--reference", default="iterative", help="arm in both runs; its cross-run row is the noise floor")
    ap.add_argument("--last", type=int, default=5, help="generations averaged per seed, counted from the end")
    ap.add_argument("--metrics", nargs="+", help="default: the run's task's (loop/effects.py DEFAULT_METRICS)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    config_a, a = load_run(args.run_a)
    _, b = load_run(args.run_b)
    metrics = tuple(args.metrics or DEFAULT_METRICS[config_a.task])
    try:
        out = cross_run_table(a, b, metrics, args.reference, args.last)
    except ValueError as e:
        raise SystemExit(f"compare_runs: {e}") from None
    for name, rows in out.items():
        print(f"-- {name}")
        print(format_table(rows))
    config = {"run_a": str(args.run_a), "run_b": str(args.run_b), "reference": args.reference, "last": args.last}
    write_result(args.out, "compare_runs", config, out)


if __name__ == "__main__":
    main()
