"""The denoiser network: sizes, shapes, labels and the null label."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from motionloop.data.features import FEATURE_DIM
from motionloop.errors import ConfigError, MotionValidationError, UnknownNameError
from motionloop.model.denoiser import NULL_LABEL, PRESETS, Denoiser, DenoiserConfig, preset, sinusoidal


def test_preset_sizes():
    small = Denoiser(preset("cpu-small", num_labels=10)).num_parameters()
    assert 0.4e6 < small < 0.6e6
    cfg = PRESETS["mdm"]
    assert (cfg.layers, cfg.width, cfg.heads, cfg.ff) == (8, 512, 4, 1024)
    assert PRESETS["cpu-small"].feature_dim == FEATURE_DIM


def test_unknown_preset_lists_valid_names():
    with pytest.raises(UnknownNameError, match="cpu-small.*mdm"):
        preset("huge")


def test_config_validation():
    with pytest.raises(ConfigError, match="divisible"):
        DenoiserConfig(width=30, heads=4)
    with pytest.raises(ConfigError, match="dropout"):
        DenoiserConfig(dropout=1.0)
    with pytest.raises(ConfigError, match="num_labels"):
        DenoiserConfig(num_labels=-1)


def _randomised(config: DenoiserConfig) -> Denoiser:
    torch.manual_seed(0)
    net = Denoiser(config).eval()
    torch.nn.init.normal_(net.output.weight, std=0.1)  # the zero-initialised head would hide the inputs
    return net


def test_untrained_model_predicts_the_mean():
    net = Denoiser(DenoiserConfig(width=32, layers=1, heads=2, ff=64, num_labels=3))
    out = net(torch.randn(2, 7, FEATURE_DIM), torch.tensor([0, 999]), torch.tensor([1, NULL_LABEL]))
    assert out.shape == (2, 7, FEATURE_DIM) and torch.count_nonzero(out) == 0


def test_output_depends_on_time_label_and_frames():
    net = _randomised(DenoiserConfig(width=32, layers=1, heads=2, ff=64, num_labels=3))
    x = torch.randn(1, 9, FEATURE_DIM)
    t = torch.tensor([10])
    base = net(x, t, torch.tensor([0]))
    assert not torch.allclose(base, net(x, torch.tensor([500]), torch.tensor([0])))
    assert not torch.allclose(base, net(x, t, torch.tensor([1])))
    # NULL_LABEL and labels=None are the same unconditional branch
    assert torch.equal(net(x, t, torch.tensor([NULL_LABEL])), net(x, t, None))
    assert not torch.allclose(base, net(x, t, None))
    # every frame sees every other frame (attention), and positions are encoded
    x2 = x.clone()
    x2[0, 0] += 1.0
    assert not torch.allclose(base[0, -1], net(x2, t, torch.tensor([0]))[0, -1])


def test_batch_rows_are_independent():
    net = _randomised(DenoiserConfig(width=32, layers=1, heads=2, ff=64, num_labels=2))
    x, t, y = torch.randn(3, 5, FEATURE_DIM), torch.tensor([1, 50, 900]), torch.tensor([0, 1, NULL_LABEL])
    full = net(x, t, y)
    for i in range(3):
        assert torch.allclose(full[i], net(x[i : i + 1], t[i : i + 1], y[i : i + 1])[0], atol=1e-5)


def test_unconditional_model_ignores_labels():
    net = _randomised(DenoiserConfig(width=32, layers=1, heads=2, ff=64, num_labels=0))
    x, t = torch.randn(2, 5, FEATURE_DIM), torch.tensor([3, 4])
    assert torch.equal(net(x, t, torch.tensor([0, 1])), net(x, t, None))


def test_bad_input_shape():
    net = Denoiser(dataclasses.replace(PRESETS["cpu-small"], max_frames=8))
    with pytest.raises(MotionValidationError, match="D = 221"):
        net(torch.zeros(1, 4, 10), torch.tensor([0]))
    with pytest.raises(MotionValidationError, match="T <= 8"):
        net(torch.zeros(1, 9, FEATURE_DIM), torch.tensor([0]))


def test_sinusoidal_embedding():
    e = sinusoidal(torch.tensor([0, 1, 999]), 16)
    assert e.shape == (3, 16)
    assert torch.allclose(e[0], torch.cat([torch.zeros(8), torch.ones(8)]))
    assert torch.allclose(e.pow(2).reshape(3, 2, 8).sum(1), torch.ones(3, 8))  # sin^2 + cos^2
