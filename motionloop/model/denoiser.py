"""The denoiser network: an MDM-style transformer encoder over frames that predicts x0.

Tokens: one per frame (the features projected to `width`) plus one leading condition
token = MLP(sinusoidal(t)) + label embedding, as in MDM's `trans_enc` (Tevet et al. 2023).
Every token gets a fixed sinusoidal position encoding; the encoder is pre-norm, which
trains stably at small widths without a warm-up trick. The output head is zero-initialised
so the untrained network predicts x0 = 0, the data mean in normalised units.

The network never sees the noise schedule: it takes `(x_t, t, labels)` and returns its
estimate of x0. Label `NULL_LABEL` (or `labels=None`) is the unconditional branch used by
classifier-free guidance; a model trained without labels (`num_labels = 0`) ignores labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from motionloop.errors import ConfigError, MotionValidationError, UnknownNameError

# label index of "no label": dropped labels, and windows without one (data.windows.NO_LABEL is the
# same index, so a batch's labels go in as they are; tests/model/test_denoiser.py checks it)
NULL_LABEL = -1


@dataclass(frozen=True)
class DenoiserConfig:
    """Size of the denoiser.

    Attributes:
        feature_dim: D, features per frame (input and output); the trainer sets it from the
            data's feature layout (data.features.FEATURE_DIM).
        num_labels: size of the label vocabulary; 0 = unconditional model.
        width: transformer width (token size).
        layers: encoder layers.
        heads: attention heads (must divide width).
        ff: hidden size of each layer's feed-forward block.
        dropout: dropout probability inside the encoder (training only).
        max_frames: longest sequence the position encoding covers, frames.
    """

    feature_dim: int
    num_labels: int = 0
    width: int = 128
    layers: int = 2
    heads: int = 4
    ff: int = 512
    dropout: float = 0.1
    max_frames: int = 512

    def __post_init__(self) -> None:
        for name in ("feature_dim", "width", "layers", "heads", "ff", "max_frames"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"DenoiserConfig.{name}: must be an integer >= 1, got {value!r}")
        if not isinstance(self.num_labels, int) or self.num_labels < 0:
            raise ConfigError(f"DenoiserConfig.num_labels: must be an integer >= 0, got {self.num_labels!r}")
        if self.width % self.heads or self.width % 2:
            raise ConfigError(f"DenoiserConfig: width {self.width} must be even and divisible by heads {self.heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"DenoiserConfig.dropout: must be in [0, 1), got {self.dropout}")


# Sizes of the named presets (feature_dim and num_labels come from the data).
PRESETS: dict[str, dict] = {
    # trains on 2 CPU cores: ~0.5M parameters. No dropout: drawing its random masks cost ~20%
    # of a training step on CPU (torch profiler); the `mdm` preset keeps MDM's 0.1.
    "cpu-small": dict(width=128, layers=2, heads=4, ff=512, dropout=0.0),
    # the published MDM size (Tevet et al. 2023), for GPU users
    "mdm": dict(width=512, layers=8, heads=4, ff=1024),
}


def preset(name: str, feature_dim: int, num_labels: int = 0) -> DenoiserConfig:
    """The named preset's config for `feature_dim` features and `num_labels` labels;
    UnknownNameError lists the presets."""
    if name not in PRESETS:
        raise UnknownNameError("model preset", name, PRESETS)
    return DenoiserConfig(feature_dim=feature_dim, num_labels=num_labels, **PRESETS[name])


def sinusoidal(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding (Vaswani et al. 2017) of `positions (N,)` -> `(N, dim)`, dim even.

    Half the channels are `sin(p / 10000^(2i/dim))`, the other half the matching cosines.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=positions.device) / half)
    angles = positions.float()[:, None] * freqs[None, :]  # (N, half)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


class Denoiser(nn.Module):
    """x0-predicting transformer: `forward(x_t (B, T, D), t (B,), labels (B,) | None) -> (B, T, D)`."""

    def __init__(self, config: DenoiserConfig):
        super().__init__()
        self.config = config
        w = config.width
        self.input = nn.Linear(config.feature_dim, w)
        self.time_mlp = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        # one extra row: the learned embedding of "no label" (classifier-free guidance)
        self.label_emb = nn.Embedding(config.num_labels + 1, w) if config.num_labels else None
        layer = nn.TransformerEncoderLayer(
            d_model=w,
            nhead=config.heads,
            dim_feedforward=config.ff,
            dropout=config.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(w)
        self.output = nn.Linear(w, config.feature_dim)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)
        self.register_buffer("pos", sinusoidal(torch.arange(config.max_frames + 1), w), persistent=False)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Estimate of x0.

        Args:
            x: `(B, T, D)` noisy features x_t (normalised), T <= max_frames.
            t: `(B,)` integer diffusion steps.
            labels: `(B,)` int64 label indices in [0, num_labels) or NULL_LABEL; None = all null.
        Returns:
            `(B, T, D)` predicted clean features x0 (normalised).
        """
        B, T, D = x.shape
        if D != self.config.feature_dim or T > self.config.max_frames:
            raise MotionValidationError(
                f"Denoiser: input (B, T, D) = {tuple(x.shape)}, expected D = {self.config.feature_dim}, "
                f"T <= {self.config.max_frames}"
            )
        cond = self.time_mlp(sinusoidal(t, self.config.width))  # (B, W)
        if self.label_emb is not None:
            if labels is None:
                labels = torch.full((B,), NULL_LABEL, dtype=torch.long, device=x.device)
            # NULL_LABEL (-1) -> the last row, the "no label" embedding
            idx = torch.where(labels < 0, self.config.num_labels, labels)
            cond = cond + self.label_emb(idx)
        tokens = torch.cat([cond[:, None, :], self.input(x)], dim=1)  # (B, T + 1, W)
        h = self.encoder(tokens + self.pos[: T + 1])  # (B, T + 1, W)
        return self.output(self.norm(h[:, 1:]))  # (B, T, D): drop the condition token
