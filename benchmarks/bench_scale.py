"""Scale-out on this machine, and the paper-size loop's cost on larger ones.

    python benchmarks/bench_scale.py [--clips 8] [--skip-ddp]

Measured here (every Ray part inside a loopback-only network namespace, tests/raynet.py):
1. correction of generated clips (DDIM-50 samples of the shipped model, 2 s each): clips/s of
   the serial executor, and of Ray on a local instance with 1 and 2 CPUs; Ray's overhead per
   clip (a job that does nothing, one clip per task);
2. a toy loop of 4 chains (kazdan-gaussian, 2 arms x 2 seeds, 300 generations, n 2000, dim 10): wall
   time serial vs Ray on a local instance (2 CPUs), Ray's start-up included;
3. DDP: training steps/s of the cpu-small preset, batch 64, 1 rank vs 2 ranks (torchrun, gloo);
4. the per-unit costs of the paper-size loop (motionloop/configs/paper-motion.toml): one MDM
   training step (batch 64, from benchmarks/results/bench_diffusion.json, same machine), MDM
   DDIM-50 sampling per clip (timed here), correction per generated clip (1 above).
From 4, `estimate()` gives the paper-size loop's wall time on 8, 64 and 512 CPU cores and on 8
GPUs; the GPU figure rests on an assumed GPU step time (stated in the JSON), not a measurement.
Writes benchmarks/results/bench_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

RESULT = ROOT / "benchmarks" / "results" / "bench_scale.json"
# Assumption for the GPU estimate (not measured: no GPU here): one MDM training step (batch 64,
# 40 frames, 17.6M parameters) on a data-centre GPU, and its DDIM-50 sampling cost per clip.
GPU_STEP_S = 0.05
GPU_SAMPLE_CLIP_S = 0.01
DDP_MAX_RANKS = 8  # a batch of 64 split further gives each rank too little work to gain


# ----------------------------------------------------------------------- inside the namespace
def inner_correct(clips: int, out: Path) -> None:
    from motionloop import raycluster
    from motionloop.model.sample import sample
    from motionloop.physics.correct import CorrectionConfig, correct_one
    from motionloop.physics.executor import RayExecutor, SerialExecutor
    from motionloop.resources import BASE_MODEL

    gen = sample(BASE_MODEL, clips, seconds=2.0, sampler="ddim:50", seed=3)
    cfg = CorrectionConfig()
    jobs = [(f"gen_{i:03d}", m, cfg) for i, m in enumerate(gen)]
    res: dict = {"clips": len(jobs), "motion_s": round(sum(m.duration for m in gen), 2)}
    t0 = time.perf_counter()
    serial = list(SerialExecutor().map(correct_one, jobs))
    res["serial_s"] = time.perf_counter() - t0
    for cpus in (1, 2):
        raycluster.connect(None, num_cpus=cpus)
        ex = RayExecutor()
        list(ex.map(_nothing, jobs[:2]))  # start the workers and import motionloop in them
        t0 = time.perf_counter()
        got = list(ex.map(correct_one, jobs))
        res[f"ray{cpus}_s"] = time.perf_counter() - t0
        res[f"ray{cpus}_identical"] = all(
            (a[0].poses == b[0].poses).all() and (a[0].trans == b[0].trans).all() for a, b in zip(got, serial)
        )
        t0 = time.perf_counter()
        list(RayExecutor(batch_size=1).map(_nothing, jobs * 8))
        res[f"ray{cpus}_overhead_per_clip_ms"] = (time.perf_counter() - t0) / (8 * len(jobs)) * 1e3
        raycluster.shutdown()
    out.write_text(json.dumps(res))


def _nothing(job):
    return job[0]


def inner_loop(out: Path) -> None:
    from motionloop.loop import load_config, run_loop

    overrides = ["generations=300", "seeds=[0, 1]", "gaussian.dim=10", "n=2000"]
    config = load_config("kazdan-gaussian", overrides)
    res = {"chains": len(config.seeds) * len(config.units()), "overrides": overrides}
    with tempfile.TemporaryDirectory() as tmp:
        for executor in ("local", "ray"):
            t0 = time.perf_counter()
            run_loop("kazdan-gaussian", Path(tmp) / executor, overrides=overrides, progress=False, executor=executor)
            res[f"{executor}_s"] = time.perf_counter() - t0
    out.write_text(json.dumps(res))


# ----------------------------------------------------------------------- outside
def _isolated(part: str, args: list[str], timeout: float) -> dict:
    from raynet import run_isolated

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        res = run_isolated(
            [sys.executable, __file__, "--inner", part, "--out", str(out), *args],
            timeout=timeout,
            env={"RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"},
        )
        if res.returncode != 0 or not out.exists():
            raise RuntimeError(f"{part}: exit {res.returncode}\n{res.stderr[-3000:]}")
        return json.loads(out.read_text())


def ddp_speed(short: int = 10, long: int = 70) -> dict:
    """Training steps/s of `motionloop train` (cpu-small, batch 64) under torchrun with 1 rank
    (2 threads) and 2 ranks (1 thread each): (long - short) / (wall(long) - wall(short)), so
    start-up (imports, data, process group) cancels."""
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ranks in (1, 2):
            walls = {}
            for steps in (short, long):
                cmd = [
                    sys.executable,
                    "-m",
                    "torch.distributed.run",
                    "--nproc-per-node",
                    str(ranks),
                    "--master-addr",
                    "127.0.0.1",
                    "--master-port",
                    str(29511 + ranks),
                    "-m",
                    "motionloop",
                    "train",
                    "--data",
                    "bundled",
                    "--preset",
                    "cpu-small",
                    "--steps",
                    str(steps),
                    "--batch-size",
                    "64",
                    "--out",
                    str(Path(tmp) / f"r{ranks}_{steps}.pt"),
                ]
                env = {**os.environ, "OMP_NUM_THREADS": str(2 // ranks), "OMP_WAIT_POLICY": "PASSIVE"}
                t0 = time.perf_counter()
                res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
                if res.returncode != 0:
                    raise RuntimeError(f"torchrun x{ranks}: {res.stderr[-2000:]}")
                walls[steps] = time.perf_counter() - t0
            out[f"ranks{ranks}_steps_per_s"] = round((long - short) / (walls[long] - walls[short]), 3)
            out[f"ranks{ranks}_threads_per_rank"] = 2 // ranks
    out["ranks2_speedup"] = round(out["ranks2_steps_per_s"] / out["ranks1_steps_per_s"], 2)
    return out


def mdm_sample_clip_s(batch: int = 16) -> float:
    """Core-seconds per clip of DDIM-50 with the MDM-size denoiser (untrained weights: the cost
    is the same; batch 16, one thread)."""
    import torch

    from motionloop.data.features import FEATURE_DIM
    from motionloop.model.denoiser import Denoiser, preset

    torch.manual_seed(0)
    torch.set_num_threads(1)  # the cost of one core
    net = Denoiser(preset("mdm", FEATURE_DIM, 20)).eval()
    x = torch.randn(batch, 40, FEATURE_DIM)
    t = torch.full((batch,), 500)
    labels = torch.zeros(batch, dtype=torch.long)
    with torch.no_grad():
        net(x, t, labels)
        t0 = time.perf_counter()
        for _ in range(5):
            net(x, t, labels)
    return (time.perf_counter() - t0) / 5 * 50 / batch


def estimate(costs: dict) -> dict:
    """Wall time of paper-motion.toml (one seed) from the measured per-unit costs.

    The run: 9 chains (baseline at lambda 0; iterative and self-correcting at lambda 0.25, 0.5,
    0.75, 1), 50 generations each after a generation 0 of 5000 training steps. One generation
    of one chain: 1000 fine-tuning steps (MDM, batch 64); DDIM-50 sampling of 256 evaluation
    clips plus m = lambda * 64 training clips; physics correction of the 16 probe clips plus,
    for self-correcting chains, the m training clips. Evaluation is left out (seconds).

    CPU machine with P cores, work in core-seconds (the measured MDM step used 2 threads, so
    one step is 2 x its seconds of work): the chains run side by side with P / 9 cores each;
    a chain's training spreads over up to 2 x DDP_MAX_RANKS of them at the measured 2-rank
    efficiency, its sampling and correction over all of them (clips are independent). Wall =
    the larger of total work / P and the slowest chain, plus generation 0.
    8 GPUs: training and sampling at the assumed GPU costs, one chain per GPU (the ninth shares
    one: a range from total GPU work / 8 to two chains back to back), correction on 64 host
    cores shared by the 8 running chains.
    """
    step2, samp, corr = costs["mdm_step_s_2threads"], costs["mdm_sample_clip_s"], costs["correct_clip_s"]
    eff = min(1.0, costs.get("ddp_efficiency_2ranks", 1.0))
    lambdas = (0.25, 0.5, 0.75, 1.0)
    chains = [("baseline", 0.0)] + [("iterative", lam) for lam in lambdas] + [("sc", lam) for lam in lambdas]
    gens, steps, init_steps, eval_clips, probe, n = 50, 1000, 5000, 256, 16, 64

    def work(kind: str, lam: float) -> tuple[float, float]:
        """Core-seconds of one generation: (training, sampling + correction)."""
        m = round(lam * n)
        return steps * step2 * 2, (eval_clips + m) * samp + (probe + (m if kind == "sc" else 0)) * corr

    out: dict = {}
    for cores in (8, 64, 512):
        share = cores / len(chains)
        train_cores = max(1.0, min(share, 2.0 * DDP_MAX_RANKS))
        train_speed = train_cores * (1.0 if train_cores <= 2 else eff)  # core-equivalents
        total = init_steps * step2 * 2 + gens * sum(sum(work(k, lam)) for k, lam in chains)
        slowest = max(gens * (work(k, lam)[0] / train_speed + work(k, lam)[1] / max(share, 1.0)) for k, lam in chains)
        gen0 = init_steps * step2 * 2 / (min(cores, 2 * DDP_MAX_RANKS) * (1.0 if cores <= 2 else eff))
        out[f"cpu_{cores}_cores_hours"] = round((max(total / cores, slowest) + gen0) / 3600, 1)

    def gpu_chain(kind: str, lam: float) -> float:
        m = round(lam * n)
        host = (probe + (m if kind == "sc" else 0)) * corr / 8  # 64 host cores over 8 chains
        return gens * (steps * GPU_STEP_S + (eval_clips + m) * GPU_SAMPLE_CLIP_S + host)

    times = sorted(gpu_chain(k, lam) for k, lam in chains)
    gen0 = init_steps * GPU_STEP_S
    out["gpu_8_hours_range"] = [
        round((sum(times) / 8 + gen0) / 3600, 1),
        round((times[-1] + times[-2] + gen0) / 3600, 1),
    ]
    out["assumptions"] = {
        "gpu_step_s": GPU_STEP_S,
        "gpu_sample_clip_s": GPU_SAMPLE_CLIP_S,
        "ddp_max_ranks": DDP_MAX_RANKS,
        "note": "CPU figures scale this machine's measured per-core costs; GPU figures rest on the assumed "
        "GPU step and sampling costs above (no GPU here)",
    }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=8, help="generated clips corrected per executor")
    p.add_argument("--skip-ddp", action="store_true", help="leave out the torchrun measurement")
    p.add_argument("--inner", choices=("correct", "loop"), help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner == "correct":
        return inner_correct(args.clips, args.out)
    if args.inner == "loop":
        return inner_loop(args.out)

    from motionloop.bench import write_result

    figures: dict = {}
    c = _isolated("correct", ["--clips", str(args.clips)], timeout=3600)
    c["serial_clips_per_s"] = round(c["clips"] / c["serial_s"], 3)
    for cpus in (1, 2):
        c[f"ray{cpus}_clips_per_s"] = round(c["clips"] / c[f"ray{cpus}_s"], 3)
    c["ray2_speedup_over_serial"] = round(c["serial_s"] / c["ray2_s"], 2)
    figures["correction"] = c
    lp = _isolated("loop", [], timeout=3600)
    lp["ray_speedup"] = round(lp["local_s"] / lp["ray_s"], 2)
    figures["loop_chains"] = lp
    if not args.skip_ddp:
        d = ddp_speed()
        figures["ddp"] = d
    diff = json.loads((ROOT / "benchmarks" / "results" / "bench_diffusion.json").read_text())
    mdm64 = next(r for r in diff["figures"]["training"] if r["preset"] == "mdm" and r["batch"] == 64)
    costs = {
        "mdm_step_s_2threads": mdm64["median_step_s"],
        "mdm_sample_clip_s": round(mdm_sample_clip_s(), 4),
        "correct_clip_s": round(c["serial_s"] / c["clips"], 3),
    }
    if "ddp" in figures:
        d = figures["ddp"]
        # per-core efficiency of 2 ranks against one 2-thread process: same cores, so speed-up / 1
        costs["ddp_efficiency_2ranks"] = round(min(1.0, d["ranks2_speedup"]), 3)
    figures["paper_costs"] = costs
    figures["paper_estimate"] = estimate(costs)
    write_result(
        RESULT,
        "bench_scale",
        {"clips": args.clips, "ray": "local instance / 2-node cluster in a loopback-only namespace"},
        figures,
    )


if __name__ == "__main__":
    main()
