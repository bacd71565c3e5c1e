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

Distributed data parallel (`torchrun --nproc-per-node N -m motionloop train ...`, or any caller
that set the torch.distributed env vars with WORLD_SIZE > 1 or initialised a process group):
`train` and `fine_tune` join the process group (gloo on the CPU, NCCL on CUDA, each rank on
cuda:LOCAL_RANK), wrap the denoiser in DistributedDataParallel and split every global batch
of `config.batch_size` windows among the ranks:
- every rank draws the same global batch from the same seeded streams (windows, mirroring,
  dropped labels, t, noise) and trains on its contiguous slice (sizes differ by at most one);
- each rank's loss is its share of the global-batch loss: the per-window mean terms (x0
  MSE, joint_pos, joint_vel) weighted by slice size / B, the foot-contact term (a mean over
  the planted frames) by the planted frames of the slice / those of the batch; times the
  world size, so DDP's gradient average is the gradient of the one-process loss. Clipping
  and AdamW then see the same gradient on every rank and in a one-process run, and the loss
  curve matches a one-process run with the same batch size and seed up to float rounding
  (measured: within 2e-7 relative per step on the tiny test model over 12 steps, weights
  within 5e-6; cpu-small at batch 64 on the bundled data: the same mean loss to 6 decimals
  after 80 steps). Dropout masks are not shared: rank r > 0 draws its own from a seed
  derived from (seed, r), so a model with dropout matches in distribution only.
- the logged loss and history are the global-batch values (all-reduced each step);
- rank 0 alone writes checkpoints and logs; the others wait at a barrier. A checkpoint holds
  every rank's RNG state, so a resume with the same number of ranks continues bit-identically
  to an uninterrupted run; with another number it continues from rank 0's state.
