"""Ray scenarios of the correction executor, run by tests/physics/test_ray_executor.py inside a
loopback-only network namespace (tests/raynet.run_isolated): never start Ray outside one.

    python ray_correct_scenario.py MODE CLIPS OUT [--port P]

CLIPS is a directory of clips (read in sorted order, named by file stem); OUT receives
`result.pkl`: a dict with `motions` and `reports` (the corrected clips and their
TrackingReports, in input order) and what the mode observed. MODE:

- `cluster`: a LocalCluster (head + 1 worker node, 1 CPU each); `correct(..., executor="ray",
  address=<head>)`; `foreign_sockets()` sampled every 0.2 s while the map runs (`sockets`).
- `kill`: the same cluster; `RayExecutor(head).map(correct_one, jobs)` without a fallback.
  After the first result, once a clip is running on the worker node, that node is SIGKILLed
  (`killed`); every job logs its start and end with its node (`log`: [event, clip, node, pid]),
  so a clip started on the dead node and finished on the head shows the retry.
- `poison`: a local Ray instance; the job of clip `--poison NAME` calls os._exit(1) on every
  try; `RayExecutor(max_retries=--retries, batch_size=2).map(..., fallback=lost_one)`.
- `bench`: clips/s of the serial executor and of Ray on a local instance with 1 and 2 CPUs
  (first map and a second, warm one), and Ray's per-clip overhead measured with a job that
  does nothing; writes `bench` only.
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: raynet

from raynet import LocalCluster, foreign_sockets

from motionloop import raycluster
from motionloop.motion import Motion, clip_paths
from motionloop.physics.correct import CorrectionConfig, correct, correct_one, lost_one
from motionloop.physics.executor import RayExecutor, SerialExecutor


def logged_correct(log_path: str, poison: str | None, job):
    """correct_one, logging start and end (clip, node, pid) to `log_path`; the clip named
    `poison` kills its worker process instead."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    with open(log_path, "a") as f:
        f.write(f"start {job[0]} {node} {os.getpid()}\n")
    if job[0] == poison:
        os._exit(1)
    out = correct_one(job)
    with open(log_path, "a") as f:
        f.write(f"end {job[0]} {node} {os.getpid()}\n")
    return out


def nothing(job):
    return job[0]


def read_log(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def load(clips: str) -> tuple[list[Motion], list[str]]:
    paths = sorted(clip_paths(clips))
    return [Motion.load(p) for p in paths], [p.stem for p in paths]


def _cluster_dir() -> str:
    """A short path for the cluster's logs and sockets (a Unix socket path has at most 107
    bytes, too few under pytest's tmp_path); removed again after a run that went well."""
    return tempfile.mkdtemp(prefix="ray-correct-")


def run_cluster(args, motions, names) -> dict:
    tmp = _cluster_dir()
    with LocalCluster(tmp, port=args.port) as cluster:
        cluster.start(workers=1)
        seen: list[str] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                seen.extend(foreign_sockets())
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        out, reports = correct(motions, CorrectionConfig(executor="ray", address=cluster.address), names)
        elapsed = time.perf_counter() - t0
        stop.set()
        sampler.join()
        seen.extend(foreign_sockets())
        nodes = len([n for n in raycluster.connect(cluster.address).nodes() if n["Alive"]])
        raycluster.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    return dict(motions=out, reports=reports, sockets=seen, elapsed=elapsed, nodes=nodes)


def run_kill(args, motions, names) -> dict:
    log = Path(args.out) / "jobs.log"
    tmp = _cluster_dir()
    with LocalCluster(tmp, port=args.port) as cluster:
        cluster.start(workers=1)
        ray = raycluster.connect(cluster.address)
        head = ray.get_runtime_context().get_node_id()  # a driver on the head's host joins the head
        (worker_node,) = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["NodeID"] != head]
        jobs = [(n, m, CorrectionConfig()) for n, m in zip(names, motions)]
        results, killed, t_kill = [], None, None
        t0 = time.perf_counter()
        for res in RayExecutor(cluster.address).map(functools.partial(logged_correct, str(log), None), jobs):
            results.append(res)
            if killed is None:
                deadline = time.monotonic() + 20.0
                while time.monotonic() < deadline:  # until a clip is running on the worker node
                    events = read_log(log)
                    ended = {(e[1], e[3]) for e in events if e[0] == "end"}
                    running = [
                        e[1] for e in events if e[0] == "start" and e[2] == worker_node and (e[1], e[3]) not in ended
                    ]
                    if running:
                        cluster.kill_worker(0)
                        killed, t_kill = running, time.perf_counter() - t0
                        break
                    time.sleep(0.01)
                else:
                    killed = []
        elapsed = time.perf_counter() - t0
        raycluster.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    return dict(
        motions=[m for m, _ in results],
        reports=[r for _, r in results],
        killed=killed,
        t_kill=t_kill,
        worker_node=worker_node,
        log=read_log(log),
        elapsed=elapsed,
    )


