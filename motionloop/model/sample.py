"""Sampling a checkpoint to Motions of a requested count, length and label.

Length: the model generates whole training windows (`checkpoint.window` frames) and a
shorter request keeps the first frames, so every clip comes from the distribution the
model was trained on. Longer requests are refused (ConfigError naming the longest
length): a transformer trained on fixed windows does not extrapolate in time reliably.

Labels: one label for all clips, one per clip, or None. None draws each clip's label
from the training label frequencies (`checkpoint.label_counts`, seeded), so a sampled set
has the real data's label mix; an unconditional model takes no label. `guidance` is the
classifier-free guidance scale w: x0 = x0_uncond + w (x0_cond - x0_uncond); w = 1 (the
default: one network call per step) is the plain conditional model, w = 0 the unconditional
one (clips then carry no label). On the shipped base model, w = 1 / 1.5 / 2.5 gave FID 62 /
64 / 69 and evaluator accuracy 0.85 / 0.90 / 0.96 (DDIM-50, 256 clips, one seed).

Physics inside the sampler (PhysDiff, Yuan et al. 2023): a sampler "ddim:50+physics:P" (or
`physics_steps=P`) decodes the model's clean estimate to clips at P late steps
(diffusion.projection_steps), corrects them with the physics corrector (`physics`, a
physics.correct.CorrectionConfig; its `workers` spreads the clips over processes), and
continues denoising from the corrected estimate. The final step is one of them, so the
output is physically tracked, as after a post-hoc correction.

Output clips are canonical (pelvis at xy = 0, heading 0 at frame 0), at the checkpoint's
fps, with source "generated". Write a clip set with `motion.save_clips`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from motionloop import rotations as rot
from motionloop.data.features import SLICES, features_to_motion
from motionloop.device import resolve_device
from motionloop.errors import ConfigError, UnknownNameError
from motionloop.model.checkpoint import Checkpoint, load_checkpoint
from motionloop.model.diffusion import parse_sampler
from motionloop.motion import Motion

DEFAULT_SAMPLER = "ddim:50"
DEFAULT_GUIDANCE = 1.0  # best FID on the bundled set (1.5-2.5 raise label accuracy, and FID)


def _num_frames(seconds: float | None, ckpt: Checkpoint) -> int:
    if seconds is None:
        return ckpt.window
    try:
        frames = round(float(seconds) * ckpt.fps)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"sample: seconds must be a number, got {seconds!r}") from None
    longest = ckpt.window / ckpt.fps
    if not 1 <= frames <= ckpt.window:
        raise ConfigError(
            f"sample: seconds={seconds} is {frames} frames at {ckpt.fps:g} fps; this model makes 1 to "
            f"{ckpt.window} frames (at most {longest:g} s, its training window)"
        )
    return frames


def _labels(label: str | Sequence[str] | None, n: int, ckpt: Checkpoint, seed: int) -> list[str | None]:
    if not ckpt.labels:
        if label is not None:
            raise ConfigError(f"sample: label {label!r} given, but this model was trained without labels")
        return [None] * n
    if label is None:
        p = np.asarray(ckpt.label_counts, dtype=np.float64)
        p = p / p.sum() if p.sum() > 0 else np.full(len(p), 1.0 / len(p))
        rng = np.random.default_rng(seed)
        return [ckpt.labels[i] for i in rng.choice(len(ckpt.labels), size=n, p=p)]
    names = [label] * n if isinstance(label, str) else list(label)
    if len(names) != n:
        raise ConfigError(f"sample: {len(names)} labels given for n={n} clips")
    for name in names:
        if name not in ckpt.labels:
            raise UnknownNameError("label", name, ckpt.labels)
    return names


def sample(
    checkpoint: str | Path | Checkpoint,
    n: int,
    label: str | Sequence[str] | None = None,
    seconds: float | None = None,
    sampler: str = DEFAULT_SAMPLER,
    guidance: float = DEFAULT_GUIDANCE,
    seed: int = 0,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = False,
    physics_steps: int = 0,
    physics=None,
) -> list[Motion]:
    """Generate `n` clips (see the module docstring for lengths, labels and guidance).

    Args:
        checkpoint: a checkpoint path or a loaded Checkpoint.
        n: number of clips (>= 1).
        seconds: clip length; `round(seconds * fps)` frames, at most the training window.
            None = the whole window.
        sampler: "ddim:K" (K steps, default 50) or "ddpm" (all diffusion steps).
        seed: the clips are a function of (checkpoint, arguments, seed); clips are generated
            `batch_size` at a time from one noise stream, so they also depend on `batch_size`.
        physics_steps: physics projections inside the sampler (module docstring); the same as
            a "+physics:P" suffix of `sampler`. 0 = none.
        physics: the corrector's settings for those projections (physics.correct's
            CorrectionConfig; None = its defaults).
    Returns:
        `n` Motions of `round(seconds * fps)` frames.
    Raises:
        ConfigError: n < 1, a bad length, sampler or guidance; UnknownNameError: a label
            outside the vocabulary (the message lists the valid ones); CheckpointError.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"sample: n must be an integer >= 1, got {n!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"sample: batch_size must be an integer >= 1, got {batch_size!r}")
    if not (isinstance(guidance, (int, float)) and math.isfinite(guidance) and guidance >= 0):
        raise ConfigError(f"sample: guidance must be a finite number >= 0, got {guidance!r}")
    if isinstance(checkpoint, Checkpoint):
        ckpt = checkpoint
        device = resolve_device(device) if device is not None else next(ckpt.model.parameters()).device
    else:
        device = resolve_device(device)
        ckpt = load_checkpoint(checkpoint, device)
    frames = _num_frames(seconds, ckpt)
    diffusion = ckpt.diffusion
    spec = parse_sampler(sampler, diffusion.num_steps)
    if isinstance(physics_steps, bool) or not isinstance(physics_steps, (int, np.integer)) or physics_steps < 0:
        raise ConfigError(f"sample: physics_steps must be an integer >= 0, got {physics_steps!r}")
    if physics_steps:
        if spec.projections and spec.projections != physics_steps:
            raise ConfigError(
                f"sample: --physics-steps {physics_steps} and sampler {sampler!r} ask for different "
                "projections; give one"
            )
        if not 1 <= physics_steps <= spec.steps:
            raise ConfigError(
                f"sample: --physics-steps {physics_steps} is more than the sampler's {spec.steps} steps "
                f"({spec}); give 1 to {spec.steps}"
            )
        spec = dataclasses.replace(spec, projections=int(physics_steps))
    names = _labels(label, int(n), ckpt, seed)
    model = ckpt.model.to(device).eval()
    gen = torch.Generator().manual_seed(seed)
    out: list[Motion] = []
    for start in range(0, int(n), batch_size):
        batch = names[start : start + batch_size]
        idx = torch.tensor([ckpt.labels.index(s) for s in batch], device=device) if ckpt.labels else None
        hook = _physics_hook(ckpt, batch, physics) if spec.projections else None
        x = diffusion.sample(
            model,
            (len(batch), ckpt.window, ckpt.model.config.feature_dim),
            spec,
            idx,
            float(guidance),
            gen,
            device,
            progress,
            x0_hook=hook,
        )
        feats = ckpt.normalizer.denormalize(x.cpu().numpy())  # (b, window, D) feature units
        for f, name in zip(feats, batch):
            # the predicted root tilt may carry a little heading of its own: start at minus it
            start_yaw = -float(rot.yaw_of(rot.sixd_to_mat(f[0, SLICES["root_tilt"]])))
            label_out = name if guidance > 0 else None
            out.append(features_to_motion(f[:frames], ckpt.fps, label_out, "generated", start_yaw=start_yaw))
    return out