`config.batch_size` stays the global batch: N ranks share the network's and the losses' work
(drawing the global batch is repeated on every rank: a few ms a step at batch 64).
"""

from __future__ import annotations

import atexit
import copy
import dataclasses
import inspect
import logging
import math
import os
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from motionloop.data.augment import mirror
from motionloop.data.features import DEFAULT_FPS, FEATURE_DIM, SLICES, motion_to_features
from motionloop.data.normalize import Normalizer
from motionloop.data.windows import WindowSampler, label_vocabulary, make_windows
from motionloop.device import resolve_device
from motionloop.errors import CheckpointError, ConfigError, MotionloopError, UnknownNameError
from motionloop.model.checkpoint import Checkpoint, data_fingerprint, load_checkpoint, save_checkpoint
from motionloop.model.config import TrainConfig
from motionloop.model.denoiser import NULL_LABEL, Denoiser, DenoiserConfig, preset
from motionloop.model.diffusion import total_loss
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
    bf16: bool = False,
) -> TrainResult:
    """Train a denoiser on `clips` until it has taken `steps` steps in total; checkpoint at `out`.

    Args:
        clips: real clips (any fps: resampled to 20 fps); labels become the vocabulary.
        out: checkpoint path, written every `config.checkpoint_every` steps and at the end.
        steps: total optimisation steps (a resumed run continues up to this number).
        model: a preset name ("cpu-small", "mdm") or a DenoiserConfig (num_labels is set here).
        config: training settings (default `TrainConfig()`); `batch_size` is the global batch
            of a distributed run (module docstring).
        resume: continue from `out` if it exists; CheckpointError if its model or training
            config, or the data, differ from this call's.
        device: "cpu", "cuda", "cuda:N" or "auto"/None (CUDA when present); checked first
            (`motionloop.device.resolve_device`). In a distributed run "cuda" is cuda:LOCAL_RANK.
        bf16: run the denoiser's forward pass under `torch.autocast(dtype=torch.bfloat16)`
            (see `_bf16_forward`); the weights, optimizer and losses stay float32.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"train: steps must be an integer >= 1, got {steps!r}")
    device = resolve_device(device)
    _check_bf16(bf16, device)
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
        log.log(
            logging.INFO if is_main_process() else logging.DEBUG, "resuming %s at step %d of %d", out, ckpt.step, steps
        )
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
        log.log(
            logging.INFO if is_main_process() else logging.DEBUG,
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

    return _optimize(ckpt, sampler, steps, lr_at, out, seed, rng_state, device, progress, bf16)


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
    bf16: bool = False,
) -> TrainResult:
    """Continue training `checkpoint` on `clips` for `steps` steps; write the result to `out`.

    Keeps the model config, normaliser, label vocabulary and training config; carries the
    optimizer state over; the learning rate is constant, `lr` or `config.finetune_lr`.
    A Checkpoint object passed in is not modified. Clips are resampled to the checkpoint's
    fps; a label outside its vocabulary raises UnknownNameError (unlabelled clips, and clips
    too short for a window, which are skipped, are fine). `device` and `bf16` as in `train`;
    distributed runs as in the module docstring.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"fine_tune: steps must be an integer >= 1, got {steps!r}")
    if lr is not None and not lr > 0:
        raise ConfigError(f"fine_tune: lr must be > 0, got {lr}")
    device = resolve_device(device)
    _check_bf16(bf16, device)
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
    return _optimize(ckpt, sampler, ckpt.step + steps, lambda step: rate, Path(out), seed, None, device, progress, bf16)


def _check_bf16(bf16: bool, device: torch.device) -> None:
    if not isinstance(bf16, bool):
        raise ConfigError(f"bf16: must be True or False, got {bf16!r}")
    if bf16 and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"bf16: {torch.cuda.get_device_name(device)} has no bfloat16 support; train without --bf16")


def _bf16_forward(net, device_type: str):
    """`net` run under `torch.autocast(device_type, dtype=torch.bfloat16)`, its output cast back to float32.

    Only the network runs in bfloat16 (autocast puts its linear layers and attention in bf16);
    the diffusion target, the MSE and the forward-kinematics losses stay float32: FK multiplies
    rotations down each limb's chain, and bf16's 8-bit mantissa (~3 significant digits) would
    add centimetre errors to joint_pos and to the foot-speed term. The weights, gradients and
    AdamW stay float32 (autocast, not a bf16 model), so no loss scaling is needed.

    Allowed on the CPU as well as on CUDA, rather than refused: CPU autocast supports bf16, so
    the flag means the same everywhere and the CPU tests run the code path a GPU runs. It is
    not a CPU speed-up for these models, though: on this 2-core Xeon (AVX512-BF16 and AMX) the
    cpu-small network's forward + backward at batch 64 took 142 ms in bf16 against 110 ms in
    float32 on 1 thread (111 against 64 ms on 2): at width 128 the casts cost more than the
    small matmuls save. It is meant for GPUs with bf16 (A100 and later) and the `mdm` preset.
    """

    def forward(*args):
        with torch.autocast(device_type, dtype=torch.bfloat16):
            out = net(*args)
        return out.float()

    return forward


# ------------------------------------------------------------------ distributed data parallel
@dataclass(frozen=True)
class _Ranks:
    """This process's place in a data-parallel run; world 1 = a plain single process."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def shard(self, n: int) -> slice:
        """This rank's contiguous part of `n` items: sizes differ by at most one (the first
        `n % world` ranks take one more), as `torch.tensor_split`."""
        base, extra = divmod(n, self.world)
        lo = self.rank * base + min(self.rank, extra)
        return slice(lo, lo + base + (self.rank < extra))


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        raise ConfigError(f"distributed training: environment variable {name}={value!r} is not an integer") from None


def is_main_process() -> bool:
    """Whether this process is rank 0 of a distributed run, or not in one: the process that
    logs and writes. Reads the process group if one is up, else torchrun's RANK variable."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return _env_int("RANK", 0) == 0


def _rank_cuda(device: torch.device) -> torch.device:
    """A rank's GPU: `device` if it names one, else cuda:LOCAL_RANK (modulo the visible GPUs)."""
    if device.index is not None:
        return device
    return torch.device("cuda", _env_int("LOCAL_RANK", 0) % torch.cuda.device_count())


