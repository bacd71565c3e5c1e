"""Connecting to Ray (the `ray` extra): an existing cluster by address, or a local instance.

`connect(address)` is the one place motionloop starts or joins Ray. Without an address it
starts a Ray instance on this machine bound to 127.0.0.1 with no dashboard and no usage
statistics; with one (`HOST:PORT` of a head node started by `ray start --head`) it joins that
cluster. Ray itself is imported only here and by the executors that use it, so the default
install does not need it.

Ray 2.60 also looks up cloud metadata (169.254.169.254, metadata.google.internal) from its
usage and dashboard code even with usage statistics off; the tests and benchmarks that start
Ray therefore run inside a network namespace with only the loopback interface up
(tests/raynet.py), so nothing can leave the machine.
"""

from __future__ import annotations

import logging
import os

from motionloop.errors import ConfigError, MotionloopError

log = logging.getLogger(__name__)

LOCAL_IP = "127.0.0.1"


def import_ray():
    """The `ray` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise MotionloopError("Ray is not installed: pip install 'motionloop[ray]' (or pip install ray)") from None
    return ray


def check_address(address: str | None) -> str | None:
    """`HOST:PORT`, "auto" (the cluster `ray start` left on this machine) or None (local)."""
    if address is None or address == "auto":
        return address
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--address {address!r}: expected HOST:PORT of a Ray head node, e.g. 127.0.0.1:6379")
    return address


def connect(address: str | None = None, num_cpus: int | None = None):
    """Join the Ray cluster at `address`, or start a local instance (`num_cpus` CPUs, default
    all) bound to 127.0.0.1. Returns the `ray` module; a second call reuses the connection."""
    ray = import_ray()
    address = check_address(address)
    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        if address is None:
            ray.init(num_cpus=num_cpus, _node_ip_address=LOCAL_IP, **kwargs)
        else:
            kwargs.pop("include_dashboard")
            ray.init(address=address, _node_ip_address=_own_ip(address), **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise MotionloopError(f"cannot start or join {where}: {str(e).strip().splitlines()[0][:300]}") from None
    log.info("ray: %s, %g CPUs", address or "local instance", ray.cluster_resources().get("CPU", 0))
    return ray


def _own_ip(address: str) -> str | None:
    """This node's IP for a driver joining `address`: loopback for a head on this machine (so
    Ray does not probe the internet for its own address), else Ray's own choice."""
    host = address.rpartition(":")[0] if address != "auto" else LOCAL_IP
    return LOCAL_IP if host in (LOCAL_IP, "localhost") else None


def shutdown() -> None:
    """Disconnect (and stop a local instance this process started)."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()
