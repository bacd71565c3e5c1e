"""Benchmark: diffusion training and sampling speed; JSON to benchmarks/results/bench_diffusion.json.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_diffusion.py [--ckpt PATH] [--mdm-steps 3] [--quality]

Training: full optimisation steps (batch drawing, x0 loss + kinematic auxiliary losses,
backward, AdamW) for the `cpu-small` and `mdm` presets at batch 32 and 64, after one
warm-up step; the median step gives steps/s and training windows (samples)/s. Sampling: 64 clips in one batch
from one checkpoint (the shipped base model if present, otherwise a quickly trained
cpu-small model: speed does not depend on the weights) with DDIM-10/50/100 and DDPM-1000 at
the default guidance, decoding to Motions included; the best of `--repeats` interleaved runs
counts.
`--quality` adds the evaluator's FID of 256 DDIM-50 and 256 DDPM-1000 clips (slow: ~10 min).
Data: the bundled dataset if installed, else synthetic clips (tests/synthetic.py).
The machine is shared: the load average before and after is recorded with the figures.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must precede torch's OpenMP start-up

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from motionloop.bench import write_result
from motionloop.data.features import DEFAULT_FPS, FEATURE_DIM, motion_to_features
from motionloop.data.normalize import Normalizer
from motionloop.data.windows import WindowSampler, label_vocabulary, make_windows
from motionloop.model.config import TrainConfig
from motionloop.model.denoiser import NULL_LABEL, Denoiser, preset
from motionloop.model.diffusion import GaussianDiffusion
from motionloop.model.losses import KinematicLosses
from motionloop.model.sample import DEFAULT_GUIDANCE, sample
from motionloop.model.train import train

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "bench_diffusion.json"
from motionloop.resources import BASE_MODEL  # noqa: E402


def load_data():
    """(clips, description): the bundled dataset the base model was trained on, or synthetic clips."""
    try:
        from motionloop.data.bundled import OBJECT_LABELS, load_bundled

        return load_bundled(exclude_labels=OBJECT_LABELS), "bundled (no object-interaction clips, as the base model)"
    except Exception as e:
        print(f"bundled data unavailable ({e}); using synthetic clips", file=sys.stderr)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from synthetic import synthetic_clips

    return synthetic_clips(6, seed=0, frames=200), "synthetic"


def time_training(name: str, batch: int, steps: int, windows, normalizer, vocab) -> dict:
    """Steps/s of full training steps of preset `name` at `batch`, after one warm-up step."""
    config = TrainConfig(batch_size=batch)
    torch.manual_seed(0)
    model = Denoiser(preset(name, FEATURE_DIM, len(vocab))).train()
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    diffusion = GaussianDiffusion(config.diffusion)
    aux = KinematicLosses(normalizer, DEFAULT_FPS)
    sampler = WindowSampler(windows, batch, seed=0, labels=vocab, normalizer=normalizer)
    gen = torch.Generator().manual_seed(0)

    def step():
        b = sampler.next_batch()
        x0 = torch.from_numpy(b.features)
        labels = torch.where(torch.rand(batch, generator=gen) < config.p_uncond, NULL_LABEL, torch.from_numpy(b.labels))
        t = torch.randint(0, diffusion.num_steps, (batch,), generator=gen)
        out = diffusion.training_losses(
            model, x0, t, labels, torch.randn(x0.shape, generator=gen), aux, config.aux_weights
        )
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()

    step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    dt = float(np.median(times))  # the median step: robust to other jobs on a shared machine
    return {
        "preset": name,
        "batch": batch,
        "parameters": model.num_parameters(),
        "steps_timed": steps,
        "median_step_s": round(dt, 4),
        "steps_per_s": round(1 / dt, 3),
        "samples_per_s": round(batch / dt, 1),
    }


def time_sampling(ckpt, specs: list[str], repeats: int, n: int = 64) -> list[dict]:
    """Clips/s of one batch of `n` clips per sampler: the best of `repeats` runs (other jobs only
    slow a run down), the samplers interleaved so that load changes hit them alike."""
    times: dict[str, list[float]] = {spec: [] for spec in specs}
    for _ in range(repeats):
        for spec in specs:
            t0 = time.perf_counter()
            sample(ckpt, n, sampler=spec, guidance=DEFAULT_GUIDANCE, seed=0, batch_size=n)
            times[spec].append(time.perf_counter() - t0)
    return [
        {
            "sampler": spec,
            "batch": n,
            "guidance": DEFAULT_GUIDANCE,
            "seconds_runs": [round(t, 2) for t in ts],
            "clips_per_s": round(n / min(ts), 3),
        }
        for spec, ts in times.items()
    ]


def quality(ckpt, reference) -> dict:
    """FID (evaluator embeddings) of 256 DDIM-50 and 256 DDPM-1000 clips against the reference."""
    from motionloop.eval import evaluate

    out = {}
    for spec in ("ddim:50", "ddpm"):
        clips = sample(ckpt, 256, sampler=spec, seed=1, batch_size=64)
        r = evaluate(clips, reference, n=256, seed=0)
        out[spec] = {k: r[k] for k in ("fid", "fid_floor", "diversity", "diversity_ref", "accuracy")}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", type=Path, default=None, help="checkpoint to sample (default: the shipped base model)")
    p.add_argument("--small-steps", type=int, default=10, help="timed training steps of cpu-small")
    p.add_argument("--mdm-steps", type=int, default=3, help="timed training steps of mdm")
    p.add_argument("--repeats", type=int, default=3, help="sampling runs per sampler (the fastest counts)")
    p.add_argument("--quality", action="store_true", help="also compare FID of DDIM-50 and DDPM-1000")
    args = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    load_before = os.getloadavg()
    clips, data = load_data()
    config = TrainConfig()
    windows = make_windows(clips, config.window, config.stride)
    vocab = label_vocabulary(windows)
    normalizer = Normalizer.fit([motion_to_features(m) for m in clips])

    training = []
    for name, steps in (("cpu-small", args.small_steps), ("mdm", args.mdm_steps)):
        for batch in (32, 64):
            training.append(time_training(name, batch, steps, windows, normalizer, vocab))
            print(json.dumps(training[-1]), flush=True)

    ckpt_path, ckpt_desc = args.ckpt or BASE_MODEL, "given"
    with tempfile.TemporaryDirectory() as tmp:
        if not ckpt_path.exists():
            ckpt_path, ckpt_desc = Path(tmp) / "quick.pt", "cpu-small trained 50 steps for timing only"
            train(clips, ckpt_path, 50, progress=False)
        from motionloop.model.checkpoint import load_checkpoint

        ckpt = load_checkpoint(ckpt_path)
        sample(ckpt, 4, sampler="ddim:2")  # warm-up
        sampling = time_sampling(ckpt, ["ddim:10", "ddim:50", "ddim:100", "ddpm"], args.repeats)
        print(json.dumps(sampling), flush=True)
        rates = {s["sampler"]: s["clips_per_s"] for s in sampling}
        config = {
            "window": config.window,
            "fps": DEFAULT_FPS,
            "diffusion_steps": config.diffusion.num_steps,
            "aux_losses": config.aux_weights,
            "data": data,
            "clips": len(clips),
            "windows": len(windows),
            "checkpoint": str(ckpt_path) if ckpt_desc == "given" else ckpt_desc,
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(),
        }
        figures = {
            "loadavg_before": load_before,
            "training": training,
            "sampling": sampling,
            "ddim50_speedup_over_ddpm1000": round(rates["ddim:50"] / rates["ddpm"], 2),
            "quality": quality(ckpt, clips) if args.quality else None,
        }
    write_result(RESULTS, "bench_diffusion", config, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
