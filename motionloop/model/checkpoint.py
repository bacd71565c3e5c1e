"""Self-describing checkpoints: everything needed to sample or keep training, in one file.

A checkpoint (`torch.save` of plain dicts, lists and tensors; read with `weights_only=True`)
holds the denoiser's config and weights, the training config (schedule included), the
feature layout and its `Normalizer`, the label vocabulary with its window counts, the
window length and fps, the step, the optimizer and RNG states, a fingerprint of the
training data and the loss history. `load_checkpoint` rebuilds the model from the file
alone and refuses (CheckpointError) a corrupt file or one of another feature layout.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from motionloop import config as cfgmod
from motionloop.data.features import FEATURE_DIM, LAYOUT
from motionloop.data.normalize import Normalizer
from motionloop.errors import CheckpointError, ConfigError
from motionloop.io import atomic_path, payload_digest, torch_load_plain
from motionloop.model.config import TrainConfig
from motionloop.model.denoiser import Denoiser, DenoiserConfig
from motionloop.model.diffusion import GaussianDiffusion
from motionloop.motion import Motion

FORMAT = "motionloop-diffusion"
VERSION = 1
_KEYS = ("layout", "model_config", "train_config", "normalizer", "labels", "label_counts", "fps", "step", "model")


@dataclass(eq=False)
class Checkpoint:
    """A denoiser with everything that describes it.

    Attributes:
        model: the network (its config is `model.config`).
        normalizer: feature statistics of the training data (layout `features.LAYOUT`).
        config: the training configuration (window length, schedule, learning rates, ...).
        labels: the label vocabulary; the model's label index i is `labels[i]`.
        label_counts: training windows per label (what `sample` draws labels from).
        fps: frames per second of the training windows and of sampled clips.
        step: optimisation steps taken so far.
        data_hash: `data_fingerprint` of the clips of the last training run.
        optimizer_state: AdamW's `state_dict`, or None before training.
        rng_state: generator states of the training loop, or None.
        history: `(step, mean loss)` pairs logged during training.
    """

    model: Denoiser
    normalizer: Normalizer
    config: TrainConfig
    labels: tuple[str, ...]
    label_counts: tuple[int, ...]
    fps: float
    step: int = 0
    data_hash: str = ""
    optimizer_state: dict | None = None
    rng_state: dict | None = None
    history: list[tuple[int, float]] = dataclasses.field(default_factory=list)

    @property
    def window(self) -> int:
        """Frames per training window: the longest clip the model samples."""
        return self.config.window

    @property
    def diffusion(self) -> GaussianDiffusion:
        return GaussianDiffusion(self.config.diffusion)


def data_fingerprint(clips: Sequence[Motion]) -> str:
    """SHA-256 of the clips' frames, fps and labels: tells a resume whether the data changed."""
    h = hashlib.sha256()
    for m in clips:
        h.update(m.trans.tobytes())
        h.update(m.poses.tobytes())
        h.update(f"{m.fps}|{m.label}".encode())
    return h.hexdigest()


def save_checkpoint(ckpt: Checkpoint, path: str | Path) -> Path:
    """Write `ckpt` to `path` atomically (a crash never leaves a half-written checkpoint)."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "layout": LAYOUT,
        "feature_dim": FEATURE_DIM,
        "model_config": dataclasses.asdict(ckpt.model.config),
        "train_config": ckpt.config.to_dict(),
        "normalizer": ckpt.normalizer.to_dict(),
        "labels": list(ckpt.labels),
        "label_counts": [int(c) for c in ckpt.label_counts],
        "window": ckpt.window,
        "fps": float(ckpt.fps),
        "step": int(ckpt.step),
        "data_hash": ckpt.data_hash,
        "model": {k: v.detach().cpu() for k, v in ckpt.model.state_dict().items()},
        "optimizer": ckpt.optimizer_state,
        "rng": ckpt.rng_state,
        "history": [[int(s), float(v)] for s, v in ckpt.history],
    }
    payload["sha256"] = payload_digest(payload)
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`; the model is on `device` in eval mode.

    Raises:
        CheckpointError: missing or corrupt file, not a motionloop diffusion checkpoint,
            another feature layout, or contents that do not fit together.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    d = torch_load_plain(path, CheckpointError, "torch checkpoint")
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a motionloop diffusion checkpoint (no format {FORMAT!r})")
    if d.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {d.get('version')!r}, this code reads version {VERSION}")
    missing = [k for k in _KEYS if k not in d]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    if d["layout"] != LAYOUT or d.get("feature_dim", FEATURE_DIM) != FEATURE_DIM:
        raise CheckpointError(
            f"{path}: trained on feature layout {d['layout']!r} ({d.get('feature_dim')} dims); this code uses "
            f"{LAYOUT!r} ({FEATURE_DIM} dims): retrain the model or use a matching motionloop version"
        )
    try:
        model_config = cfgmod.from_dict(DenoiserConfig, d["model_config"], "model_config")
        config = TrainConfig.from_dict(d["train_config"])
    except (TypeError, ConfigError) as e:
        raise CheckpointError(f"{path}: bad config in checkpoint ({e})") from None
    try:
        normalizer = Normalizer.from_dict(d["normalizer"])
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
    labels = tuple(str(s) for s in d["labels"])
    counts = tuple(int(c) for c in d["label_counts"])
    if len(labels) != model_config.num_labels or len(counts) != len(labels):
        raise CheckpointError(
            f"{path}: {len(labels)} labels and {len(counts)} counts for a model with {model_config.num_labels} labels"
        )
    stored = d.pop("sha256", None)  # absent in checkpoints written before it was added
    if stored is not None and payload_digest(d) != stored:
        raise CheckpointError(f"{path}: contents do not match their SHA-256 checksum (the file is damaged)")
    model = Denoiser(model_config)
    try:
        model.load_state_dict(d["model"])
    except (RuntimeError, TypeError, AttributeError) as e:
        raise CheckpointError(
            f"{path}: weights do not fit the stored model config ({str(e).splitlines()[0]})"
        ) from None
    model.to(device).eval()
    return Checkpoint(
        model=model,
        normalizer=normalizer,
        config=config,
        labels=labels,
        label_counts=counts,
        fps=float(d["fps"]),
        step=int(d["step"]),
        data_hash=str(d.get("data_hash", "")),
        optimizer_state=d.get("optimizer"),
        rng_state=d.get("rng"),
        history=[(int(s), float(v)) for s, v in d.get("history", [])],
    )
