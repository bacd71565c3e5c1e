"""Ray on this machine only: a loopback-only network namespace and a local multi-node cluster.

Ray 2.60 contacts cloud metadata addresses from its usage and dashboard code even with usage
statistics off, so every test and benchmark that starts Ray runs its Ray part in a child process
inside a fresh network namespace whose only interface is `lo` (`unshare -n`, as root):
nothing there can reach another machine. The pytest process itself stays outside (a
multi-threaded process cannot change its network namespace).

- `run_isolated(argv, ...)`: run `argv` (e.g. `[sys.executable, script, ...]`) in such a
  namespace (and its own PID namespace: whatever it leaves running dies with it); returns
  the CompletedProcess.
- `LocalCluster` (used inside the namespace): a Ray head node and worker nodes as separate
  `ray start --block` processes on 127.0.0.1, each in its own process group so one node can be
  killed (SIGKILL) mid-run as a machine failure would.
- `foreign_sockets()`: sockets (`ss -tunap`) whose local or peer address is not loopback:
  must be empty while the cluster runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# RAY_AUTH_MODE: a local `ray.init()` of Ray 2.60 leaves a token in ~/.ray/auth_token and turns token
# authentication on for every later head node on the machine, which the test drivers do not send
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}


def can_isolate() -> bool:
    """Whether this machine can make a network namespace (root, `unshare` and `ip` present)."""
    try:
        res = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


def require_isolation() -> None:
    """Skip a Ray test where this machine cannot isolate it (no root, no `unshare`, or no Ray),
    except under CI (`CI` set, as .ci/run does), where that is a failure: CI must run them."""
    import importlib.util

    import pytest

    missing = None
    if importlib.util.find_spec("ray") is None:
        missing = "Ray is not installed (pip install -e '.[dev]')"
    elif not can_isolate():
        missing = "no network namespace here (needs root, unshare and ip) to run Ray isolated"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Ray tests: {missing}")
        pytest.skip(missing)


def run_isolated(argv: list[str], timeout: float, env: dict | None = None, cwd: str | Path | None = None):
    """Run `argv` in a new network namespace with only `lo` up; capture its output."""
    full_env = {**os.environ, **RAY_ENV, **(env or {})}
    script = 'ip link set lo up && exec "$@"'
    # -p -f --mount-proc: its own PID namespace too, so every process it leaves (Ray's daemons
    # and workers) dies with it, and nothing it does reaches another test's processes
    return subprocess.run(
        ["unshare", "-n", "-p", "-f", "--mount-proc", "sh", "-c", script, "sh", *map(str, argv)],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _ray_cli() -> list[str]:
    return [sys.executable, "-c", "import sys; from ray.scripts.scripts import main; sys.exit(main())"]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


class LocalCluster:
    """A head node and `workers` worker nodes on 127.0.0.1 (call inside the namespace)."""

    def __init__(self, temp_dir: str | Path, port: int = 6390, head_cpus: int = 1, worker_cpus: int = 1):
        self.temp_dir = Path(temp_dir)
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        self.port, self.head_cpus, self.worker_cpus = port, head_cpus, worker_cpus
        self.address = f"127.0.0.1:{port}"
        self.head: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def _start(self, args: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.temp_dir / log_name, "w")
        return subprocess.Popen(
            [*_ray_cli(), "start", "--block", "--node-ip-address=127.0.0.1", "--disable-usage-stats", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **RAY_ENV},
            start_new_session=True,  # its own process group: kill_worker takes its raylet with it
        )

    def start(self, workers: int = 1, timeout: float = 120.0) -> LocalCluster:
        self.head = self._start(
            [
                "--head",
                f"--port={self.port}",
                "--include-dashboard=false",
                f"--num-cpus={self.head_cpus}",
                f"--temp-dir={self.temp_dir / 'ray'}",
            ],
            "head.log",
        )
        self._wait_nodes(1, timeout)
        for i in range(workers):
            self.add_worker(timeout, i)
        return self

    def add_worker(self, timeout: float = 120.0, index: int | None = None) -> subprocess.Popen:
        i = len(self.workers) if index is None else index
        proc = self._start([f"--address={self.address}", f"--num-cpus={self.worker_cpus}"], f"worker{i}.log")
        self.workers.append(proc)
        self._wait_nodes(1 + len([w for w in self.workers if w.poll() is None]), timeout)
        return proc

    def _wait_nodes(self, count: int, timeout: float) -> None:
        """Until `ray status`-like: the GCS lists `count` alive nodes."""
        deadline = time.monotonic() + timeout
        probe = (
            "import ray, sys\n"
            f"ray.init(address='{self.address}', _node_ip_address='127.0.0.1', log_to_driver=False,"
            " configure_logging=False)\n"
            "print(sum(n['Alive'] for n in ray.nodes()))\n"
        )
        while time.monotonic() < deadline:
            try:
                res = subprocess.run(
                    [sys.executable, "-c", probe],
                    capture_output=True,
                    text=True,
                    env={**os.environ, **RAY_ENV},
                    timeout=max(1.0, min(30.0, deadline - time.monotonic())),
                )
            except subprocess.TimeoutExpired:
                continue
            if res.returncode == 0 and res.stdout.strip().splitlines()[-1:] == [str(count)]:
                return
            time.sleep(1.0)
        raise TimeoutError(f"ray cluster at {self.address}: {count} nodes not up within {timeout:g} s")

    def kill_worker(self, i: int = 0) -> None:
        """SIGKILL worker node `i` and its process group (a machine going down; Ray 2.60 puts
        its task processes in groups of their own, so a running task may still finish)."""
        _kill_group(self.workers[i])

    def stop(self) -> None:
        for proc in [*self.workers, self.head]:
            if proc is not None and proc.poll() is None:
                _kill_group(proc)
        # no `ray stop --force`: it kills every Ray process on the machine; what the nodes
        # started dies with the namespace run_isolated made

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def foreign_sockets() -> list[str]:
    """Lines of `ss -tunap` whose local or peer address is neither 127.0.0.1, ::1 nor a wildcard."""
    out = subprocess.run(["ss", "-tunaH"], capture_output=True, text=True).stdout.splitlines()
    bad = []
    for line in out:
        cols = line.split()
        if len(cols) < 6:
            continue
        for addr in cols[4:6]:
            host = addr.rsplit(":", 1)[0].strip("[]")
            if host not in ("127.0.0.1", "::1", "*", "0.0.0.0", "::", "::ffff:127.0.0.1") and not host.startswith(
                "127."
            ):
                bad.append(line)
                break
    return bad
