"""The Ray side of tests/loop/test_loop_ray.py: run inside a loopback-only network namespace
(tests/raynet.run_isolated), never by pytest directly.

    python ray_scenario.py MODE CONFIG_TOML OUT

MODE:
- `cluster`: a head and one worker node (1 CPU each, tests/raynet.LocalCluster); the loop
  runs with executor "ray" on that cluster into OUT/run.
- `kill-worker`: as `cluster`, and the worker node (with every process it started) is
  SIGKILLed once two chains advance at once, one of them there; if the run fails anyway it
  is resumed on the head alone.
- `kill-driver`: the loop runs as a `motionloop loop --executor ray --address` process, is
  SIGKILLed while a chain is part way through, and `--resume` (same cluster) finishes it.
- `kill-driver-local`: as `kill-driver` with a local Ray instance, which dies with the driver
  while the workers it started live on: they must stop writing at once.
- `local`: executor "ray" with a local Ray instance (no cluster, all CPUs).
- `error`: as `local`, with a file where the first arm's chains write: the run must fail
  with that chain's one-line error.

Every mode watches the sockets (`foreign_sockets`) while it runs. The last line printed is a
JSON object: what the test checks besides OUT/run/metrics.jsonl.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: raynet

from raynet import RAY_ENV, LocalCluster, foreign_sockets

from motionloop.errors import MotionloopError
from motionloop.io import read_jsonl
from motionloop.loop import load_config, run_loop


class Lines(logging.Handler):
    """The engine's log lines (progress=False logs one per record and per finished chain)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def records(run: Path) -> int:
    path = run / "metrics.jsonl"
    return len(read_jsonl(path)) if path.exists() else 0


_seen: dict[tuple, tuple[int, float]] = {}


def busy_chains(run: Path, generations: int, within: float = 0.5) -> list[tuple]:
    """Chains past their first generations that got a record in the last `within` seconds."""
    path = run / "metrics.jsonl"
    counts: dict[tuple, int] = {}
    for r in read_jsonl(path) if path.exists() else []:
        key = (r["arm"], r["lambda"], r["seed"])
        counts[key] = counts.get(key, 0) + 1
    now = time.monotonic()
    for key, n in counts.items():
        if _seen.get(key, (None,))[0] != n:
            _seen[key] = (n, now)
    return [k for k, (n, t) in _seen.items() if 5 <= n <= generations - 20 and now - t < within]


def kill_node(cluster: LocalCluster, i: int) -> int:
    """SIGKILL worker node `i` with every process it started, as a machine going down.

    LocalCluster.kill_worker kills the node's process group, but Ray 2.60 starts each worker
    process in a process group of its own (the raylet log: "Per-worker process group cleanup is
    ENABLED"): a task running there would live on and finish. Its descendants go too."""
    import psutil

    try:
        procs = psutil.Process(cluster.workers[i].pid).children(recursive=True)
    except psutil.NoSuchProcess:
        procs = []
    cluster.kill_worker(i)
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    return len(procs)


def watch_sockets(stop: threading.Event, seen: list[str]) -> None:
    while not stop.is_set():
        seen.extend(foreign_sockets())
        stop.wait(0.5)


def chains(lines: list[str]) -> list[dict]:
    """The finished-chain lines: the first generation the task ran, its node, and the generation a
    task Ray retried continued from (-1: not retried)."""
    out = []
    for line in lines:
        m = re.match(
            r"chain (\S+) lambda=(\S+) seed=(\d+): complete .*\((?:ran generations (\d+)|nothing).* on node (\w+)"
            r"(?:, continued .* (\d+)\))?",
            line,
        )
        if m:
            first = int(m[4]) if m[4] is not None else None
            out.append({"arm": m[1], "seed": int(m[3]), "first": first, "node": m[5], "retried_from": int(m[6] or -1)})
    return out


