"""Shared fixtures of the evaluation tests: a synthetic real set and a small evaluator trained on it."""

from __future__ import annotations

import pytest
from synthetic import synthetic_clips

from motionloop.eval import EvaluatorConfig, train_evaluator

# small enough to train in ~2 s; the kinematic half of the embedding needs no training
TINY = EvaluatorConfig(window=40, steps=120, width=32, embed_dim=32, batch=32, holdout=0.35)


@pytest.fixture(scope="session")
def real_clips():
    """8 synthetic labels x 8 clips of 6 s at 20 fps: the 'real' reference of these tests."""
    return synthetic_clips(8, seed=0, frames=120)


@pytest.fixture(scope="session")
def heldout_clips():
    """More clips of the same distribution (another seed): real data the evaluator never saw."""
    return synthetic_clips(8, seed=1, frames=120)


@pytest.fixture(scope="session")
def evaluator(real_clips):
    return train_evaluator(real_clips, config=TINY, seed=0)
