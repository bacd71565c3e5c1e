"""The trained evaluator: network, normaliser and embedding statistics in one self-describing file.

The embedding FID is computed on is the concatenation of
- the network's learned embedding (`embed_dim`), and
- the kinematic statistics (`kinematics.KIN_NAMES`),
each dimension standardised by its mean and standard deviation over the real windows the
evaluator was trained on, so every dimension weighs the same and one unit is one real-data
standard deviation.

The file (torch.save of plain tensors, lists and strings; loaded with `weights_only=True`)
holds: format tag and version, config, feature layout and width, kinematic statistic names,
labels, the feature normaliser, the network weights, the embedding statistics and a `train`
record (seed, data, accuracy, seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from motionloop.data.features import FEATURE_DIM, LAYOUT
from motionloop.data.normalize import Normalizer
from motionloop.errors import CheckpointError, ConfigError, MotionloopError
from motionloop.eval.kinematics import KIN_NAMES
from motionloop.eval.network import EvaluatorConfig, EvaluatorNet
from motionloop.io import atomic_path, payload_digest, torch_load_plain
from motionloop.resources import EVALUATOR

FORMAT = "motionloop-evaluator"
VERSION = 1
STD_FLOOR = 1e-2  # learned-embedding units that barely vary on real data weigh at most 1 / STD_FLOOR
BUNDLED_WEIGHTS = EVALUATOR


@torch.no_grad()
def run_net(
    net: EvaluatorNet, normalizer: Normalizer, feats: np.ndarray, batch: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """Learned embedding `(W, E)` and logits `(W, C)`, float64, of raw feature windows `(W, L, D)`."""
    x = torch.as_tensor(normalizer.normalize(np.asarray(feats, np.float32)))
    emb, logits = [np.zeros((0, net.embed.out_features))], [np.zeros((0, net.classify.out_features))]
    for i in range(0, len(x), batch):
        e, lg, _ = net(x[i : i + batch])
        emb.append(e.double().numpy())
        logits.append(lg.double().numpy())
    return np.concatenate(emb), np.concatenate(logits)


@dataclass(frozen=True, eq=False)
class Evaluator:
    """A trained evaluator. Build with `train_evaluator` or `Evaluator.load`.

    Attributes:
        config: architecture, window length and fps.
        labels: action classes, in the order of the logits.
        normalizer: feature statistics (layout `features.LAYOUT`).
        net: the network, in eval mode.
        embed_mean, embed_std: `(embed_dim,)` statistics of the learned embedding on real windows.
        kin_mean, kin_std: `(K,)` statistics of the kinematic statistics on real windows.
        train: how it was trained (seed, clips, windows, held-out accuracy, seconds).
    """

    config: EvaluatorConfig
    labels: tuple[str, ...]
    normalizer: Normalizer
    net: EvaluatorNet
    embed_mean: np.ndarray
    embed_std: np.ndarray
    kin_mean: np.ndarray
    kin_std: np.ndarray
    train: dict = field(default_factory=dict)

    @property
    def window(self) -> int:
        return self.config.window

    @property
    def dim(self) -> int:
        """Width of the full embedding: learned + kinematic."""
        return self.config.embed_dim + len(KIN_NAMES)

    def learned(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw learned embedding `(W, E)` and logits `(W, C)` of raw feature windows `(W, L, D)`."""
        return run_net(self.net, self.normalizer, feats)

    def embed(self, feats: np.ndarray, kin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full standardised embedding `(W, dim)` and logits `(W, C)`.

        Args:
            feats: `(W, window, D)` raw feature windows (windows.window_inputs).
            kin: `(W, K)` kinematic statistics of the same windows.
        """
        emb, logits = self.learned(feats)
        z = np.concatenate([(emb - self.embed_mean) / self.embed_std, (kin - self.kin_mean) / self.kin_std], axis=1)
        return z, logits

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the evaluator to `path` atomically. Returns the path."""
        path = Path(path)
        blob = {
            "format": FORMAT,
            "version": VERSION,
            "config": self.config.to_dict(),
            "layout": LAYOUT,
            "feature_dim": FEATURE_DIM,
            "kin_names": list(KIN_NAMES),
            "labels": list(self.labels),
            "normalizer": self.normalizer.to_dict(),
            "state_dict": self.net.state_dict(),
            "embed_mean": self.embed_mean.tolist(),
            "embed_std": self.embed_std.tolist(),
            "kin_mean": self.kin_mean.tolist(),
            "kin_std": self.kin_std.tolist(),
            "train": dict(self.train),
        }
        blob["sha256"] = payload_digest(blob)
        with atomic_path(path) as tmp:
            torch.save(blob, tmp)
        return path

    @staticmethod
    def load(path: str | Path | None = None) -> Evaluator:
        """Read an evaluator file; None = the weights shipped for the bundled dataset."""
        path = BUNDLED_WEIGHTS if path is None else Path(path)
        if not path.is_file():
            hint = " (train it with scripts/train_evaluator.py)" if path == BUNDLED_WEIGHTS else ""
            raise CheckpointError(f"{path}: no such evaluator file{hint}")
        blob = torch_load_plain(path, CheckpointError, "readable evaluator file")
        if not isinstance(blob, dict) or blob.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not a motionloop evaluator (format tag {FORMAT!r} missing)")
        if blob.get("version") != VERSION:
            raise CheckpointError(f"{path}: evaluator file version {blob.get('version')!r}, this code reads {VERSION}")
        if blob.get("layout") != LAYOUT or blob.get("feature_dim") != FEATURE_DIM:
            raise CheckpointError(
                f"{path}: evaluator was trained on feature layout {blob.get('layout')!r} ({blob.get('feature_dim')} dims), "
                f"this code computes {LAYOUT!r} ({FEATURE_DIM} dims); retrain it (motionloop train-evaluator)"
            )
        stored = blob.pop("sha256", None)  # absent in files written before it was added
        if stored is not None and payload_digest(blob) != stored:
            raise CheckpointError(f"{path}: contents do not match their SHA-256 checksum (the file is damaged)")
        if blob.get("kin_names") != list(KIN_NAMES):
            raise CheckpointError(f"{path}: evaluator's kinematic statistics differ from this code's; retrain it")
        try:
            config = EvaluatorConfig.from_dict(blob["config"])
            labels = tuple(str(x) for x in blob["labels"])
            net = EvaluatorNet(FEATURE_DIM, len(labels), config)
            net.load_state_dict(blob["state_dict"])
            net.eval()
            arrays = {
                k: np.asarray(blob[k], dtype=np.float64) for k in ("embed_mean", "embed_std", "kin_mean", "kin_std")
            }
            normalizer = Normalizer.from_dict(blob["normalizer"])
        except CheckpointError as e:
            raise CheckpointError(f"{path}: {e}") from None
        except (KeyError, TypeError, ValueError, RuntimeError, ConfigError) as e:
            raise CheckpointError(f"{path}: corrupt evaluator file ({type(e).__name__}: {e})") from None
        widths = {
            "embed_mean": config.embed_dim,
            "embed_std": config.embed_dim,
            "kin_mean": len(KIN_NAMES),
            "kin_std": len(KIN_NAMES),
        }
        for k, n in widths.items():
            a = arrays[k]
            if a.shape != (n,) or not np.all(np.isfinite(a)) or (k.endswith("std") and not np.all(a > 0)):
                raise CheckpointError(
                    f"{path}: corrupt evaluator file ({k} has shape {a.shape}, expected ({n},), finite)"
                )
        return Evaluator(
            config=config, labels=labels, normalizer=normalizer, net=net, train=dict(blob.get("train", {})), **arrays
        )


def resolve(evaluator: Evaluator | str | Path | None) -> Evaluator:
    """An Evaluator from an instance, a file path, or None (the shipped bundled-data weights)."""
    if isinstance(evaluator, Evaluator):
        return evaluator
    if evaluator is None or isinstance(evaluator, (str, Path)):
        return Evaluator.load(evaluator)
    raise MotionloopError(f"evaluator: expected an Evaluator, a file path or None, got {type(evaluator).__name__}")
