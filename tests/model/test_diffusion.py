"""The diffusion process: schedule golden values, q and the posterior, and the samplers.

The samplers are tested with the exact x0-denoiser of Gaussian data N(mu, s^2 I), for which
everything is known in closed form: E[x0 | x_t] = mu + sqrt(a) s^2 / (a s^2 + 1 - a) (x_t - sqrt(a) mu),
a = abar_t, and the probability-flow ODE carries x_N = z to x_0 = mu + s z.

What "DDIM with the full number of steps matches DDPM" means here:
- DDIM with eta = 1 over all N steps *is* DDPM ancestral sampling with the posterior variance:
  fed the same noise stream they must agree to float precision (different formulas, same map).
- DDIM with eta = 0 over all N steps is the deterministic sampler: it integrates the
  probability-flow ODE, so it must land on mu + s z, and converge there as the steps grow.
DDPM with its noise switched off is *not* compared: that path is not a sampler of the data
distribution (it contracts towards the mean), so agreeing with it would prove nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from motionloop.errors import ConfigError
from motionloop.model.diffusion import DiffusionConfig, GaussianDiffusion, SamplerSpec, parse_sampler

MU, S = 1.0, 0.5


@pytest.fixture(scope="module")
def diffusion() -> GaussianDiffusion:
    return GaussianDiffusion(DiffusionConfig())


def gaussian_denoiser(d: GaussianDiffusion, mu: float = MU, s: float = S):
    def net(x, t, labels):
        a = torch.as_tensor(d.alphas_cumprod, dtype=torch.float64)[t].to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
        return mu + a.sqrt() * s * s / (a * s * s + 1 - a) * (x - a.sqrt() * mu)

    return net


def test_cosine_schedule_golden_values(diffusion):
    # abar at paper step t = f(t) / f(0), f(t) = cos^2((t / 1000 + 0.008) / 1.008 * pi / 2), by hand:
    golden = {
        0: 0.999958715775178,
        249: 0.8470121613269047,
        499: 0.49384359044063775,
        749: 0.1442721023857358,
        989: 0.00024285722793500594,
    }
    for t, value in golden.items():
        assert diffusion.alphas_cumprod[t] == pytest.approx(value, rel=1e-12)

    # t = 500 (paper) lies on the cos^2 curve at its half-way point
    def f(u):
        return math.cos((u / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2

    assert diffusion.alphas_cumprod[499] == pytest.approx(f(500) / f(0), rel=1e-12)
    # only the last beta hits the 0.999 clip; abar keeps decreasing to ~0
    assert diffusion.betas[-1] == pytest.approx(0.999)
    assert np.all(diffusion.betas[:-1] < 0.999) and np.all(diffusion.betas > 0)
    assert np.all(np.diff(diffusion.alphas_cumprod) < 0)
    assert diffusion.alphas_cumprod[-1] < 1e-8


def test_q_sample_moments(diffusion):
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((20000, 1), 2.0)
    t = torch.full((20000,), 300)
    xt = diffusion.q_sample(x0, t, torch.randn(x0.shape, generator=g))
    a = diffusion.alphas_cumprod[300]
    assert xt.mean().item() == pytest.approx(math.sqrt(a) * 2.0, abs=0.02)
    assert xt.var().item() == pytest.approx(1 - a, rel=0.03)


def test_posterior_matches_bayes_rule(diffusion):
    """q(x_{t-1} | x_t, x0) ∝ q(x_t | x_{t-1}) q(x_{t-1} | x0): multiply the two Gaussians."""
    x0, xt = torch.tensor([[0.7]], dtype=torch.float64), torch.tensor([[-0.3]], dtype=torch.float64)
    for i in (1, 10, 500, 998):
        t = torch.tensor([i])
        mean, var = diffusion.q_posterior(x0, xt, t)
        beta, ap = diffusion.betas[i], diffusion.alphas_cumprod_prev[i]
        precision = 1 / (1 - ap) + (1 - beta) / beta
        want_mean = (math.sqrt(ap) * 0.7 / (1 - ap) + math.sqrt(1 - beta) * -0.3 / beta) / precision
        assert var.item() == pytest.approx(1 / precision, rel=1e-9)
        assert mean.item() == pytest.approx(want_mean, rel=1e-9)
    assert diffusion.q_posterior(x0, xt, torch.tensor([0]))[1].item() == 0.0


def test_ddim_timesteps(diffusion):
    ts = diffusion.ddim_timesteps(50)
    assert len(ts) == 50 and ts[0] == 999 and np.all(np.diff(ts) < 0) and ts[-1] >= 0
    assert np.array_equal(diffusion.ddim_timesteps(1000), np.arange(999, -1, -1))
    with pytest.raises(ConfigError):
        diffusion.ddim_timesteps(1001)


def test_ddim_eta1_full_steps_is_ddpm(diffusion):
    net = gaussian_denoiser(diffusion)
    shape = (64, 4, 3)
    ddpm = diffusion.ddpm_sample(net, shape, generator=torch.Generator().manual_seed(3))
    ddim = diffusion.ddim_sample(net, shape, steps=1000, eta=1.0, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(ddpm, ddim, atol=1e-4)
    assert ddpm.std().item() > 0.4  # not a collapsed sample: N(1, 0.25) has std 0.5


def test_ddim_eta0_follows_the_probability_flow_ode(diffusion):
    net = gaussian_denoiser(diffusion)
    shape = (64, 4, 3)
    z = torch.randn(shape, generator=torch.Generator().manual_seed(5))  # x_N: the first draw of the stream
    exact = MU + S * z
    errors = {}
    for steps in (100, 1000):
        x = diffusion.ddim_sample(net, shape, steps=steps, eta=0.0, generator=torch.Generator().manual_seed(5))
        errors[steps] = (x - exact).abs().max().item()
    assert errors[1000] < 0.01
    assert errors[1000] < errors[100] / 5  # first-order convergence in the step count


def test_ddpm_and_ddim50_sample_the_data_distribution(diffusion):
    net = gaussian_denoiser(diffusion)
    for spec in (SamplerSpec("ddpm", 1000), SamplerSpec("ddim", 50)):
        x = diffusion.sample(net, (2000, 4), spec, generator=torch.Generator().manual_seed(1))
        assert x.mean().item() == pytest.approx(MU, abs=0.02)
        assert x.std().item() == pytest.approx(S, rel=0.04)


def test_classifier_free_guidance_combination():
    def net(x, t, labels):
        return torch.zeros_like(x) if labels is None else torch.ones_like(x) * labels.view(-1, 1).float()

    x, t, labels = torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), torch.tensor([2, 3])
    assert torch.equal(GaussianDiffusion.predict_x0(net, x, t, labels, 1.0), torch.tensor([[2.0] * 3, [3.0] * 3]))
    assert torch.equal(GaussianDiffusion.predict_x0(net, x, t, labels, 0.0), torch.zeros(2, 3))
    assert torch.equal(GaussianDiffusion.predict_x0(net, x, t, labels, 2.5), torch.tensor([[5.0] * 3, [7.5] * 3]))
    assert torch.equal(GaussianDiffusion.predict_x0(net, x, t, None, 2.5), torch.zeros(2, 3))


def test_training_losses_weights_aux_terms(diffusion):
    def net(x, t, labels):
        return torch.zeros_like(x)

    x0 = torch.ones(2, 3, 4)
    t = torch.tensor([5, 500])
    out = diffusion.training_losses(
        net, x0, t, aux=lambda a, b: {"extra": torch.tensor(2.0)}, aux_weights={"extra": 0.5}
    )
    assert out["mse"].item() == pytest.approx(1.0)
    assert out["loss"].item() == pytest.approx(2.0)
    with pytest.raises(ConfigError, match="extra"):
        diffusion.training_losses(net, x0, t, aux=lambda a, b: {"extra": torch.tensor(2.0)}, aux_weights={})


@pytest.mark.parametrize("text,kind,steps", [("ddpm", "ddpm", 1000), ("ddim", "ddim", 50), ("DDIM:10", "ddim", 10)])
def test_parse_sampler(text, kind, steps):
    spec = parse_sampler(text)
    assert (spec.kind, spec.steps) == (kind, steps)


@pytest.mark.parametrize("text", ["ddim:0", "ddim:1001", "ddim:x", "ddpm:5", "euler"])
def test_parse_sampler_rejects(text):
    with pytest.raises(ConfigError, match="ddim"):
        parse_sampler(text)


def test_config_validation():
    with pytest.raises(ConfigError, match="schedule"):
        DiffusionConfig(schedule="linear")
    with pytest.raises(ConfigError, match="num_steps"):
        DiffusionConfig(num_steps=1)


@pytest.mark.parametrize(
    "text, steps, projections",
    [("ddim:50+physics:4", 50, 4), ("ddpm+physics:1", 1000, 1), ("DDIM:10+physics:10", 10, 10)],
)
def test_parse_sampler_with_physics_projections(text, steps, projections):
    spec = parse_sampler(text)
    assert (spec.steps, spec.projections) == (steps, projections)
    assert parse_sampler(str(spec)) == spec


@pytest.mark.parametrize("text", ["ddim:10+physics:11", "ddim:10+physics:0", "ddim+physics", "ddim:10+guide:2"])
def test_parse_sampler_rejects_bad_projections(text):
    with pytest.raises(ConfigError, match="physics"):
        parse_sampler(text)


def test_projections_end_at_the_final_step_and_spread_over_the_last_ones():
    from motionloop.model.diffusion import projection_steps

    assert projection_steps(50, 4) == {49, 47, 45, 43}
    assert projection_steps(50, 1) == {49}
    assert projection_steps(1000, 2) == {999, 959}
    assert projection_steps(4, 4) == {0, 1, 2, 3}  # no room to spread: every step
    with pytest.raises(ConfigError, match="physics projections"):
        projection_steps(10, 11)


@pytest.mark.parametrize("kind", ["ddim", "ddpm"])
def test_the_x0_hook_runs_at_its_steps_and_its_estimate_is_used(diffusion, kind):
    net = gaussian_denoiser(diffusion)
    shape = (16, 3)
    spec = parse_sampler("ddim:20+physics:3" if kind == "ddim" else "ddpm+physics:2")
    calls = []

    def identity(x0, step):
        calls.append(step)
        return x0

    plain = diffusion.sample(net, shape, SamplerSpec(spec.kind, spec.steps), generator=torch.Generator().manual_seed(2))
    same = diffusion.sample(net, shape, spec, generator=torch.Generator().manual_seed(2), x0_hook=identity)
    assert torch.allclose(plain, same)  # an identity projection changes nothing
    from motionloop.model.diffusion import projection_steps

    assert sorted(calls) == sorted(projection_steps(spec.steps, spec.projections))

    def to_seven(x0, step):
        return torch.full_like(x0, 7.0)

    out = diffusion.sample(net, shape, spec, generator=torch.Generator().manual_seed(2), x0_hook=to_seven)
    if kind == "ddim":
        assert torch.allclose(out, torch.full(shape, 7.0))  # the final step returns the projected estimate
    else:
        assert out.mean().item() == pytest.approx(7.0, abs=0.05)  # the last posterior has (almost) no noise
    with pytest.raises(ConfigError, match="x0 hook"):
        diffusion.sample(net, shape, spec, generator=torch.Generator().manual_seed(2))