def main() -> None:
    mode, config_path, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    # no token authentication: a token file another Ray run left in ~/.ray would otherwise
    # be used by the head node but not by the clients joining it
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    config = load_config(config_path)
    run = out / "run"
    handler = Lines()
    logging.getLogger("motionloop").addHandler(handler)
    logging.getLogger("motionloop").setLevel(logging.INFO)
    result: dict = {"expected": len(config.seeds) * len(config.units()) * (config.generations + 1)}
    stop, seen = threading.Event(), []
    sockets = threading.Thread(target=watch_sockets, args=(stop, seen), daemon=True)
    sockets.start()
    t0 = time.perf_counter()
    if mode == "local":
        run_loop(config, run, progress=False, executor="ray")
        result["chains"] = chains(handler.lines)
    elif mode == "kill-driver-local":
        kill_driver_then_resume(config_path, run, config.generations, result, [])
    elif mode == "error":  # a file where a chain's directory goes: that chain cannot write
        arm = config.arms[0]
        run.mkdir(parents=True)
        (run / f"{arm.name}_lam{config.lambdas_of(arm)[0]:g}").write_text("in the way")
        try:
            run_loop(config, run, progress=False, executor="ray")
        except MotionloopError as e:
            result["error"] = f"{type(e).__name__}: {e}"
    else:
        # Ray's socket paths must stay under 107 bytes: the cluster lives in a short /tmp directory
        temp = Path(tempfile.mkdtemp(prefix="mlray-", dir="/tmp"))
        try:
            with LocalCluster(temp, head_cpus=1, worker_cpus=1) as cluster:
                scenario(mode, config_path, config, run, cluster, result, handler)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    stop.set()
    sockets.join()
    result["foreign_sockets"] = sorted(set(seen))
    result["seconds"] = time.perf_counter() - t0
    print(json.dumps(result))


def kill_driver_then_resume(config_path: str, run: Path, generations: int, result: dict, extra: list[str]) -> None:
    """`motionloop loop --executor ray` SIGKILLed while a chain is part way through, then `--resume`.

    The kill waits for a chain that is advancing and has neither just begun nor nearly ended
    (not for a share of the records: on a node slow to take its task, the first chain can
    complete alone before any other begins, and the resumed run then has no chain to continue)."""
    cmd = [sys.executable, "-m", "motionloop", "loop", "--config", config_path, "--out", str(run), "--quiet"]
    cmd += ["--executor", "ray", *extra]
    env = {**os.environ, **RAY_ENV}
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    while driver.poll() is None and not busy_chains(run, generations):
        time.sleep(0.05)
    result["killed_at"] = records(run)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    result["at_kill"] = records(run)
    time.sleep(3.0)  # what the killed driver's tasks still write (they should stop at once)
    result["after_kill"] = records(run)
    res = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, env=env)
    result["resume_rc"], result["resume_err"] = res.returncode, res.stderr[-2000:]
    result["chains"] = chains(re.sub(r"^INFO \S+: ", "", ln) for ln in res.stderr.splitlines())


def scenario(mode: str, config_path: str, config, run: Path, cluster: LocalCluster, result: dict, handler) -> None:
    t0 = time.perf_counter()
    cluster.start(workers=1)
    result["cluster_up_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    if mode == "kill-driver":
        kill_driver_then_resume(config_path, run, config.generations, result, ["--address", cluster.address])
    else:
        killer = None
        if mode == "kill-worker":

            def kill_when_running() -> None:
                # two chains advancing at once (one CPU per node): one of them is on the worker
                while len(busy_chains(run, config.generations)) < 2:
                    time.sleep(0.05)
                result["killed_at"] = records(run)
                result["killed_processes"] = kill_node(cluster, 0)

            killer = threading.Thread(target=kill_when_running, daemon=True)
            killer.start()
        try:
            run_loop(config, run, progress=False, executor="ray", address=cluster.address)
            result["completed_without_resume"] = True
        except Exception as e:  # said in the result; resumed below
            result["completed_without_resume"] = False
            result["error"] = f"{type(e).__name__}: {e}"
            run_loop(config, run, resume=True, progress=False, executor="ray", address=cluster.address)
        if killer is not None:
            killer.join(5)
        result["chains"] = chains(handler.lines)
    result["run_s"] = time.perf_counter() - t1


if __name__ == "__main__":
    main()
