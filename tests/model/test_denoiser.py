"""The denoiser network: shapes, conditioning, the null label, sizes, seeding and gradients."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import torch

from motionloop.data.features import FEATURE_DIM
from motionloop.data.windows import NO_LABEL
from motionloop.errors import ConfigError, MotionValidationError, UnknownNameError
from motionloop.model.denoiser import NULL_LABEL, PRESETS, Denoiser, DenoiserConfig, preset, sinusoidal
from motionloop.model.diffusion import GaussianDiffusion

SMALL = DenoiserConfig(feature_dim=FEATURE_DIM, width=32, layers=1, heads=2, ff=64, num_labels=3, dropout=0.0)
README = Path(__file__).resolve().parents[2] / "README.md"


def _randomised(config: DenoiserConfig, seed: int = 0) -> Denoiser:
    torch.manual_seed(seed)
    net = Denoiser(config).eval()
    torch.nn.init.normal_(net.output.weight, std=0.1)  # the zero-initialised head would hide the inputs
    return net


def _inputs(B: int, T: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, FEATURE_DIM, generator=g), torch.randint(0, 1000, (B,), generator=g)


def _expected_parameters(c: DenoiserConfig) -> int:
    """Parameter count of the architecture in the module docstring, from the config alone."""
    w, d = c.width, c.feature_dim

    def linear(i: int, o: int) -> int:
        return i * o + o

    layer = (
        linear(w, 3 * w)  # attention in-projection (q, k, v)
        + linear(w, w)  # attention out-projection
        + linear(w, c.ff)
        + linear(c.ff, w)  # feed-forward block
        + 2 * 2 * w  # two layer norms (pre-norm)
    )
    return (
        linear(d, w)  # input projection
        + 2 * linear(w, w)  # time MLP
        + ((c.num_labels + 1) * w if c.num_labels else 0)  # labels + the null label
        + c.layers * layer
        + 2 * w  # final layer norm
        + linear(w, d)  # output head
    )


# ------------------------------------------------------------------ configuration


def test_unknown_preset_lists_valid_names():
    with pytest.raises(UnknownNameError, match="cpu-small.*mdm"):
        preset("huge", FEATURE_DIM)


def test_preset_is_its_sizes_with_the_datas_features_and_labels():
    for name, sizes in PRESETS.items():
        cfg = preset(name, 11, num_labels=7)
        assert cfg == DenoiserConfig(feature_dim=11, num_labels=7, **sizes)


def test_the_null_label_is_the_index_of_an_unlabelled_window():
    # training feeds a batch's labels to the denoiser as they are: "no label" must be one index
    assert NULL_LABEL == NO_LABEL


def test_config_validation():
    with pytest.raises(ConfigError, match="divisible"):
        DenoiserConfig(feature_dim=FEATURE_DIM, width=30, heads=4)
    with pytest.raises(ConfigError, match="even"):
        DenoiserConfig(feature_dim=FEATURE_DIM, width=9, heads=3)  # the sinusoidal embeddings need an even width
    with pytest.raises(ConfigError, match="dropout"):
        DenoiserConfig(feature_dim=FEATURE_DIM, dropout=1.0)
    with pytest.raises(ConfigError, match="num_labels"):
        DenoiserConfig(feature_dim=FEATURE_DIM, num_labels=-1)
    with pytest.raises(ConfigError, match="max_frames"):
        DenoiserConfig(feature_dim=FEATURE_DIM, max_frames=0)


# ------------------------------------------------------------------ size


@pytest.mark.parametrize(
    "config",
    [
        SMALL,
        dataclasses.replace(SMALL, num_labels=0),
        DenoiserConfig(width=48, layers=3, heads=3, ff=80, num_labels=1, feature_dim=10),
        preset("cpu-small", FEATURE_DIM, num_labels=10),
    ],
    ids=["small", "unconditional", "odd-sizes", "cpu-small"],
)
def test_parameter_count_follows_the_config(config):
    net = Denoiser(config)
    assert net.num_parameters() == _expected_parameters(config)
    assert net.num_parameters() == sum(p.numel() for p in net.parameters() if p.requires_grad)
    # the position encoding is a fixed buffer, not a parameter, and is not saved
    assert "pos" not in dict(net.named_parameters()) and "pos" not in net.state_dict()


def test_preset_sizes_match_the_documented_ones():
    """README's benchmark table gives each preset's size ("| cpu-small | 0.49 M |"): the
    presets must still have that many parameters, to the precision the table states."""
    if not README.exists():
        pytest.skip("README.md is not next to the tests")
    text = README.read_text(encoding="utf-8")
    for name in PRESETS:
        found = re.search(rf"^\| {re.escape(name)} \| ([0-9.]+) M \|", text, flags=re.MULTILINE)
        assert found, f"README has no parameter count for preset {name!r}"
        documented = float(found.group(1))
        decimals = len(found.group(1).partition(".")[2])
        actual = _expected_parameters(preset(name, FEATURE_DIM, num_labels=10)) / 1e6
        assert abs(actual - documented) <= 0.5 * 10**-decimals, f"{name}: {actual:.3f} M, README {documented} M"
    # and the formula is the real network's count (the big preset is built once, here)
    mdm = preset("mdm", FEATURE_DIM, num_labels=10)
    assert Denoiser(mdm).num_parameters() == _expected_parameters(mdm)
    # the source comment's "~0.5M parameters" for the CPU preset
    assert 0.4e6 < _expected_parameters(preset("cpu-small", FEATURE_DIM, num_labels=10)) < 0.6e6


# ------------------------------------------------------------------ shapes


@pytest.mark.parametrize("B,T", [(1, 1), (3, 7), (2, 20)])
def test_output_shape_for_batches_and_lengths(B, T):
    net = _randomised(dataclasses.replace(SMALL, max_frames=20))
    x, t = _inputs(B, T)
    labels = torch.arange(B) % (SMALL.num_labels + 1) - 1  # NULL_LABEL and real labels mixed
    out = net(x, t, labels)
    assert out.shape == (B, T, FEATURE_DIM) and out.dtype == torch.float32
    assert torch.isfinite(out).all() and out.abs().sum() > 0


def test_max_frames_and_feature_dim_are_enforced_with_a_readable_message():
    net = Denoiser(dataclasses.replace(preset("cpu-small", FEATURE_DIM), max_frames=8))
    assert net(torch.zeros(2, 8, FEATURE_DIM), torch.tensor([0, 1])).shape == (2, 8, FEATURE_DIM)  # T == max_frames
    with pytest.raises(MotionValidationError) as err:
        net(torch.zeros(1, 9, FEATURE_DIM), torch.tensor([0]))
    assert str(err.value) == f"Denoiser: input (B, T, D) = (1, 9, {FEATURE_DIM}), expected D = {FEATURE_DIM}, T <= 8"
    with pytest.raises(MotionValidationError, match=rf"\(1, 4, 10\), expected D = {FEATURE_DIM}"):
        net(torch.zeros(1, 4, 10), torch.tensor([0]))


def test_untrained_model_predicts_the_mean():
    """The zero-initialised head: x0 = 0, the data mean in normalised units, for any input."""
    net = Denoiser(SMALL)
    x, t = _inputs(2, 7)
    out = net(x, t, torch.tensor([1, NULL_LABEL]))
    assert out.shape == (2, 7, FEATURE_DIM) and torch.count_nonzero(out) == 0


def test_batch_rows_are_independent():
    net = _randomised(dataclasses.replace(SMALL, num_labels=2))
    x, t, y = torch.randn(3, 5, FEATURE_DIM), torch.tensor([1, 50, 900]), torch.tensor([0, 1, NULL_LABEL])
    full = net(x, t, y)
    for i in range(3):
        assert torch.allclose(full[i], net(x[i : i + 1], t[i : i + 1], y[i : i + 1])[0], atol=1e-5)


def test_every_frame_is_attended_so_padding_would_change_valid_frames():
    """There is no padding mask: every frame attends to every other one. Training windows are
    therefore never padded (data/windows.py skips short clips); padding a clip would change
    the prediction of its real frames, which this pins down."""
    net = _randomised(SMALL)
    x, t = _inputs(1, 6)
    y = torch.tensor([0])
    base = net(x, t, y)
    padded = torch.cat([x, torch.zeros(1, 3, FEATURE_DIM)], dim=1)
    assert not torch.allclose(net(padded, t, y)[:, :6], base, atol=1e-4)
    # a change of the first frame reaches the last one, and positions are encoded (order matters)
    x2 = x.clone()
    x2[0, 0] += 1.0
    assert not torch.allclose(base[0, -1], net(x2, t, y)[0, -1])
    assert not torch.allclose(net(x.flip(1), t, y).flip(1), base, atol=1e-4)


def test_output_depends_on_the_diffusion_step():
    net = _randomised(SMALL)
    x, _ = _inputs(1, 9)
    y = torch.tensor([0])
    assert not torch.allclose(net(x, torch.tensor([10]), y), net(x, torch.tensor([500]), y), atol=1e-4)


# ------------------------------------------------------------------ labels and the null label


def test_each_label_conditions_the_output():
    net = _randomised(SMALL)
    x, t = _inputs(1, 9)
    outs = [net(x, t, torch.tensor([k])) for k in (*range(SMALL.num_labels), NULL_LABEL)]
    for i in range(len(outs)):
        for j in range(i + 1, len(outs)):
            assert not torch.allclose(outs[i], outs[j], atol=1e-4), f"labels {i} and {j} give the same output"


def test_null_label_is_the_unconditional_branch_with_its_own_embedding():
    net = _randomised(SMALL)
    x, t = _inputs(3, 5)
    y = torch.tensor([0, NULL_LABEL, 2])
    # NULL_LABEL and labels=None are the same branch, row by row
    uncond = net(x, t, None)
    mixed = net(x, t, y)
    assert torch.equal(net(x, t, torch.full((3,), NULL_LABEL)), uncond)
    assert torch.allclose(mixed[1], uncond[1], atol=1e-6)
    assert not torch.allclose(mixed[0], uncond[0], atol=1e-4)
    # the null label is the extra, last embedding row: changing it moves only null rows
    assert net.label_emb.num_embeddings == SMALL.num_labels + 1
    with torch.no_grad():  # not a uniform shift: the pre-norm layers would remove it
        net.label_emb.weight[SMALL.num_labels] += torch.randn(SMALL.width, generator=torch.Generator().manual_seed(1))
    moved = net(x, t, y)
    assert not torch.allclose(moved[1], mixed[1], atol=1e-4)
    assert torch.allclose(moved[[0, 2]], mixed[[0, 2]], atol=1e-6)


def test_unconditional_model_ignores_labels():
    net = _randomised(dataclasses.replace(SMALL, num_labels=0))
    assert net.label_emb is None
    x, t = _inputs(2, 5)
    assert torch.equal(net(x, t, torch.tensor([0, 1])), net(x, t, None))


@pytest.mark.parametrize("guidance", [0.0, 2.5])
def test_classifier_free_guidance_mixes_the_two_branches(guidance):
    net = _randomised(SMALL)
    x, t = _inputs(2, 6)
    y = torch.tensor([1, 2])
    cond, uncond = net(x, t, y), net(x, t, None)
    out = GaussianDiffusion.predict_x0(net, x, t, y, guidance)
    assert torch.allclose(out, uncond + guidance * (cond - uncond), atol=1e-5)
    assert torch.equal(GaussianDiffusion.predict_x0(net, x, t, y, 1.0), cond)  # w = 1: conditional only
    assert torch.equal(GaussianDiffusion.predict_x0(net, x, t, None, guidance), uncond)


# ------------------------------------------------------------------ seeding and gradients


def test_initialisation_and_dropout_follow_the_torch_seed():
    cfg = dataclasses.replace(SMALL, dropout=0.3)

    def build(seed):
        torch.manual_seed(seed)
        return Denoiser(cfg)

    a, b, c = build(3), build(3), build(4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["input.weight"], sc["input.weight"])
    torch.nn.init.normal_(a.output.weight, std=0.1)
    x, t = _inputs(2, 6)
    y = torch.tensor([0, 1])
    a.eval()
    assert torch.equal(a(x, t, y), a(x, t, y))  # eval: no dropout, deterministic
    a.train()
    torch.manual_seed(11)
    first = a(x, t, y)
    torch.manual_seed(11)
    assert torch.equal(first, a(x, t, y))  # the same dropout masks under the same seed
    torch.manual_seed(12)
    assert not torch.allclose(first, a(x, t, y))


def test_gradients_reach_every_parameter():
    net = _randomised(SMALL).train()
    x, t = _inputs(4, 6)
    y = torch.tensor([0, 1, 2, NULL_LABEL])  # every embedding row, the null one too
    net(x, t, y).pow(2).mean().backward()
    dead = [n for n, p in net.named_parameters() if p.grad is None or not torch.count_nonzero(p.grad)]
    assert not dead, f"no gradient reaches {dead}"


def test_a_fresh_network_first_learns_its_output_head():
    """With the zero-initialised head the first gradients reach only the head: every other
    layer's output is multiplied by its zero weights."""
    torch.manual_seed(0)
    net = Denoiser(SMALL).train()
    x, t = _inputs(2, 5)
    (net(x, t, torch.tensor([0, NULL_LABEL])) - x).pow(2).mean().backward()
    grads = {n: p.grad for n, p in net.named_parameters()}
    assert torch.count_nonzero(grads["output.weight"]) and torch.count_nonzero(grads["output.bias"])
    assert all(g is None or not torch.count_nonzero(g) for n, g in grads.items() if not n.startswith("output."))


def test_sinusoidal_embedding():
    e = sinusoidal(torch.tensor([0, 1, 999]), 16)
    assert e.shape == (3, 16)
    assert torch.allclose(e[0], torch.cat([torch.zeros(8), torch.ones(8)]))
    assert torch.allclose(e.pow(2).reshape(3, 2, 8).sum(1), torch.ones(3, 8))  # sin^2 + cos^2
    # channel i of the sine half has frequency 10000^(-i/8)
    assert torch.allclose(e[1, :8], torch.sin(10000.0 ** (-torch.arange(8) / 8.0)))
