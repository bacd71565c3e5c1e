"""Tiny clips, configs and a trained tiny checkpoint for the model tests."""

from __future__ import annotations

import numpy as np
import pytest

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data.features import FEATURE_DIM
from motionloop.model.config import TrainConfig
from motionloop.model.denoiser import DenoiserConfig
from motionloop.model.diffusion import DiffusionConfig
from motionloop.model.train import train
from motionloop.motion import Motion

FPS = 20.0


def toy_clip(label: str, seed: int, frames: int = 40) -> Motion:
    """An upright body: "walk" swings the legs and moves forward, "wave" raises and waves an arm."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / FPS
    phase = rng.uniform(0, 2 * np.pi)
    poses = np.zeros((frames, sk.NUM_JOINTS, 3))
    poses[:, sk.PELVIS] = rot.mat_to_aa(sk.UPRIGHT)
    trans = np.zeros((frames, 3))
    trans[:, 2] = sk.PELVIS_HEIGHT
    if label == "walk":
        swing = 0.4 * np.sin(2 * np.pi * t + phase)
        poses[:, sk.LEFT_HIP, 0], poses[:, sk.RIGHT_HIP, 0] = swing, -swing
        poses[:, sk.LEFT_KNEE, 0] = 0.3 + 0.3 * np.sin(2 * np.pi * t + phase + 1.2)
        trans[:, 1] = -1.2 * t  # UPRIGHT faces world -y
    else:
        poses[:, sk.RIGHT_SHOULDER, 2] = 1.2
        poses[:, sk.RIGHT_ELBOW, 1] = -1.0 + 0.6 * np.sin(2 * np.pi * 1.2 * t + phase)
    poses += rng.normal(0.0, 0.02, (1, sk.NUM_JOINTS, 3))  # a per-clip variation of the pose
    return Motion(trans=trans, poses=poses, fps=FPS, label=label, source=f"toy:{label}:{seed}")


@pytest.fixture(scope="session")
def toy_clips() -> list[Motion]:
    return [toy_clip(label, seed) for label in ("walk", "wave") for seed in range(3)]


TINY_MODEL = DenoiserConfig(feature_dim=FEATURE_DIM, width=32, layers=1, heads=2, ff=64, dropout=0.0)
TINY_CONFIG = TrainConfig(
    window=16,
    stride=8,
    batch_size=8,
    lr=1e-3,
    warmup_steps=0,
    min_lr_ratio=1.0,
    checkpoint_every=1000,
    diffusion=DiffusionConfig(num_steps=100),
)


@pytest.fixture(scope="session")
def make_toy_clip():
    """`toy_clip(label, seed, frames=40)`: one clip at 20 fps."""
    return toy_clip


@pytest.fixture(scope="session")
def tiny_model() -> DenoiserConfig:
    """A denoiser small enough for a test to train it in a second."""
    return TINY_MODEL


@pytest.fixture(scope="session")
def tiny_config() -> TrainConfig:
    """16-frame windows, batches of 8, constant lr, a 100-step schedule."""
    return TINY_CONFIG


@pytest.fixture(scope="session")
def tiny_ckpt_path(tmp_path_factory, toy_clips):
    """A tiny model trained for a few steps on the toy clips (labels: walk, wave)."""
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    train(toy_clips, path, 20, model=TINY_MODEL, config=TINY_CONFIG, seed=0, progress=False)
    return path
