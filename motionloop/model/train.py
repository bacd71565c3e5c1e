"""Training and fine-tuning of the denoiser, with resumable self-describing checkpoints.

`train` fits the normaliser on the real clips, builds the model from a preset and optimises
the x0 loss plus the auxiliary kinematic losses with AdamW (linear warm-up, cosine decay).
`fine_tune` continues a checkpoint on new clips (the self-consuming loop calls it every
generation): same model config, normaliser and label vocabulary, optimizer state carried
over, constant learning rate. The normaliser is never refitted on the new clips, so a
generation of synthetic data cannot move the feature scale under the model.

Determinism: every random draw comes from `seed` (batches, labels dropped, t, noise, dropout),
and the caller's global torch RNG is left untouched. A resumed `train` replays the batch
stream and restores the RNG states, so on CPU it ends bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from motionloop.data.augment import mirror
from motionloop.data.features import DEFAULT_FPS, FEATURE_DIM, motion_to_features
from motionloop.data.normalize import Normalizer
from motionloop.data.windows import WindowSampler, label_vocabulary, make_windows
from motionloop.errors import CheckpointError, ConfigError, MotionloopError, UnknownNameError
from motionloop.model.checkpoint import Checkpoint, data_fingerprint, load_checkpoint, save_checkpoint
from motionloop.model.config import TrainConfig
from motionloop.model.denoiser import NULL_LABEL, Denoiser, DenoiserConfig, preset
from motionloop.model.losses import KinematicLosses
from motionloop.motion import Motion

log = logging.getLogger(__name__)

LOG_EVERY = 100  # steps between log lines and loss-history entries


@dataclass(frozen=True)
class TrainResult:
    """What a `train` or `fine_tune` call did.

    Attributes:
        path: the checkpoint written.
        checkpoint: the trained checkpoint, in memory (model in eval mode).
        steps: optimisation steps taken by this call; final_loss: mean loss of its last
            (up to) 100 steps, NaN if it took none; seconds: wall time of the call.
    """

    path: Path
    checkpoint: Checkpoint
    steps: int
    final_loss: float
    seconds: float


def default_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """A torch device from "cpu", "cuda", "cuda:N" or "auto"/None (CUDA when present); a
    one-line ConfigError for anything else, or for CUDA where this PyTorch has none."""
    if isinstance(device, torch.device):
        return device
    if device is None or str(device).strip().lower() == "auto":
        return default_device()
    name = str(device).strip().lower()
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()) or (kind == "cpu" and index):
        raise ConfigError(f"device {device!r}: valid: cpu, cuda, cuda:N, auto")
    if kind == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, but no GPU is visible"
            raise ConfigError(
                f"device {device!r}: CUDA is not available here (PyTorch {torch.__version__}, {build}); "
                "use --device cpu"
            )
        if index and int(index) >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    return torch.device(name)


def _clips_at(clips: Sequence[Motion], fps: float) -> list[Motion]:
    if len(clips) == 0:
        raise ConfigError("training: no clips given")
    other = sum(1 for m in clips if abs(m.fps - fps) > 1e-9)
    if other:
        log.info("resampling %d of %d clips to %g fps", other, len(clips), fps)
    return [m.resample(fps) for m in clips]


def _windows(clips: list[Motion], config: TrainConfig) -> list[Motion]:
    windows = make_windows(clips, config.window, config.stride)
    if not windows:
        longest = max(m.num_frames for m in clips)
        raise ConfigError(f"training: no clip has the {config.window} frames of a window (longest: {longest})")
    return windows


def train(
    clips: Sequence[Motion],
    out: str | Path,
    steps: int,
    model: str | DenoiserConfig = "cpu-small",
    config: TrainConfig | None = None,
    seed: int = 0,
    resume: bool = False,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a denoiser on `clips` until it has taken `steps` steps in total; checkpoint at `out`.

    Args:
        clips: real clips (any fps: resampled to 20 fps); labels become the vocabulary.
        out: checkpoint path, written every `config.checkpoint_every` steps and at the end.
        steps: total optimisation steps (a resumed run continues up to this number).
        model: a preset name ("cpu-small", "mdm") or a DenoiserConfig (num_labels is set here).
        config: training settings (default `TrainConfig()`).
        resume: continue from `out` if it exists; CheckpointError if its model or training
            config, or the data, differ from this call's.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"train: steps must be an integer >= 1, got {steps!r}")
    config = TrainConfig() if config is None else config
    clips = _clips_at(clips, DEFAULT_FPS)
    windows = _windows(clips, config)
    vocab = label_vocabulary(windows)
    if isinstance(model, str):
        model_config = preset(model, FEATURE_DIM, num_labels=len(vocab))
    elif model.feature_dim != FEATURE_DIM:
        raise ConfigError(f"train: the model takes {model.feature_dim} features per frame, the data has {FEATURE_DIM}")
    else:
        model_config = dataclasses.replace(model, num_labels=len(vocab))
    fingerprint = data_fingerprint(clips)
    out = Path(out)
    rng_state = None
    if resume and out.exists():
        ckpt = load_checkpoint(out)
        _check_resume(ckpt, out, model_config, config, fingerprint)
        rng_state = ckpt.rng_state
        log.info("resuming %s at step %d of %d", out, ckpt.step, steps)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = Denoiser(model_config)
        feats = [motion_to_features(m) for m in clips] + [motion_to_features(mirror(m)) for m in clips]
        counts = [sum(w.label == name for w in windows) for name in vocab]
        ckpt = Checkpoint(
            model=net,
            normalizer=Normalizer.fit(feats),
            config=config,
            labels=vocab,
            label_counts=tuple(counts),
            fps=DEFAULT_FPS,
            data_hash=fingerprint,
        )
        log.info(
            "training %s (%d parameters) on %d windows of %d clips, labels: %s",
            model_config,
            net.num_parameters(),
            len(windows),
            len(clips),
            ", ".join(vocab) or "none",
        )
    sampler = WindowSampler(
        windows, config.batch_size, seed=seed, labels=ckpt.labels, normalizer=ckpt.normalizer, p_mirror=config.p_mirror
    )
    for _ in range(ckpt.step):  # replay: a resumed run sees the batches an uninterrupted one would
        sampler.next_batch()

    def lr_at(step: int) -> float:
        if step < config.warmup_steps:
            return config.lr * (step + 1) / config.warmup_steps
        progress_ = (step - config.warmup_steps) / max(steps - config.warmup_steps, 1)
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(progress_, 1.0)))
        return config.lr * (config.min_lr_ratio + (1.0 - config.min_lr_ratio) * cosine)

    return _optimize(ckpt, sampler, steps, lr_at, out, seed, rng_state, device, progress)


def _check_resume(
    ckpt: Checkpoint, path: Path, model_config: DenoiserConfig, config: TrainConfig, fingerprint: str
) -> None:
    diffs = [
        f"{name}: checkpoint {a} != requested {b}"
        for name, a, b in (("model", ckpt.model.config, model_config), ("config", ckpt.config, config))
        if a != b
    ]
    if ckpt.data_hash != fingerprint:
        diffs.append("data: the clips differ from the ones the checkpoint was trained on")
    if diffs:
        raise CheckpointError(f"{path}: cannot resume: " + "; ".join(diffs))


def fine_tune(
    checkpoint: str | Path | Checkpoint,
    clips: Sequence[Motion],
    steps: int,
    out: str | Path,
    seed: int = 0,
    lr: float | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> TrainResult:
    """Continue training `checkpoint` on `clips` for `steps` steps; write the result to `out`.

    Keeps the model config, normaliser, label vocabulary and training config; carries the
    optimizer state over; the learning rate is constant, `lr` or `config.finetune_lr`.
    A Checkpoint object passed in is not modified. Clips are resampled to the checkpoint's
    fps; a label outside its vocabulary raises UnknownNameError (unlabelled clips, and clips
    too short for a window, which are skipped, are fine).
    """
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"fine_tune: steps must be an integer >= 1, got {steps!r}")
    if lr is not None and not lr > 0:
        raise ConfigError(f"fine_tune: lr must be > 0, got {lr}")
    if isinstance(checkpoint, Checkpoint):
        ckpt = copy.copy(checkpoint)
        ckpt.model = copy.deepcopy(checkpoint.model)
        # AdamW updates its loaded moment tensors in place: they must not be the caller's
        ckpt.optimizer_state = copy.deepcopy(checkpoint.optimizer_state)
        ckpt.history = list(checkpoint.history)
    else:
        ckpt = load_checkpoint(checkpoint)
    clips = _clips_at(clips, ckpt.fps)
    windows = _windows(clips, ckpt.config)
    # only the windows are trained on: a clip too short for one (skipped, with a warning) may
    # carry a label the checkpoint never saw, as the bundled kicks do for the shipped model
    for w in windows:
        if w.label is not None and w.label not in ckpt.labels:
            raise UnknownNameError("label", w.label, ckpt.labels)
    sampler = WindowSampler(
        windows,
        ckpt.config.batch_size,
        seed=seed,
        labels=ckpt.labels,
        normalizer=ckpt.normalizer,
        p_mirror=ckpt.config.p_mirror,
    )
    ckpt.data_hash = data_fingerprint(clips)
    rate = ckpt.config.finetune_lr if lr is None else float(lr)
    return _optimize(ckpt, sampler, ckpt.step + steps, lambda step: rate, Path(out), seed, None, device, progress)


def _optimize(
    ckpt: Checkpoint,
    sampler: WindowSampler,
    stop: int,
    lr_at,
    out: Path,
    seed: int,
    rng_state: dict | None,
    device,
    progress: bool,
) -> TrainResult:
    """Optimise `ckpt.model` from `ckpt.step` to step `stop`, checkpointing to `out`. Mutates `ckpt`."""
    device = resolve_device(device)
    config, start, t0 = ckpt.config, ckpt.step, time.perf_counter()
    diffusion = ckpt.diffusion
    model = ckpt.model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr_at(start), weight_decay=config.weight_decay)
    if ckpt.optimizer_state is not None:
        opt.load_state_dict(ckpt.optimizer_state)
    weights = config.aux_weights
    aux = KinematicLosses(ckpt.normalizer, ckpt.fps) if any(weights.values()) else None
    recent: deque[float] = deque(maxlen=100)
    gen = torch.Generator()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        if rng_state is not None:
            gen.set_state(rng_state["generator"])
            torch.set_rng_state(rng_state["torch"])
        else:
            gen.manual_seed(seed)
            torch.manual_seed(seed)
        bar = tqdm(range(start, stop), disable=not progress, desc="train", unit="step")
        for step in bar:
            batch = sampler.next_batch()
            x0 = torch.from_numpy(batch.features).to(device)  # (B, T, D) normalised
            B = x0.shape[0]
            drop = torch.rand(B, generator=gen) < config.p_uncond
            labels = torch.where(drop, NULL_LABEL, torch.from_numpy(batch.labels)).to(device) if ckpt.labels else None
            t = torch.randint(0, diffusion.num_steps, (B,), generator=gen).to(device)
            noise = torch.randn(x0.shape, generator=gen).to(device)
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            terms = diffusion.training_losses(model, x0, t, labels, noise, aux, weights)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            loss = terms["loss"].item()
            if not math.isfinite(loss):
                raise MotionloopError(f"training diverged at step {step + 1} (loss {loss}); lower the learning rate")
            recent.append(loss)
            done = step + 1
            bar.set_postfix(loss=f"{np.mean(recent):.4f}", refresh=False)  # redrawn at tqdm's own pace
            if done % LOG_EVERY == 0 or done == stop:
                ckpt.history.append((done, float(np.mean(recent))))
                # with the progress bar off (the loop's fine-tunes) the loss lines are debug detail
                log.log(
                    logging.INFO if progress else logging.DEBUG,
                    "step %d: loss %.4f (%s)",
                    done,
                    np.mean(recent),
                    ", ".join(f"{k} {v.item():.4g}" for k, v in terms.items() if k != "loss"),
                )
            if done % config.checkpoint_every == 0 or done == stop:
                ckpt.step = done
                ckpt.optimizer_state = opt.state_dict()
                ckpt.rng_state = {"generator": gen.get_state(), "torch": torch.get_rng_state()}
                save_checkpoint(ckpt, out)
    model.eval()
    final = float(np.mean(recent)) if recent else float("nan")
    return TrainResult(
        path=out, checkpoint=ckpt, steps=stop - start, final_loss=final, seconds=time.perf_counter() - t0
    )
