"""The training configuration (stored inside every checkpoint)."""

from __future__ import annotations

from dataclasses import dataclass, field

from motionloop import config as cfgmod
from motionloop.errors import ConfigError
from motionloop.model.diffusion import DiffusionConfig


@dataclass(frozen=True)
class TrainConfig:
    """How the denoiser is trained and fine-tuned.

    Attributes:
        window: frames per training window (the longest clip `sample` produces). 40 frames
            (2 s at 20 fps) holds the evaluator's 24-frame window, so every sampled clip can be
            evaluated, and keeps most of the short clips of the bundled set (longer windows
            skip them).
        stride: frames between the starts of consecutive windows of a clip.
        batch_size: windows per step, B.
        lr: peak learning rate of AdamW, reached after `warmup_steps` steps, then cosine
            decay to `lr * min_lr_ratio` at the last step of `train`.
        finetune_lr: constant learning rate of `fine_tune`.
        weight_decay: AdamW's decoupled weight decay.
        grad_clip: the gradient norm is clipped to this.
        p_uncond: probability that a window's label is dropped (classifier-free guidance).
        p_mirror: probability that a window is mirrored left/right (augmentation).
        w_joint_pos, w_joint_vel, w_foot_contact: weights of the auxiliary losses (losses.py).
        checkpoint_every: steps between checkpoint writes (and one at the end).
        diffusion: the noise schedule.
    """

    window: int = 40
    stride: int = 4
    batch_size: int = 64
    lr: float = 5e-4
    finetune_lr: float = 1e-4
    warmup_steps: int = 500
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    p_uncond: float = 0.1
    p_mirror: float = 0.5
    w_joint_pos: float = 1.0
    w_joint_vel: float = 0.1
    w_foot_contact: float = 0.1
    checkpoint_every: int = 1000
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)

    def __post_init__(self) -> None:
        for name in ("window", "stride", "batch_size", "checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"TrainConfig.{name}: must be an integer >= 1, got {value!r}")
        if self.window < 2:
            raise ConfigError(f"TrainConfig.window: must be >= 2 frames, got {self.window}")
        if not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ConfigError(f"TrainConfig.warmup_steps: must be an integer >= 0, got {self.warmup_steps!r}")
        for name in ("lr", "finetune_lr", "grad_clip"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"TrainConfig.{name}: must be > 0, got {getattr(self, name)}")
        for name in ("weight_decay", "w_joint_pos", "w_joint_vel", "w_foot_contact"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"TrainConfig.{name}: must be >= 0, got {getattr(self, name)}")
        for name in ("min_lr_ratio", "p_uncond", "p_mirror"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"TrainConfig.{name}: must be in [0, 1], got {getattr(self, name)}")

    @property
    def aux_weights(self) -> dict[str, float]:
        return {"joint_pos": self.w_joint_pos, "joint_vel": self.w_joint_vel, "foot_contact": self.w_foot_contact}

    def to_dict(self) -> dict:
        return cfgmod.to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Inverse of `to_dict`; ConfigError names unknown keys or bad values."""
        return cfgmod.from_dict(cls, d, "TrainConfig")
