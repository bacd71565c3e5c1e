"""Training the evaluator on real labelled clips (`motionloop train-evaluator`).

Each clip's end (`config.holdout` of its frames) is held out, so the reported accuracy is on
windows the network never saw, while every label still has training windows (holding out
whole clips would leave labels with one clip unseen). Training windows are drawn
label-balanced, and every clip is also used mirrored (labels are not side-specific, see
data/augment.py). After training, the embedding statistics are taken on windows of the
whole clips, unmirrored: the real distribution evaluation compares against.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from motionloop.data.augment import mirror
from motionloop.data.features import SLICES, motion_to_features
from motionloop.data.normalize import Normalizer
from motionloop.device import resolve_device
from motionloop.eval.errors import EvaluationError
from motionloop.eval.evaluator import STD_FLOOR, Evaluator, run_net
from motionloop.eval.kinematics import KIN_STD_FLOOR
from motionloop.eval.metrics import accuracy
from motionloop.eval.network import EvaluatorConfig, EvaluatorNet, recon_target
from motionloop.eval.windows import at_fps, window_index, window_inputs
from motionloop.motion import Motion

log = logging.getLogger(__name__)

_RATE_DIMS = [d for name in ("root_vel", "yaw_rate") for d in range(SLICES[name].start, SLICES[name].stop)]


def _split(clips: list[Motion], config: EvaluatorConfig) -> tuple[list[Motion], list[Motion]]:
    """Training parts and held-out ends of the clips (a part shorter than a window is dropped)."""
    train, held = [], []
    for m in clips:
        cut = round(m.num_frames * (1.0 - config.holdout))
        if cut >= config.window and m.num_frames - cut >= config.window:
            train.append(m.slice(0, cut))
            held.append(m.slice(cut, m.num_frames))
        else:
            train.append(m)
    return train, held


def _check(clips: list[Motion], window: int) -> list[Motion]:
    if len(clips) == 0:
        raise EvaluationError("train_evaluator: no clips given")
    unlabelled = [m.source or f"clip {i}" for i, m in enumerate(clips) if m.label is None]
    if unlabelled:
        raise EvaluationError(
            f"train_evaluator: the evaluator learns action labels; {len(unlabelled)} clips have none, e.g. {unlabelled[0]}"
        )
    usable = [m for m in clips if m.num_frames >= window]
    if len(usable) < len(clips):
        log.warning(
            "train_evaluator: skipping %d clips shorter than the %d-frame window", len(clips) - len(usable), window
        )
    labels = sorted({m.label for m in usable})
    if len(labels) < 2:
        raise EvaluationError(
            f"train_evaluator: needs clips of at least 2 labels, each at least {window} frames long; got labels {labels}"
        )
    return usable


class _Frames:
    """Normalised features of many clips in one `(sum T, D)` tensor, windows gathered by index."""

    def __init__(self, clips: list[Motion], normalizer: Normalizer, window: int, label_ids: dict[str, int]):
        feats = [normalizer.normalize(motion_to_features(m)) for m in clips]
        self.x = torch.as_tensor(np.concatenate(feats), dtype=torch.float32)  # (sum T, D)
        offsets = np.cumsum([0] + [len(f) for f in feats[:-1]])
        index = window_index([len(f) for f in feats], window)  # (N, 2)
        self.starts = offsets[index[:, 0]] + index[:, 1]  # (N,) row of each window's first frame
        self.y = np.array([label_ids[clips[c].label] for c in index[:, 0]], dtype=np.int64)  # (N,)
        self.window = window

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows `(B, L, D)` and labels `(B,)` of window rows `(B,)`."""
        frames = torch.as_tensor(self.starts[rows][:, None] + np.arange(self.window))  # (B, L)
        x = self.x[frames]  # (B, L, D)
        # as windows.window_inputs: a window's first frame takes its second frame's velocities
        x[:, 0, _RATE_DIMS] = x[:, 1, _RATE_DIMS]
        return x, torch.as_tensor(self.y[rows])


