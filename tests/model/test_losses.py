"""The SMPL-aware auxiliary losses, on features of real (toy) clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionloop import skeleton as sk
from motionloop.data.features import SLICES, motion_to_features
from motionloop.data.normalize import Normalizer
from motionloop.model.losses import AUX_TERMS, KinematicLosses


@pytest.fixture(scope="module")
def setup(toy_clips):
    feats = [motion_to_features(m) for m in toy_clips]
    norm = Normalizer.fit(feats)
    x = torch.from_numpy(np.stack([norm.normalize(f[:16]) for f in feats])).float()  # (6, 16, D)
    return KinematicLosses(norm, 20.0), norm, x


def test_zero_for_the_target_itself(setup):
    aux, _, x = setup
    out = aux(x, x)
    assert set(out) == set(AUX_TERMS)
    assert out["joint_pos"].item() < 1e-10 and out["joint_vel"].item() < 1e-8


def test_joint_pos_sees_a_bent_knee(setup):
    aux, norm, x = setup
    raw = norm.denormalize(x.clone())
    knee = SLICES["local_rot"].start + (sk.LEFT_KNEE - 1) * 6
    raw[:, :, knee : knee + 6] = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 1.0])  # 90 degrees about x
    out = aux(norm.normalize(raw), x)
    assert out["joint_pos"].item() > 1e-3  # ankle and foot move by tens of cm
    assert all(torch.isfinite(v) for v in out.values())


def test_foot_contact_penalises_sliding_planted_feet(setup):
    aux, norm, x = setup
    wave = x[3:]  # standing clips: both feet planted throughout
    raw = norm.denormalize(wave.clone())
    assert raw[:, 1:, SLICES["contacts"]].mean() > 0.5
    still = aux(wave, wave)["foot_contact"].item()
    sliding = raw.clone()
    sliding[:, :, SLICES["root_vel"].start] = 0.5  # the whole body glides forward at 0.5 m/s
    slid = aux(norm.normalize(sliding), wave)["foot_contact"].item()
    assert still < 1e-3
    assert slid == pytest.approx(0.25, rel=0.05)  # mean squared foot speed (m/s)^2


def test_gradients_flow_to_the_estimate(setup):
    aux, _, x = setup
    est = (x + 0.1 * torch.randn_like(x)).requires_grad_(True)
    sum(aux(est, x).values()).backward()
    assert est.grad is not None and torch.isfinite(est.grad).all() and est.grad.abs().sum() > 0
