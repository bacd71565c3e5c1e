"""The shipped base model (assets/models/base_cpu_small.pt) makes walking clips that look like walking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motionloop import skeleton as sk
from motionloop.model.checkpoint import load_checkpoint
from motionloop.model.sample import sample
from motionloop.physics.metrics import lowest_points

BASE = Path(__file__).resolve().parents[2] / "assets" / "models" / "base_cpu_small.pt"


@pytest.fixture(scope="module")
def walks():
    ckpt = load_checkpoint(BASE)
    assert "walk" in ckpt.labels and ckpt.model.config.width == 128
    return sample(ckpt, 8, label="walk", seed=0)


def test_base_model_walks(walks):
    assert len(walks) == 8 and all(m.label == "walk" and m.num_frames == 40 for m in walks)
    walking = 0
    for m in walks:
        joints = m.joints()  # (T, 24, 3) metres, z up
        pelvis_z = joints[:, sk.PELVIS, 2]
        assert 0.8 < pelvis_z.mean() < 1.1  # upright, not crouching or lying
        assert np.all(joints[:, sk.HEAD, 2] > pelvis_z + 0.3)
        speed = np.linalg.norm(np.diff(m.trans[:, :2], axis=0), axis=1).mean() * m.fps
        assert 0.4 < speed < 2.0  # m/s: walking pace
        # a walk stays on the floor and its feet take turns (anti-correlated ankle heights)
        grounded = abs(np.median(lowest_points(m))) < 0.05
        left, right = joints[:, sk.LEFT_ANKLE, 2], joints[:, sk.RIGHT_ANKLE, 2]
        walking += grounded and np.corrcoef(left, right)[0, 1] < 0.0
    assert walking >= 6  # of 8: the small model is not perfect (seed 0 gives one floating hop)