def train_evaluator(
    clips: list[Motion],
    out: str | Path | None = None,
    config: EvaluatorConfig = EvaluatorConfig(),
    seed: int = 0,
    progress: bool = False,
    device: str | torch.device | None = "cpu",
) -> Evaluator:
    """Train an evaluator on real labelled clips; write it to `out` when given.

    Args:
        clips: real clips with action labels (>= 2 labels); any fps (resampled to `config.fps`);
            clips shorter than `config.window` frames are skipped.
        out: evaluator file to write (atomically), e.g. assets/models/evaluator.pt.
        seed: seeds window sampling, initialisation and dropout.
        progress: show a progress bar.
        device: where the network trains: "cpu" (the default: the network is small), "cuda",
            "cuda:N" or "auto" (`motionloop.device.resolve_device`; checked first). The
            embedding statistics are computed on the CPU afterwards, and the file is the same.
    Returns:
        the trained Evaluator; `evaluator.train` records held-out accuracy and seconds.
    """
    t0 = time.perf_counter()
    device = resolve_device(device)
    clips = _check(at_fps(list(clips), config.fps), config.window)
    labels = tuple(sorted({m.label for m in clips}))
    label_ids = {name: i for i, name in enumerate(labels)}
    train_parts, held_parts = _split(clips, config)
    train_parts = train_parts + [mirror(m) for m in train_parts]
    normalizer = Normalizer.fit([motion_to_features(m) for m in train_parts])
    data = _Frames(train_parts, normalizer, config.window, label_ids)

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = EvaluatorNet(normalizer.dim, len(labels), config).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.steps)
    by_label = [np.flatnonzero(data.y == i) for i in range(len(labels))]
    by_label = [rows for rows in by_label if len(rows)]
    net.train()
    bar = tqdm(range(config.steps), desc="train evaluator", disable=not progress)
    for step in bar:
        # label-balanced: a label uniformly, then one of its windows uniformly
        pick = rng.integers(0, len(by_label), config.batch)
        rows = np.array([by_label[k][rng.integers(len(by_label[k]))] for k in pick])
        x, y = data.batch(rows)
        x, y = x.to(device), y.to(device)
        _, logits, recon = net(x)
        loss = F.cross_entropy(logits, y) + config.recon_weight * F.mse_loss(recon, recon_target(x))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    net.cpu().eval()  # run_net and the evaluator file work on the CPU

    stride = max(1, config.window // 4)
    held_acc, n_held, held_labels = None, 0, []
    if held_parts:
        idx = window_index([m.num_frames for m in held_parts], config.window, stride)
        feats, _ = window_inputs(held_parts, idx, config.window)
        _, logits = run_net(net, normalizer, feats)
        held_acc = accuracy(logits, [label_ids[held_parts[c].label] for c in idx[:, 0]])
        n_held = len(idx)
        held_labels = sorted({m.label for m in held_parts})
    idx = window_index([m.num_frames for m in clips], config.window, stride)
    feats, kin = window_inputs(clips, idx, config.window)
    emb, _ = run_net(net, normalizer, feats)
    record = {
        "seed": seed,
        "clips": len(clips),
        "frames": int(sum(m.num_frames for m in clips)),
        "label_counts": {name: int(sum(m.label == name for m in clips)) for name in labels},
        "heldout_windows": n_held,
        "heldout_accuracy": held_acc,
        "heldout_labels": held_labels,
        "seconds": round(time.perf_counter() - t0, 2),
        "torch": str(torch.__version__),
    }
    log.info("evaluator: held-out accuracy %s on %d windows, %.1f s", held_acc, n_held, record["seconds"])
    evaluator = Evaluator(
        config=config,
        labels=labels,
        normalizer=normalizer,
        net=net,
        embed_mean=emb.mean(0),
        embed_std=np.maximum(emb.std(0), STD_FLOOR),
        kin_mean=kin.mean(0),
        kin_std=np.maximum(kin.std(0), KIN_STD_FLOOR),
        train=record,
    )
    if out is not None:
        evaluator.save(out)
    return evaluator
