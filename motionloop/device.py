"""The one place a `--device` name becomes a torch device (every command that trains or samples).

Core, so both `model/` (train, sample) and `eval/` (train-evaluator) validate devices the
same way without importing each other. `resolve_device` refuses what cannot work here with
a one-line ConfigError before any data is read or model built: an unknown name ("gpu",
"tpu"), a CUDA index this machine does not have ("cuda:9"), or CUDA on a PyTorch build or
machine without it.
"""

from __future__ import annotations

import torch

from motionloop.errors import ConfigError

VALID = "cpu, cuda, cuda:N, auto"


def default_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """A torch device from "cpu", "cuda", "cuda:N" or "auto"/None (CUDA when present, else the CPU).

    Raises:
        ConfigError (one line): any other name, "cuda" where this PyTorch has no usable GPU,
            or "cuda:N" with N at or beyond the number of visible GPUs.
    """
    if device is None or str(device).strip().lower() == "auto":
        return default_device()
    shown = str(device)
    name = shown.strip().lower()
    kind, colon, index = name.partition(":")
    if kind not in ("cpu", "cuda") or (colon and not index.isdigit()) or (kind == "cpu" and colon):
        raise ConfigError(f"device {shown!r}: valid: {VALID}")
    if kind == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, but no GPU is visible"
            raise ConfigError(
                f"device {shown!r}: CUDA is not available here (PyTorch {torch.__version__}, {build}); use --device cpu"
            )
        if index and int(index) >= torch.cuda.device_count():
            raise ConfigError(f"device {shown!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    return torch.device(name)
