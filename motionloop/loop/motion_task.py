"""The motion task: the diffusion model, the physics corrector, the evaluator.

- Real data: `n` non-overlapping windows of `motion.window` frames (20 fps) drawn (per seed)
  from the real clips ("bundled" = the shipped set without object interaction).
- Fit: generation 0 starts from `motion.init` (the shipped base model, a checkpoint, or
  scratch) and trains `init_steps` on the real windows; later generations fine-tune the
  previous checkpoint `finetune_steps` (training "finetune") or repeat generation 0's fit on
  the new training set ("retrain"). The model is `gen_dir/checkpoint.pt`.
- Correct: "physics" tracks every synthetic clip with the MuJoCo humanoid at the arm's
  strength (physics.correct); the corrected clips are what the next generation trains on.
  `project` maps the tracked clips back onto the real data's joint usage before training:
  the simulated humanoid has 3 hinges per joint and bends its toes and the off-axes of its
  knees, which the retargeted real data never does; the model's normaliser, whose std for such
  a feature is tiny, turns those few degrees into tens of standard deviations that dominate the
  fine-tuning loss. Measured on 128 clips of the base model (normalised mean square of the
  features / FID at n=128, floor 48.7 / phys_err_mm): generated 0.62 / 82.7 / 33.6; tracked
  5.5 / 65.4 / 8.3; "static" (joints that never rotate in the real data, here toes, head and
  hands, keep the generated rotation) 1.5 / 67.9 / 13.6; "range" (also every non-root joint
  clipped to the real data's per-component axis-angle range) 0.88 / 66.4 / 21.2. In the
  6-generation demo with "static", outlier tracked clips (normalised mean square up to 36)
  spiked the fine-tuning loss to 1.3 (0.1 for the other arms): "range" is the default.
- Evaluate: `eval_clips` clips sampled from one fixed noise seed per run seed (so every
  generation and arm is compared on the same noise), `evaluate` against the reference at
  `eval_n` windows, and the first `probe_clips` of them tracked by the corrector for
  measurement only (residual_bw, success_rate, mpjpe_mm), in every arm alike. The probe
  clips go to `gen_dir/probe/{generated,corrected}/`, their reports to reports.jsonl.
The clips evaluated are the model's raw samples in every arm, as in Gillman et al.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import torch

from motionloop import skeleton as sk
from motionloop.data.bundled import load_clips_or_bundled
from motionloop.data.windows import make_windows
from motionloop.errors import ConfigError
from motionloop.eval import evaluate
from motionloop.eval.evaluator import resolve
from motionloop.io import append_jsonl, atomic_path
from motionloop.loop.config import ArmConfig, LoopConfig
from motionloop.loop.rundir import REPORTS
from motionloop.loop.task import Stopwatch, derive_seed, rng_for
from motionloop.model.checkpoint import Checkpoint, load_checkpoint
from motionloop.model.config import TrainConfig
from motionloop.model.sample import sample
from motionloop.model.train import default_device, fine_tune, train
from motionloop.motion import Motion, load_clips, save_clips
from motionloop.physics.config import TrackerConfig
from motionloop.physics.correct import CorrectionConfig, TrackingReport, correct
from motionloop.physics.summary import summarize

BASE_MODEL = Path(__file__).resolve().parents[2] / "assets" / "models" / "base_cpu_small.pt"
CHECKPOINT = "checkpoint.pt"
STATIC_RAD = 1e-6  # a joint whose rotation never exceeds this in the real data is static


def _finite(x: float) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def write_reports(path: Path, reports: list[TrackingReport], use: str) -> None:
    """Append one JSON object per report, tagged with what the correction was for."""
    for r in reports:
        append_jsonl(path, {**r.to_dict(), "use": use})


class MotionTask:
    """See the module docstring. Data: lists of Motions; model: a `Checkpoint`."""

    summary_metrics = ("fid", "diversity", "phys_err_mm")
    data_suffix = ""  # a data set is a clip-set directory

    def __init__(self, config: LoopConfig):
        self.config = m = config.motion
        self.n = config.n
        self.device = default_device() if m.device == "auto" else torch.device(m.device)
        self.windows = make_windows(load_clips_or_bundled(m.data), m.window, m.window)
        if config.n > len(self.windows):
            raise ConfigError(f"n: {config.n} real windows asked, but motion.data {m.data!r} holds only "
                              f"{len(self.windows)} non-overlapping windows of {m.window} frames; lower n")  # fmt: skip
        self.reference = load_clips_or_bundled(m.reference)
        self.evaluator = resolve(m.evaluator)
        per_clip = m.window - self.evaluator.window + 1
        if per_clip < 1:
            raise ConfigError(f"motion.window: {m.window} frames is shorter than the evaluator's window "
                              f"({self.evaluator.window} frames)")  # fmt: skip
        if m.eval_clips * per_clip < m.eval_n:
            raise ConfigError(f"motion.eval_n: {m.eval_n} windows asked of {m.eval_clips} clips that hold only "
                              f"{m.eval_clips * per_clip}; raise motion.eval_clips or lower motion.eval_n")  # fmt: skip
        poses = np.concatenate([w.poses for w in self.windows])  # (frames, 24, 3) axis-angle
        self.static_joints = np.flatnonzero(np.abs(poses).max(axis=(0, 2)) <= STATIC_RAD)
        self.pose_low, self.pose_high = poses.min(axis=0), poses.max(axis=0)  # (24, 3) each
        self.init: Checkpoint | None = None
        if m.init != "scratch":
            path = BASE_MODEL if m.init == "base" else Path(m.init)
            self.init = load_checkpoint(path, self.device)
            if self.init.window != m.window:
                raise ConfigError(f"motion.window: {m.window} frames, but the init checkpoint {path} was trained on "
                                  f"{self.init.window}-frame windows")  # fmt: skip

    # ------------------------------------------------------------------ data
    def real(self, seed: int) -> list[Motion]:
        idx = np.sort(rng_for(seed, 0, "real").choice(len(self.windows), self.n, replace=False))
        return [self.windows[i] for i in idx]

    def save_data(self, data: list[Motion], path: Path) -> None:
        save_clips(data, path)

    def load_data(self, path: Path) -> list[Motion]:
        return load_clips(path)

    def join(self, parts: list[list[Motion]]) -> list[Motion]:
        return [m for part in parts for m in part]

    def take(self, data: list[Motion], idx: np.ndarray) -> list[Motion]:
        return [data[i] for i in idx]

    def size(self, data: list[Motion]) -> int:
        return len(data)

    # ------------------------------------------------------------------ model
    def fit(self, clips: list[Motion], prev: Checkpoint | None, gen_dir: Path, seed: int,
            watch: Stopwatch) -> tuple[Checkpoint, dict]:  # fmt: skip
        m, out = self.config, gen_dir / CHECKPOINT
        if prev is not None:
            res = fine_tune(prev, clips, m.finetune_steps, out, seed=seed, lr=m.finetune_lr, device=self.device, progress=False)
        elif self.init is None:
            config = TrainConfig(window=m.window, batch_size=m.batch_size, lr=m.train_lr,
                                 warmup_steps=min(500, m.init_steps // 10))  # fmt: skip
            res = train(clips, out, m.init_steps, model=m.model, config=config, seed=seed, device=self.device, progress=False)
        elif m.init_steps > 0:
            res = fine_tune(self.init, clips, m.init_steps, out, seed=seed, lr=m.finetune_lr, device=self.device, progress=False)
        else:
            src = BASE_MODEL if m.init == "base" else Path(m.init)
            with atomic_path(out) as tmp:
                shutil.copyfile(src, tmp)
            return self.init, {}
        return res.checkpoint, {"loss": _finite(res.final_loss)}

    def load_model(self, gen_dir: Path) -> Checkpoint:
        return load_checkpoint(gen_dir / CHECKPOINT, self.device)

    def model_files(self, gen_dir: Path) -> list[Path]:
        return [gen_dir / CHECKPOINT]

    def sample(self, model: Checkpoint, k: int, seed: int) -> list[Motion]:
        m = self.config
        return sample(model, k, sampler=m.sampler, guidance=m.guidance, seed=seed, device=self.device)

    # ------------------------------------------------------------------ correction and evaluation
    def correct(self, data: list[Motion], arm: ArmConfig, seed: int) -> tuple[list[Motion], list[dict], dict]:
        if arm.correction != "physics":
            return data, [], {}
        cfg = self.correction_config(arm.strength)
        out, reports = correct(data, cfg, names=[f"clip_{i:04d}" for i in range(len(data))])
        if self.config.project != "none":
            out = [self.project(tracked, generated) for tracked, generated in zip(out, data)]
        s = summarize(reports)
        fields = {"train_residual_bw": _finite(s["residual_bw"]), "train_success_rate": _finite(s["success_rate"]),
                  "train_mpjpe_mm": _finite(s["mpjpe_mm"])}  # fmt: skip
        return out, [{**r.to_dict(), "use": "train"} for r in reports], fields

    def correction_config(self, strength: float) -> CorrectionConfig:
        m = self.config
        tracker = dataclasses.replace(TrackerConfig(), trunk_weight_scale=float(m.trunk_weight_scale))
        return CorrectionConfig(strength=strength, tracker=tracker, workers=m.workers)

    def project(self, tracked: Motion, generated: Motion) -> Motion:
        """`tracked` mapped onto the real data's joint usage (`motion.project`, module docstring)."""
        poses = tracked.poses.copy()  # (T, 24, 3)
        if self.config.project == "range":
            joints = np.arange(poses.shape[1]) != sk.PELVIS  # the root's orientation is the heading
            poses[:, joints] = np.clip(poses[:, joints], self.pose_low[joints], self.pose_high[joints])
        poses[:, self.static_joints] = generated.poses[:, self.static_joints]
        return tracked.replace(poses=poses)

    def evaluate(self, model: Checkpoint, gen_dir: Path, seed: int, watch: Stopwatch) -> dict:
        m = self.config
        with watch("sample"):
            clips = self.sample(model, m.eval_clips, derive_seed(seed, 0, "eval-sample"))
        with watch("evaluate"):
            result = evaluate(clips, self.reference, n=m.eval_n, seed=seed, evaluator=self.evaluator)
        out = {("eval_n" if k == "n" else k): v for k, v in result.items()}
        if m.probe_clips > 0:
            probe = clips[: m.probe_clips]
            names = [f"clip_{i:04d}" for i in range(len(probe))]
            with watch("correct"):
                tracked, reports = correct(probe, self.correction_config(m.probe_strength), names)
            save_clips(probe, gen_dir / "probe" / "generated", names)
            save_clips(tracked, gen_dir / "probe" / "corrected", names)
            write_reports(gen_dir / REPORTS, reports, "probe")
            s = summarize(reports)
            out.update(residual_bw=_finite(s["residual_bw"]), success_rate=_finite(s["success_rate"]),
                       mpjpe_mm=_finite(s["mpjpe_mm"]))  # fmt: skip
        return out
