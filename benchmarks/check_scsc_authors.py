"""Check: the `scsc-toy` preset against Gillman et al.'s own toy script, W2 per gamma within seed noise.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/check_scsc_authors.py --script PATH/gaussian_toy_example.py
        [--runs 0,1,2,3,4,5,6,7] [--ours RUN_DIR] [--authors-npz FILE]

The authors' script (github nate-gillman/self-correcting-self-consuming,
exp_scripts/gaussian_toy_example.py; needs numpy, scipy, scikit-learn) is not shipped here: fetch
it yourself and pass its path. For each run and each of the paper's gammas this runs the script's
`RejectionSamplingCorrection` loop (50 real points, accumulated synthetic sets, 50% augmentation,
500 generations) with its generator seeded per (run, gamma) in place of its unseeded one, and
stores the W2 curves in `--authors-npz` (reused when it exists). Our side is `motionloop loop
--config scsc-toy` (run into `--ours` unless it holds a finished run). Per gamma: each run's mean
W2 over generations 401-500, mean and standard error over runs on each side, and the difference
in units of the combined standard error; the curves' window means; JSON to
benchmarks/results/check_scsc_authors.json and the two mean curves side by side to
benchmarks/results/check_scsc_authors.png.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np

from motionloop.bench import write_result
from motionloop.io import read_jsonl
from motionloop.loop import load_config, run_loop

RESULTS = Path(__file__).resolve().parent / "results"
GAMMAS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 2.0, 5.0)
GENERATIONS = 500
WINDOWS = ((0, 0), (1, 10), (11, 50), (51, 100), (101, 200), (201, 300), (301, 400), (401, 500))


def run_authors(script: Path, runs: list[int], out: Path) -> np.ndarray:
    """W2 curves `(runs, gammas, 501)` of the authors' process, saved to `out` after each run."""
    spec = importlib.util.spec_from_file_location("gaussian_toy_example", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.tqdm = lambda it, **_: it  # no progress bars
    w2 = np.zeros((len(runs), len(GAMMAS), GENERATIONS + 1))
    t0 = time.perf_counter()
    for a, run in enumerate(runs):
        for b, gamma in enumerate(GAMMAS):
            loop = mod.RejectionSamplingCorrection(
                n_samples_gt=50, accumulate_synth_examples=True, projection_strength=gamma / (1 + gamma)
            )
            loop.rng = np.random.default_rng([run, b])
            np.random.seed(1000 * run + b)  # the script shuffles with the global generator
            w2[a, b] = mod.get_w2(
                loop.run_self_correction_augmentation_loop(n_steps=GENERATIONS, synth_aug_percent=0.5)
            )
            print(
                f"authors run {run} gamma {gamma}: late W2 {w2[a, b, 401:].mean():.4f} "
                f"({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        np.savez(out, w2=w2[: a + 1], gammas=np.array(GAMMAS), runs=np.array(runs[: a + 1]))
    return w2


def ours_curves(run: Path) -> np.ndarray:
    """W2 curves `(seeds, gammas, 501)` of a finished scsc-toy run."""
    rows = read_jsonl(run / "metrics.jsonl")
    arm_gamma = {a.name: a.gamma for a in load_config("scsc-toy").arms}
    seeds = sorted({r["seed"] for r in rows})
    out = np.full((len(seeds), len(GAMMAS), GENERATIONS + 1), np.nan)
    for r in rows:
        g = arm_gamma[r["arm"]]
        b = min(range(len(GAMMAS)), key=lambda i: abs(GAMMAS[i] - g))  # gamma0 is written 1e-12
        out[seeds.index(r["seed"]), b, r["generation"]] = r["w2"]
    if np.isnan(out).any():
        raise SystemExit(f"{run}: the scsc-toy run is not finished")
    return out


def mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--script", type=Path, help="the authors' gaussian_toy_example.py (not needed with --authors-npz)")
    p.add_argument("--runs", default="0,1,2,3,4,5,6,7", help="authors' runs (seeds), comma-separated")
    p.add_argument(
        "--authors-npz", type=Path, default=Path("authors_w2.npz"), help="authors' curves (reused if present)"
    )
    p.add_argument("--ours", type=Path, help="a finished `motionloop loop --config scsc-toy` run (else one is run)")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.authors_npz.exists():
        authors = np.load(args.authors_npz)["w2"]
    elif args.script is None:
        raise SystemExit(f"{args.authors_npz} does not exist: pass --script PATH/gaussian_toy_example.py")
    else:
        authors = run_authors(args.script, [int(s) for s in args.runs.split(",")], args.authors_npz)
    with tempfile.TemporaryDirectory() as tmp:
        run = args.ours
        if run is None or not (run / "metrics.jsonl").exists():
            run = run or Path(tmp) / "scsc-toy"
            run_loop(load_config("scsc-toy"), run, progress=False)
        ours = ours_curves(run)
    figures = {}
    print(
        f"W2, mean over generations 401-500 per run; mean +- SE over runs ({len(authors)} authors', {len(ours)} ours)"
    )
    for b, g in enumerate(GAMMAS):
        a, sa = mean_se(authors[:, b, 401:].mean(1))
        o, so = mean_se(ours[:, b, 401:].mean(1))
        z = (o - a) / np.hypot(sa, so)
        figures[f"gamma{g:g}"] = {
            "authors_late_w2": round(a, 4),
            "authors_se": round(sa, 4),
            "ours_late_w2": round(o, 4),
            "ours_se": round(so, 4),
            "diff_over_se": round(float(z), 2),
            "windows": {
                f"{lo}-{hi}": [
                    round(float(authors[:, b, lo : hi + 1].mean()), 3),
                    round(float(ours[:, b, lo : hi + 1].mean()), 3),
                ]
                for lo, hi in WINDOWS
            },
        }
        print(f"gamma {g:>5}: authors {a:.4f} +- {sa:.4f}  ours {o:.4f} +- {so:.4f}  diff/SE {z:+.2f}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for b, g in enumerate(GAMMAS):
        ax[0].plot(authors[:, b].mean(0), label=f"gamma {g:g}")
        ax[1].plot(ours[:, b].mean(0), label=f"gamma {g:g}")
    ax[0].set_title(f"authors' script (mean of {len(authors)} runs)")
    ax[1].set_title(f"motionloop scsc-toy (mean of {len(ours)} seeds)")
    ax[0].legend(fontsize=7)
    ax[0].set_ylabel("W2 to N(0, I)")
    for a in ax:
        a.set_xlabel("generation")
    fig.savefig(args.results / "check_scsc_authors.png", dpi=90, bbox_inches="tight")
    config = {
        "authors_runs": len(authors),
        "our_seeds": len(ours),
        "gammas": list(GAMMAS),
        "generations": GENERATIONS,
        "late_window": [401, 500],
    }
    write_result(args.results / "check_scsc_authors.json", "check_scsc_authors", config, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
