"""Benchmark: the toy loop presets (kazdan-gaussian, kazdan-kde, scsc-toy) with their seed noise;
JSON to benchmarks/results/bench_toys.json.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_toys.py [--presets NAME ...] [--set key=value ...]
        [--window K] [--results DIR]

Runs each preset in full into a temporary directory (one process) and reads its metrics.jsonl.
Per preset, per arm and lambda: every metric at the last generation as mean, standard error
(sample standard deviation / sqrt(seeds)) and median over seeds, and the same for each seed's
mean over the last `--window` generations (the figure Gillman et al.'s toy is read by: its W2
at one generation is noisy). `wall_s` is the whole run_loop call. The run's curves.png is copied
to benchmarks/results/loop_<preset>_curves.png. Presets not run this time keep their entries
from an existing bench_toys.json (each entry records its own seeds and wall time).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from motionloop.bench import write_result
from motionloop.io import read_jsonl
from motionloop.loop import load_config, run_loop

RESULTS = Path(__file__).resolve().parent / "results"
PRESETS = ("kazdan-gaussian", "kazdan-kde", "scsc-toy")
# record fields that describe the row rather than measure the model
NOT_METRICS = {"generation", "lambda", "seed", "n", "synthetic", "train_size", "gamma", "strength"}


def metric_keys(records: list[dict]) -> list[str]:
    """Numeric fields of the records that are measurements (not bookkeeping, not `*_s` timings)."""
    keys = {k for r in records for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return sorted(k for k in keys if k not in NOT_METRICS and not k.endswith("_s"))


def mean_se(values: list[float]) -> dict:
    """{mean, se, median, seeds} of per-seed values (se = std with ddof 1 / sqrt(seeds), None for
    one seed; the median because some metrics, replace's KDE NLL, are heavy-tailed)."""
    x = np.asarray([v for v in values if v is not None], np.float64)
    if len(x) == 0:
        return {"mean": None, "se": None, "median": None, "seeds": 0}
    se = _sig(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else None
    return {"mean": _sig(x.mean()), "se": se, "median": _sig(np.median(x)), "seeds": len(x)}


def _sig(v: float) -> float:
    return float(f"{v:.5g}")


def summarise(records: list[dict], window: int) -> dict:
    """Per "arm@lambda": per metric, mean +- SE over seeds at the last generation and of each
    seed's mean over the last `window` generations."""
    last = max(r["generation"] for r in records)
    keys = metric_keys(records)
    rows: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        rows[f"{r['arm']}@{r['lambda']:g}"][r["seed"]].append(r)
    out = {}
    for unit, seeds in rows.items():
        final = {s: next(r for r in rs if r["generation"] == last) for s, rs in seeds.items()}
        late = {s: [r for r in rs if r["generation"] > last - window] for s, rs in seeds.items()}
        out[unit] = {
            "last_generation": {k: mean_se([final[s].get(k) for s in seeds]) for k in keys},
            f"last_{window}_generations": {
                k: mean_se(
                    [
                        np.mean([r[k] for r in late[s] if r.get(k) is not None])
                        for s in seeds
                        if any(r.get(k) is not None for r in late[s])
                    ]
                )
                for k in keys
            },
        }
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=list(PRESETS), help=f"presets to run (default: {' '.join(PRESETS)})")
    p.add_argument("--set", dest="overrides", action="append", default=[], help="key=value overrides for every preset")
    p.add_argument("--window", type=int, default=100, help="generations averaged per seed (default 100)")
    p.add_argument(
        "--results", type=Path, default=RESULTS, help="where the JSON and curves go (default benchmarks/results)"
    )
    args = p.parse_args()
    figures, cfg = {}, {"overrides": args.overrides, "window": args.window, "presets": {}}
    old = args.results / "bench_toys.json"
    if old.exists():  # keep the presets not rerun
        prev = json.loads(old.read_text())
        if prev.get("config", {}).get("window") == args.window and not args.overrides:
            figures.update({k: v for k, v in prev["figures"].items() if k not in args.presets})
            cfg["presets"].update({k: v for k, v in prev["config"]["presets"].items() if k not in args.presets})
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.presets:
            config = load_config(name, args.overrides)
            run = Path(tmp) / name
            t0 = time.perf_counter()
            run_loop(config, run, progress=False)
            wall = time.perf_counter() - t0
            records = read_jsonl(run / "metrics.jsonl")
            figures[name] = {"wall_s": round(wall, 1), "arms": summarise(records, args.window)}
            cfg["presets"][name] = {
                "task": config.task,
                "generations": config.generations,
                "n": config.n,
                "seeds": list(config.seeds),
                "arms": [a.name for a in config.arms],
            }
            shutil.copyfile(run / "curves.png", args.results / f"loop_{name.replace('-', '_')}_curves.png")
        # written before the runs' ~10^5 small files are deleted, which takes minutes on a slow disk
        write_result(args.results / "bench_toys.json", "bench_toys", cfg, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
