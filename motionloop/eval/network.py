"""The evaluator network: a temporal convolutional action recogniser with an embedding layer.

Input: a window of normalised features `(B, L, D)` (layout of data/features.py). A stack of
1-D convolutions over time (two of them halve the frame rate) is pooled over time (mean and
max) into a `embed_dim` embedding, the representation FID is computed on (together with the
kinematic statistics, see kinematics.py). Two heads train it: action logits (cross-entropy,
as the action-to-motion evaluators) and a coarse reconstruction of the window (the window
averaged over `RECON_POOL` frames), an autoencoder term that makes the embedding keep what
distinguishes clips of one action, not only the action.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from motionloop import config as cfgmod
from motionloop.errors import ConfigError

RECON_POOL = 4  # frames averaged per reconstructed step


@dataclass(frozen=True)
class EvaluatorConfig:
    """Architecture and training of the evaluator.

    Attributes:
        window: frames per window (at `fps`); clips shorter than this cannot be evaluated.
        fps: frame rate the evaluator works at; clips are resampled to it.
        width: channels of the convolutions.
        embed_dim: width of the learned embedding.
        steps: optimiser steps; batch: windows per step; lr: AdamW learning rate;
        weight_decay: AdamW weight decay.
        recon_weight: weight of the reconstruction loss against the classification loss.
        holdout: share of each clip's frames (its end) held out to measure accuracy.
        dropout: dropout before the heads, during training only.
    """

    window: int = 24
    fps: float = 20.0
    width: int = 128
    embed_dim: int = 64
    steps: int = 3000
    batch: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    recon_weight: float = 1.0
    holdout: float = 0.2
    dropout: float = 0.1

    def __post_init__(self) -> None:
        checks = {
            "window": self.window >= RECON_POOL * 2,
            "fps": self.fps > 0,
            "width": self.width >= 1,
            "embed_dim": self.embed_dim >= 1,
            "steps": self.steps >= 1,
            "batch": self.batch >= 1,
            "lr": self.lr > 0,
            "weight_decay": self.weight_decay >= 0,
            "recon_weight": self.recon_weight >= 0,
            "holdout": 0 <= self.holdout < 1,
            "dropout": 0 <= self.dropout < 1,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            limits = {"window": f">= {RECON_POOL * 2}", "holdout": "in [0, 1)", "dropout": "in [0, 1)"}
            raise ConfigError(
                "EvaluatorConfig: invalid "
                + ", ".join(f"{k}={getattr(self, k)!r} (must be {limits.get(k, '> 0')})" for k in bad)
            )

    def to_dict(self) -> dict:
        return cfgmod.to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> EvaluatorConfig:
        """Inverse of `to_dict`; ConfigError names unknown keys or bad values."""
        return cfgmod.from_dict(cls, d, "EvaluatorConfig")


class EvaluatorNet(nn.Module):
    """Windows `(B, L, D)` -> embedding `(B, E)`, logits `(B, C)`, reconstruction `(B, L // 4, D)`."""

    def __init__(self, in_dim: int, num_labels: int, config: EvaluatorConfig):
        super().__init__()
        w = config.width
        self.in_dim, self.window = in_dim, config.window
        self.encoder = nn.Sequential(
            nn.Conv1d(in_dim, w, 5, padding=2),
            nn.GELU(),
            nn.Conv1d(w, w, 5, stride=2, padding=2),
            nn.GELU(),
            nn.Conv1d(w, w, 5, stride=2, padding=2),
            nn.GELU(),
            nn.Conv1d(w, w, 3, padding=1),
            nn.GELU(),
        )
        self.embed = nn.Linear(2 * w, config.embed_dim)
        self.head_in = nn.Sequential(nn.GELU(), nn.Dropout(config.dropout))
        self.classify = nn.Linear(config.embed_dim, num_labels)
        self.recon_len = config.window // RECON_POOL
        self.reconstruct = nn.Linear(config.embed_dim, self.recon_len * in_dim)

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding `(B, E)` of windows `x (B, L, D)`."""
        h = self.encoder(x.transpose(1, 2))  # (B, W, L / 4)
        pooled = torch.cat([h.mean(-1), h.amax(-1)], dim=-1)  # (B, 2W)
        return self.embed(pooled)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        e = self.embedding(x)  # (B, E)
        h = self.head_in(e)
        recon = self.reconstruct(h).view(len(x), self.recon_len, self.in_dim)  # (B, L // 4, D)
        return e, self.classify(h), recon


def recon_target(x: torch.Tensor) -> torch.Tensor:
    """The coarse window the reconstruction head predicts: `(B, L, D)` -> `(B, L // 4, D)`."""
    B, L, D = x.shape
    n = L // RECON_POOL
    return x[:, : n * RECON_POOL].reshape(B, n, RECON_POOL, D).mean(2)