def _data_parallel(device: torch.device) -> tuple[_Ranks, torch.device]:
    """This rank and its device; joins the torch.distributed process group of a distributed run.

    A process group already up (the caller's, or one a previous call started) is used as it
    is. Otherwise, with WORLD_SIZE > 1 in the environment (torchrun sets it, with RANK,
    LOCAL_RANK, MASTER_ADDR and MASTER_PORT), one is initialised from the environment, gloo on
    the CPU and NCCL on CUDA, and stays up for the later calls of the process (the loop's
    fine-tunes) until it exits: destroying the default group and initialising it again in the
    same torchrun worker hung in testing (torch 2.13, gloo). Anything else is a single process
    (world 1).
    """
    if not (dist.is_available() and dist.is_initialized()):
        world = _env_int("WORLD_SIZE", 1)
        if world <= 1:
            return _Ranks(), device
        if not dist.is_available():
            raise ConfigError(f"distributed training: WORLD_SIZE={world}, but this PyTorch has no torch.distributed")
        missing = [name for name in ("RANK", "MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name)]
        if missing:
            raise ConfigError(
                f"distributed training: WORLD_SIZE={world} but {', '.join(missing)} not set; "
                "launch with torchrun --nproc-per-node N -m motionloop train ..."
            )
        if device.type == "cuda":
            device = _rank_cuda(device)
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        try:
            dist.init_process_group(backend=backend)
        except (RuntimeError, ValueError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise MotionloopError(f"distributed training: cannot join the {backend} process group ({first})") from None
        atexit.register(_leave_process_group)
    elif device.type == "cuda":
        device = _rank_cuda(device)
        torch.cuda.set_device(device)
    return _Ranks(dist.get_rank(), dist.get_world_size()), device


def _leave_process_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def _loss_shares(features: np.ndarray, part: slice, normalizer: Normalizer, names: Sequence[str]) -> dict[str, float]:
    """The weight of a rank's slice `part` in each loss term of the global batch `features (B, T, D)`.

    A term that is a mean over equal-sized per-window blocks (the x0 MSE, joint_pos, joint_vel)
    weighs slice size / B. foot_contact is a mean over the frames where the target's foot is
    planted (losses.KinematicLosses: target contact feature > 0.5 on frames 1..T-1), so it
    weighs the planted frames of the slice / those of the batch (0 if the batch has none: the
    term is then 0 on every rank). sum_r share_r * term_r is then the term of the whole batch.
    """
    B = len(features)
    frac = (part.stop - part.start) / B
    shares = {name: frac for name in names}
    if "foot_contact" in shares:
        planted = (normalizer.denormalize(features[:, 1:])[..., SLICES["contacts"]] > 0.5).sum(axis=(1, 2))  # (B,)
        total = int(planted.sum())
        shares["foot_contact"] = int(planted[part].sum()) / total if total else 0.0
    return shares


def _rank_loss(
    terms: dict[str, torch.Tensor], weights: dict[str, float], shares: dict[str, float]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """A rank's part of the global-batch loss, and of each term: `share_k * term_k`, combined as
    `GaussianDiffusion.training_losses` combines the terms (`diffusion.total_loss`)."""
    parts = {name: shares[name] * value for name, value in terms.items() if name != "loss"}
    return total_loss(parts, weights), parts


def _rank_seed(seed: int, rank: int, step: int) -> int:
    """Seed of rank `rank`'s own torch RNG (dropout) from `step` on; rank 0 keeps `seed` itself."""
    return int(np.random.SeedSequence([seed & (2**64 - 1), rank, step]).generate_state(1)[0])


def _seed_rngs(gen: torch.Generator, rng_state: dict | None, seed: int, ranks: _Ranks, start: int) -> None:
    """Seed (or restore) the batch generator `gen`, shared by all ranks, and this rank's torch RNG."""
    if rng_state is None:
        gen.manual_seed(seed)
        torch.manual_seed(seed if ranks.main else _rank_seed(seed, ranks.rank, start))
        return
    gen.set_state(rng_state["generator"])
    per_rank = rng_state.get("torch_ranks")
    if per_rank is not None and len(per_rank) == ranks.world:
        torch.set_rng_state(per_rank[ranks.rank])
    elif ranks.main:
        torch.set_rng_state(rng_state["torch"])
    else:  # resumed with another number of ranks: rank 0 continues, the others reseed
        torch.manual_seed(_rank_seed(seed, ranks.rank, start))


def _rng_state(gen: torch.Generator, ranks: _Ranks) -> dict:
    """The RNG states a checkpoint keeps; with several ranks also every rank's torch RNG (a collective)."""
    state = {"generator": gen.get_state(), "torch": torch.get_rng_state()}
    if ranks.world > 1:
        per_rank: list = [None] * ranks.world
        dist.all_gather_object(per_rank, state["torch"])
        state["torch_ranks"] = per_rank
    return state


# the denoiser's only buffer (the position encoding) is a constant: no per-step broadcast of it
# (torch 2.13 renamed DDP's broadcast_buffers to forward_sync_buffers)
_NO_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
    else {"broadcast_buffers": False}
)


# ------------------------------------------------------------------ the optimisation loop
def _optimize(
    ckpt: Checkpoint,
    sampler: WindowSampler,
    stop: int,
    lr_at,
    out: Path,
    seed: int,
    rng_state: dict | None,
    device: torch.device,
    progress: bool,
    bf16: bool = False,
) -> TrainResult:
    """Optimise `ckpt.model` from `ckpt.step` to step `stop`, checkpointing to `out`. Mutates `ckpt`.

    In a distributed run (module docstring) every rank calls it with the same arguments."""
    ranks, device = _data_parallel(device)
    if sampler.batch_size < ranks.world:
        raise ConfigError(
            f"distributed training: a batch of {sampler.batch_size} windows cannot be split among "
            f"{ranks.world} ranks; use batch_size >= {ranks.world}"
        )
    return _steps(ckpt, sampler, stop, lr_at, out, seed, rng_state, device, progress, bf16, ranks)


def _steps(ckpt, sampler, stop, lr_at, out, seed, rng_state, device, progress, bf16, ranks: _Ranks) -> TrainResult:
    config, start, t0 = ckpt.config, ckpt.step, time.perf_counter()
    diffusion = ckpt.diffusion
    model = ckpt.model.to(device).train()
    net = model
    if ranks.world > 1:
        net = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None, **_NO_BUFFER_SYNC)
    forward = _bf16_forward(net, device.type) if bf16 else net
    opt = torch.optim.AdamW(model.parameters(), lr=lr_at(start), weight_decay=config.weight_decay)
    if ckpt.optimizer_state is not None:
        opt.load_state_dict(ckpt.optimizer_state)
    weights = config.aux_weights
    aux = KinematicLosses(ckpt.normalizer, ckpt.fps) if any(weights.values()) else None
    recent: deque[float] = deque(maxlen=100)
    progress = progress and ranks.main
    level = logging.INFO if progress else logging.DEBUG  # without the bar (the loop's fine-tunes): debug detail
    gen = torch.Generator()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        _seed_rngs(gen, rng_state, seed, ranks, start)
        bar = tqdm(range(start, stop), disable=not progress, desc="train", unit="step")
        for step in bar:
            # the global batch: the same draws on every rank; each trains on its slice `part`
            batch = sampler.next_batch()
            x0 = torch.from_numpy(batch.features)  # (B, T, D) normalised
            B = x0.shape[0]
            drop = torch.rand(B, generator=gen) < config.p_uncond
            labels = torch.where(drop, NULL_LABEL, torch.from_numpy(batch.labels)) if ckpt.labels else None
            t = torch.randint(0, diffusion.num_steps, (B,), generator=gen)
            noise = torch.randn(x0.shape, generator=gen)
            part = ranks.shard(B)
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            terms = diffusion.training_losses(
                forward,
                x0[part].to(device),
                t[part].to(device),
                None if labels is None else labels[part].to(device),
                noise[part].to(device),
                aux,
                weights,
            )
            objective = terms["loss"]
            if ranks.world > 1:
                shares = _loss_shares(batch.features, part, ckpt.normalizer, [k for k in terms if k != "loss"])
                objective, parts = _rank_loss(terms, weights, shares)
                terms = {**parts, "loss": objective}
            opt.zero_grad(set_to_none=True)
            # DDP averages the ranks' gradients: world * (share of the loss) makes it their sum
            (objective * ranks.world if ranks.world > 1 else objective).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            if ranks.world > 1:  # the global-batch loss and terms, on every rank
                names = list(terms)
                packed = torch.stack([terms[k].detach().float() for k in names])
                dist.all_reduce(packed)
                terms = dict(zip(names, packed.cpu()))
            loss = terms["loss"].item()
            if not math.isfinite(loss):
                raise MotionloopError(f"training diverged at step {step + 1} (loss {loss}); lower the learning rate")
            recent.append(loss)
            done = step + 1
            bar.set_postfix(loss=f"{np.mean(recent):.4f}", refresh=False)  # redrawn at tqdm's own pace
            if done % LOG_EVERY == 0 or done == stop:
                ckpt.history.append((done, float(np.mean(recent))))
                log.log(
                    level,
                    "step %d: loss %.4f (%s)",
                    done,
                    np.mean(recent),
                    ", ".join(f"{k} {v.item():.4g}" for k, v in terms.items() if k != "loss"),
                )
            if done % config.checkpoint_every == 0 or done == stop:
                ckpt.step = done
                ckpt.optimizer_state = opt.state_dict()
                ckpt.rng_state = _rng_state(gen, ranks)
                if ranks.main:
                    save_checkpoint(ckpt, out)
                if ranks.world > 1:
                    dist.barrier()  # the others wait for rank 0's write
    model.eval()
    final = float(np.mean(recent)) if recent else float("nan")
    return TrainResult(
        path=out, checkpoint=ckpt, steps=stop - start, final_loss=final, seconds=time.perf_counter() - t0
    )
