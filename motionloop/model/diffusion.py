"""Gaussian diffusion: the forward process, the x0-prediction loss, DDPM and DDIM sampling.

References: Ho et al. 2020 (DDPM), Nichol & Dhariwal 2021 (cosine schedule), Song et al.
2021 (DDIM), Ho & Salimans 2022 (classifier-free guidance), Tevet et al. 2023 (MDM: x0
prediction and auxiliary geometric losses for motion).

Indexing: array index `t = 0 .. N-1` is the paper's step `t + 1`, so `alphas_cumprod[t]`
is abar_{t+1}, `q_sample(x0, 0)` is x_1 and `alphas_cumprod_prev[0] = abar_0 = 1`.

The network is passed in as an argument: any callable `net(x_t (B, ...), t (B,), labels (B,) |
None) -> x0_hat (B, ...)`. It is called with `labels=None` for the unconditional branch of
classifier-free guidance. This module knows nothing of SMPL or of the feature layout; the
SMPL-aware auxiliary losses live in `losses.py` and come in through `training_losses(aux=...)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from motionloop import config as cfgmod
from motionloop.errors import ConfigError

Network = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]
# x0_hook(x0_hat (B, ...), step) -> x0 (B, ...): replaces the model's clean estimate at the
# sampler steps `projection_steps` lists (step = the sampler's own step count 0, 1, ...)
X0Hook = Callable[[torch.Tensor, int], torch.Tensor]
AuxLoss = Callable[[torch.Tensor, torch.Tensor], Mapping[str, torch.Tensor]]


@dataclass(frozen=True)
class DiffusionConfig:
    """The noise schedule.

    Attributes:
        num_steps: N, diffusion steps of training and of DDPM sampling.
        schedule: "cosine": abar(t) = f(t) / f(0), f(t) = cos^2(((t / N) + s) / (1 + s) * pi / 2).
        cosine_s: the offset s that keeps beta_1 from being vanishingly small.
        max_beta: betas are clipped to this to avoid the singularity at t = N.
    """

    num_steps: int = 1000
    schedule: Literal["cosine"] = "cosine"
    cosine_s: float = 0.008
    max_beta: float = 0.999

    def __post_init__(self) -> None:
        if not isinstance(self.num_steps, int) or self.num_steps < 2:
            raise ConfigError(f"DiffusionConfig.num_steps: must be an integer >= 2, got {self.num_steps!r}")
        cfgmod.check_choices(self)
        if not (self.cosine_s >= 0 and 0 < self.max_beta < 1):
            raise ConfigError(
                f"DiffusionConfig: need cosine_s >= 0 and 0 < max_beta < 1, got {self.cosine_s}, {self.max_beta}"
            )


@dataclass(frozen=True)
class SamplerSpec:
    """A sampler: "ddpm" (all N steps, ancestral) or "ddim" with `steps` steps and noise `eta`;
    `projections` > 0 asks for that many projections of the clean estimate (an x0 hook) at
    late steps (`projection_steps`)."""

    kind: Literal["ddpm", "ddim"]
    steps: int
    eta: float = 0.0
    projections: int = 0

    def __str__(self) -> str:
        base = "ddpm" if self.kind == "ddpm" else f"ddim:{self.steps}"
        return base + (f"+physics:{self.projections}" if self.projections else "")


def parse_sampler(text: str, num_steps: int = 1000) -> SamplerSpec:
    """ "ddpm", "ddim" (= "ddim:50") or "ddim:K" with 1 <= K <= num_steps, optionally followed by
    "+physics:P" (P projections, 1 <= P <= the sampler's steps); ConfigError otherwise."""
    head, plus, tail = str(text).strip().lower().partition("+")
    projections = 0
    if plus:
        name, _, count = tail.partition(":")
        if name != "physics":
            raise ConfigError(f"sampler {text!r}: after '+' only physics:P (P projections) is known")
        try:
            projections = int(count)
        except ValueError:
            projections = -1
    kind, _, count = head.partition(":")
    if kind == "ddpm" and not count:
        spec = SamplerSpec("ddpm", num_steps)
    elif kind == "ddim":
        try:
            steps = int(count) if count else 50
        except ValueError:
            steps = -1
        if not 1 <= steps <= num_steps:
            raise ConfigError(f"sampler {text!r}: DDIM steps must be an integer in [1, {num_steps}]")
        spec = SamplerSpec("ddim", steps)
    else:
        raise ConfigError(
            f"sampler {text!r}: valid: ddpm, ddim, ddim:K (K steps, e.g. ddim:50), each optionally "
            "+physics:P (e.g. ddim:50+physics:4)"
        )
    if plus and not 1 <= projections <= spec.steps:
        raise ConfigError(
            f"sampler {text!r}: physics projections must be an integer in [1, {spec.steps}] (the sampler's steps)"
        )
    return SamplerSpec(spec.kind, spec.steps, spec.eta, projections)


def projection_steps(steps: int, projections: int) -> frozenset[int]:
    """Which of a sampler's `steps` steps (0 = the first, noisiest) project the clean estimate.

    PhysDiff's finding (Yuan et al. 2023): projections in the last denoising steps, spread
    out, improve both physics and FID, while one projection of the finished sample improves
    only physics. Here the last one is the final step, so the output is as physical as a
    post-hoc correction, and the others come every `max(1, steps // 25)` steps before it
    (DDIM-50: every 2nd step; DDPM-1000: every 40th), so the model denoises each projected
    estimate again.
    """
    if not 1 <= projections <= steps:
        raise ConfigError(f"physics projections: must be in [1, {steps}] (the sampler's steps), got {projections}")
    space = max(1, steps // 25)
    if (projections - 1) * space > steps - 1:
        space = 1
    return frozenset(steps - 1 - i * space for i in range(projections))


def cosine_alphas_cumprod(num_steps: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """abar_t for t = 1..N `(N,)` float64: prod of (1 - beta_t), beta_t = min(1 - f(t)/f(t-1), max_beta)."""
    f = np.cos((np.arange(num_steps + 1) / num_steps + s) / (1 + s) * math.pi / 2) ** 2  # f(0..N)
    betas = np.minimum(1.0 - f[1:] / f[:-1], max_beta)
    return np.cumprod(1.0 - betas)


def total_loss(terms: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    """The training objective from its terms: `mse + sum_k w_k aux_k` over the auxiliary terms
    (every term but "mse" and "loss"; a term of weight 0 is left out)."""
    total = terms["mse"]
    for name, value in terms.items():
        if name not in ("mse", "loss") and weights.get(name):
            total = total + weights[name] * value
    return total


class GaussianDiffusion:
    """The diffusion process of one schedule: q(x_t | x_0), the loss, and the samplers."""

    def __init__(self, config: DiffusionConfig = DiffusionConfig()):
        self.config = config
        self.num_steps = config.num_steps
        abar = cosine_alphas_cumprod(config.num_steps, config.cosine_s, config.max_beta)
        abar_prev = np.concatenate([[1.0], abar[:-1]])
        self.alphas_cumprod = abar
        self.alphas_cumprod_prev = abar_prev
        self.betas = 1.0 - abar / abar_prev
        # q(x_{t-1} | x_t, x_0) = N(c1 x_0 + c2 x_t, var), Ho et al. eq. 7
        self.posterior_variance = self.betas * (1.0 - abar_prev) / (1.0 - abar)
        self.posterior_mean_coef1 = self.betas * np.sqrt(abar_prev) / (1.0 - abar)
        self.posterior_mean_coef2 = (1.0 - abar_prev) * np.sqrt(1.0 - self.betas) / (1.0 - abar)

    @staticmethod
    def _at(arr: np.ndarray, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """`arr[t]` `(B,)` shaped `(B, 1, ..., 1)` to broadcast against `like`, in its dtype and device."""
        out = torch.as_tensor(arr, dtype=torch.float64)[t.cpu()].to(device=like.device, dtype=like.dtype)
        return out.view(-1, *([1] * (like.ndim - 1)))

    # ------------------------------------------------------------------ forward process
    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Sample from q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I); shapes as `x0 (B, ...)`."""
        return (
            self._at(np.sqrt(self.alphas_cumprod), t, x0) * x0
            + self._at(np.sqrt(1.0 - self.alphas_cumprod), t, x0) * noise
        )

    def q_posterior(self, x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean `(B, ...)` and variance `(B, 1, ..)` of q(x_{t-1} | x_t, x_0); variance 0 at t = 0."""
        mean = self._at(self.posterior_mean_coef1, t, xt) * x0 + self._at(self.posterior_mean_coef2, t, xt) * xt
        return mean, self._at(self.posterior_variance, t, xt)

    # ------------------------------------------------------------------ network
    @staticmethod
    def predict_x0(
        net: Network, xt: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None, guidance: float = 1.0
    ) -> torch.Tensor:
        """x0_hat with classifier-free guidance: x0_u + w (x0_c - x0_u) (w = 1: conditional only).

        `labels=None` (an unconditional request) calls the network once, whatever `guidance`.
        """
        if labels is None or guidance == 1.0:
            return net(xt, t, labels)
        uncond = net(xt, t, None)
        cond = net(xt, t, labels)
        return uncond + guidance * (cond - uncond)

    # ------------------------------------------------------------------ training
    def training_losses(
        self,
        net: Network,
        x0: torch.Tensor,
        t: torch.Tensor,
        labels: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
        aux: AuxLoss | None = None,
        aux_weights: Mapping[str, float] | None = None,
    ) -> dict[str, torch.Tensor]:
        """The x0-prediction loss E ||x0 - net(x_t, t)||^2 plus weighted auxiliary terms.

        Args:
            x0: `(B, ...)` clean data; t: `(B,)` steps; labels: `(B,)` or None.
            noise: `(B, ...)` the eps of x_t = sqrt(abar) x0 + sqrt(1 - abar) eps (drawn if None).
            aux: `aux(x0_hat, x0) -> {name: scalar}`; each term enters the total with weight
                `aux_weights[name]` (terms with weight 0 are still reported).
        Returns:
            scalars: "mse", the aux terms by name, and "loss" = mse + sum_k w_k aux_k.
        """
        if noise is None:
            noise = torch.randn_like(x0)
        x0_hat = net(self.q_sample(x0, t, noise), t, labels)
        out = {"mse": torch.mean((x0_hat - x0) ** 2)}
        weights = dict(aux_weights or {})
        if aux is not None:
            for name, value in aux(x0_hat, x0).items():
                if name not in weights:
                    raise ConfigError(
                        f"auxiliary loss {name!r} has no weight; given: {', '.join(sorted(weights)) or 'none'}"
                    )
                out[name] = value
        out["loss"] = total_loss(out, weights)
        return out

    # ------------------------------------------------------------------ sampling
    def ddim_timesteps(self, steps: int) -> np.ndarray:
        """The `steps` steps a DDIM sampler visits, descending, from N-1 ("trailing" spacing).

        Starting at N-1 keeps the first step where x_N ~ N(0, I) holds; with steps = N this is
        N-1, ..., 0, the steps of DDPM.
        """
        if not 1 <= steps <= self.num_steps:
            raise ConfigError(f"DDIM steps must be in [1, {self.num_steps}], got {steps}")
        return np.round(np.arange(self.num_steps, 0, -self.num_steps / steps)).astype(np.int64) - 1

    def ddpm_sample(
        self,
        net: Network,
        shape: tuple[int, ...],
        labels=None,
        guidance: float = 1.0,
        generator: torch.Generator | None = None,
        device="cpu",
        progress: bool = False,
        x0_hook: X0Hook | None = None,
        hook_steps: frozenset[int] = frozenset(),
    ) -> torch.Tensor:
        """Ancestral sampling: x_N ~ N(0, I), x_{t-1} ~ q(x_{t-1} | x_t, x0_hat(x_t)) for all N steps.

        The variance is the posterior's ("fixed small"). Noise is drawn on the CPU from
        `generator`, one draw for x_N and one per step, so results do not depend on `device`.
        At the steps in `hook_steps` (0 = the first) the estimate x0_hat is replaced by
        `x0_hook(x0_hat, step)` before the posterior is taken. Returns x_0 `shape`.
        """
        x = _randn(shape, generator, device)
        for k, i in enumerate(tqdm(range(self.num_steps - 1, -1, -1), disable=not progress, desc="ddpm", leave=False)):
            t = torch.full((shape[0],), i, dtype=torch.long, device=device)
            x0_hat = self.predict_x0(net, x, t, labels, guidance)
            if x0_hook is not None and k in hook_steps:
                x0_hat = x0_hook(x0_hat, k)
            mean, var = self.q_posterior(x0_hat, x, t)
            x = mean + torch.sqrt(var) * _randn(shape, generator, device)
        return x

    def ddim_sample(
        self,
        net: Network,
        shape: tuple[int, ...],
        steps: int = 50,
        eta: float = 0.0,
        labels=None,
        guidance: float = 1.0,
        generator: torch.Generator | None = None,
        device="cpu",
        progress: bool = False,
        x0_hook: X0Hook | None = None,
        hook_steps: frozenset[int] = frozenset(),
    ) -> torch.Tensor:
        """DDIM (Song et al. eq. 12) over `ddim_timesteps(steps)`; eta = 0 is deterministic given x_N.

        x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat + sigma z, with
        eps_hat = (x_t - sqrt(abar_t) x0_hat) / sqrt(1 - abar_t) and
        sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev).
        With steps = N and eta = 1 this is exactly DDPM. Noise draws as in `ddpm_sample`
        (one for x_N, one per step even when sigma = 0). At the steps in `hook_steps` the
        estimate is replaced by `x0_hook(x0_hat, step)` and eps_hat follows from the replaced
        one, so the update stays on the DDIM path of the new estimate (at the final step the
        output is the replaced estimate itself). Returns x_0 `shape`.
        """
        ts = self.ddim_timesteps(steps)
        x = _randn(shape, generator, device)
        for k in tqdm(range(len(ts)), disable=not progress, desc=f"ddim:{steps}", leave=False):
            i = int(ts[k])
            abar = float(self.alphas_cumprod[i])
            abar_prev = float(self.alphas_cumprod[ts[k + 1]]) if k + 1 < len(ts) else 1.0
            t = torch.full((shape[0],), i, dtype=torch.long, device=device)
            x0_hat = self.predict_x0(net, x, t, labels, guidance)
            if x0_hook is not None and k in hook_steps:
                x0_hat = x0_hook(x0_hat, k)
            eps_hat = (x - math.sqrt(abar) * x0_hat) / math.sqrt(1.0 - abar)
            sigma = eta * math.sqrt((1.0 - abar_prev) / (1.0 - abar) * (1.0 - abar / abar_prev))
            z = _randn(shape, generator, device)
            x = math.sqrt(abar_prev) * x0_hat + math.sqrt(max(1.0 - abar_prev - sigma**2, 0.0)) * eps_hat + sigma * z
        return x

    def sample(
        self,
        net: Network,
        shape: tuple[int, ...],
        spec: SamplerSpec,
        labels=None,
        guidance: float = 1.0,
        generator: torch.Generator | None = None,
        device="cpu",
        progress: bool = False,
        x0_hook: X0Hook | None = None,
    ) -> torch.Tensor:
        """x_0 `shape` from the sampler `spec` (see `parse_sampler`); the network runs without
        gradients. With `spec.projections`, `x0_hook` projects the clean estimate at the
        `projection_steps` of the sampler (it is required then)."""
        hook_steps: frozenset[int] = frozenset()
        if spec.projections:
            if x0_hook is None:
                raise ConfigError(f"sampler {spec}: physics projections need an x0 hook (model.sample builds it)")
            hook_steps = projection_steps(spec.steps, spec.projections)
        with torch.inference_mode():
            if spec.kind == "ddpm":
                return self.ddpm_sample(net, shape, labels, guidance, generator, device, progress, x0_hook, hook_steps)
            return self.ddim_sample(
                net, shape, spec.steps, spec.eta, labels, guidance, generator, device, progress, x0_hook, hook_steps
            )


def _randn(shape: tuple[int, ...], generator: torch.Generator | None, device) -> torch.Tensor:
    return torch.randn(shape, generator=generator, dtype=torch.float32).to(device)