def _physics_hook(ckpt: Checkpoint, labels: Sequence[str | None], physics):
    """The x0 hook of physics-guided sampling: the clean estimate `(B, window, D)` (normalised
    features) decoded to clips, physics-corrected, and encoded back."""
    from motionloop.data.features import motion_to_features
    from motionloop.physics.correct import MIN_FRAMES, CorrectionConfig, correct

    config = physics if physics is not None else CorrectionConfig()
    if ckpt.window < MIN_FRAMES:
        raise ConfigError(
            f"sample: physics projections need clips of at least {MIN_FRAMES} frames; this model makes {ckpt.window}"
        )

    def hook(x0: torch.Tensor, step: int) -> torch.Tensor:
        feats = ckpt.normalizer.denormalize(x0.detach().cpu().numpy())  # (B, window, D) feature units
        clips = [features_to_motion(f, ckpt.fps, name, "generated") for f, name in zip(feats, labels)]
        fixed, _ = correct(clips, config, names=[f"x0_{i:04d}" for i in range(len(clips))])
        out = np.stack([motion_to_features(m) for m in fixed])  # (B, window, D)
        # frame 0 carries no velocity: keep the estimate's own, as the decoder ignores it
        for name in ("root_vel", "yaw_rate"):
            out[:, 0, SLICES[name]] = feats[:, 0, SLICES[name]]
        return torch.as_tensor(ckpt.normalizer.normalize(out), dtype=x0.dtype, device=x0.device)

    return hook
