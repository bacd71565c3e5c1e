"""The common record of every benchmark in benchmarks/: name, config, machine, figures."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

from motionloop.io import write_text


def machine() -> dict:
    """What the figures were measured on, including how busy the machine was."""
    info = {
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "loadavg_1min": os.getloadavg()[0],
    }
    for mod in ("numpy", "torch", "mujoco"):
        if mod in sys.modules:
            info[mod] = str(getattr(sys.modules[mod], "__version__", "?"))
    return info


def write_result(path: str | Path, name: str, config: dict, figures: dict) -> dict:
    """Write `{name, command, config, machine, figures}` as JSON to `path`, print it, return it."""
    record = {
        "name": name,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "config": config,
        "machine": machine(),
        "figures": figures,
    }
    write_text(path, json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record