def run_poison(args, motions, names) -> dict:
    log = Path(args.out) / "jobs.log"
    raycluster.connect(None)
    jobs = [(n, m, CorrectionConfig()) for n, m in zip(names, motions)]
    executor = RayExecutor(None, batch_size=2, max_retries=args.retries)
    t0 = time.perf_counter()
    results = list(executor.map(functools.partial(logged_correct, str(log), args.poison), jobs, fallback=lost_one))
    elapsed = time.perf_counter() - t0
    raycluster.shutdown()
    return dict(motions=[m for m, _ in results], reports=[r for _, r in results], log=read_log(log), elapsed=elapsed)


def run_bench(args, motions, names) -> dict:
    jobs = [(n, m, CorrectionConfig()) for n, m in zip(names, motions)]
    frames = sum(m.num_frames for m in motions)
    bench: dict = dict(clips=len(jobs), frames=frames)
    t0 = time.perf_counter()
    serial = list(SerialExecutor().map(correct_one, jobs))
    bench["serial_s"] = time.perf_counter() - t0
    for cpus in (1, 2):
        t0 = time.perf_counter()
        raycluster.connect(None, num_cpus=cpus)
        bench[f"ray{cpus}_connect_s"] = time.perf_counter() - t0
        ex = RayExecutor(None)
        for run in ("cold", "warm"):
            t0 = time.perf_counter()
            out = list(ex.map(correct_one, jobs))
            bench[f"ray{cpus}_{run}_s"] = time.perf_counter() - t0
            assert all(
                (a[0].poses == b[0].poses).all() and (a[0].trans == b[0].trans).all() for a, b in zip(out, serial)
            )
        # the machinery alone: one clip per task (the same clips travel), a job that does nothing
        ex1 = RayExecutor(None, batch_size=1)
        list(ex1.map(nothing, jobs))
        t0 = time.perf_counter()
        list(ex1.map(nothing, jobs * 4))
        bench[f"ray{cpus}_nothing_per_clip_ms"] = (time.perf_counter() - t0) / (4 * len(jobs)) * 1e3
        raycluster.shutdown()
    t0 = time.perf_counter()
    list(SerialExecutor().map(correct_one, jobs))
    bench["serial_again_s"] = time.perf_counter() - t0  # the machine's load may have changed meanwhile
    return dict(bench=bench)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("cluster", "kill", "poison", "bench"))
    p.add_argument("clips")
    p.add_argument("out")
    p.add_argument("--port", type=int, default=6390)
    p.add_argument("--poison")
    p.add_argument("--retries", type=int, default=2)
    args = p.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    motions, names = load(args.clips)
    run = {"cluster": run_cluster, "kill": run_kill, "poison": run_poison, "bench": run_bench}[args.mode]
    result = run(args, motions, names)
    with open(Path(args.out) / "result.pkl", "wb") as f:
        pickle.dump(result, f)
    print(f"{args.mode}: done in {result.get('elapsed', 0):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
