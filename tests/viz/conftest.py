"""Shared fixtures of the viz tests: small synthetic clips and the GL backend of this machine."""

from __future__ import annotations

import numpy as np
import pytest
from clips import standing

from motionloop import skeleton as sk
from motionloop.motion import Motion
from motionloop.viz import gl


def _stepping(frames: int = 24, fps: float = 20.0, speed: float = 0.8) -> Motion:
    """Standing body moving forward at `speed` m/s with legs swinging (a crude walk)."""
    base = standing(frames=frames, fps=fps)
    t = np.arange(frames) / fps
    poses = base.poses.copy()
    swing = 0.4 * np.sin(2 * np.pi * 1.0 * t)
    poses[:, sk.LEFT_HIP, 0] = swing
    poses[:, sk.RIGHT_HIP, 0] = -swing
    trans = base.trans.copy()
    trans[:, 1] -= speed * t  # upright, the canonical forward (+z) points along world -y
    return base.replace(poses=poses, trans=trans, label="walk", source="stepping.npz")


@pytest.fixture
def stepping():
    """A factory of crude walking clips: `stepping(frames=24, fps=20.0, speed=0.8)`."""
    return _stepping


@pytest.fixture(scope="session")
def gl_backend() -> str:
    """The working MuJoCo offscreen backend, or skip (the stick fallback is tested on its own)."""
    backend = gl.probe()
    if backend is None:
        pytest.skip(f"no MuJoCo offscreen GL backend here (install {gl.missing_packages_hint()})")
    return backend
