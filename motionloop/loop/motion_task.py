"""The motion task: the diffusion model, the physics corrector, the evaluator.

- Real data: `n` non-overlapping windows of `motion.window` frames (20 fps) drawn (per seed)
  from the real clips ("bundled" = the shipped set without object interaction).
- Fit: generation 0 starts from `motion.init` (the shipped base model, a checkpoint, or
  scratch) and trains `init_steps` on the real windows; later generations fine-tune the
  previous checkpoint `finetune_steps` (training "finetune") or repeat generation 0's fit on
  the new training set ("retrain"). The model is `gen_dir/checkpoint.pt`.
- Correct: "physics" tracks every synthetic clip with the MuJoCo humanoid at the arm's
  strength (physics.correct); the corrected clips are what the next generation trains on.
  With the arm's `filter`, only clips the tracker verified (report.verified: a success within
  the residual budget, MPJPE within its bound) are kept, and more clips are sampled (up to
  FILTER_ROUNDS more rounds) to keep lambda * n; a generation that keeps fewer trains on
  what there is, and its record says how many (`filter_kept`, `filter_kept_share`).
  "oracle" is the motion analogue of the toy's idealised corrector (Gillman et al.): each
  synthetic clip is replaced, with probability gamma / (1 + gamma), by a real window of its
  label that is not among this seed's n training windows (any held-out window when its label
  has none left, counted in `oracle_fallbacks`). It bounds what a perfect corrector could do
  under the protocol.
  `project` maps the tracked clips back onto the real data's joint usage before training.
  The simulated body now has only the hinges the real data turns (physics.humanoid
  DATA_AXES: toes, hands and head welded, elbows one hinge, knees no twist), so "static"
  (joints that never rotate in the real data keep the generated rotation) changes nothing
  any more; but a tracked clip can still bend a spine or knee component a few degrees past
  anything in the real data, where the model's normaliser (whose std there is tiny) turns it
  into tens of standard deviations. Measured on the 32 clips of the evidence run's first
  correction (normalised mean square of the features, mean / max over clips): generated
  0.55 / 125, tracked 0.79 / 4273, "range" (every non-root joint clipped to the real data's
  per-component axis-angle range) 0.64 / 434. With the previous three-hinge body tracked
  clips measured 5.5 on average, and outliers (up to 36) spiked the fine-tuning loss to 1.3
  (0.1 for the other arms). "range" stays the default for that reason.
- Evaluate: `eval_clips` clips sampled from one fixed noise seed per run seed (so every
  generation and arm is compared on the same noise), `evaluate` against the reference at
  `eval_n` windows, `eval_draws` times with different window draws (the same draws for every
  arm and generation of a seed) and averaged (`fid_draw_sd`: the spread over draws); the
  first `probe_clips` of them are tracked by the corrector for measurement only (residual_bw, success_rate, mpjpe_mm), in every arm alike. The probe
  clips go to `gen_dir/probe/{generated,corrected}/`, their reports to reports.jsonl.
The clips evaluated are the model's raw samples in every arm, as in Gillman et al.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from motionloop import skeleton as sk
from motionloop.data.bundled import load_clips_or_bundled
from motionloop.data.windows import make_windows
from motionloop.errors import ConfigError
from motionloop.eval import evaluate
from motionloop.eval.evaluator import resolve
from motionloop.io import append_jsonl, atomic_path
from motionloop.loop.config import ArmConfig, LoopConfig
from motionloop.loop.rundir import REPORTS
from motionloop.loop.task import CorrectionContext, Stopwatch, derive_seed, rng_for
from motionloop.model.checkpoint import Checkpoint, load_checkpoint
from motionloop.model.config import TrainConfig
from motionloop.model.sample import sample
from motionloop.model.train import fine_tune, resolve_device, train
from motionloop.motion import Motion, load_clips, save_clips
from motionloop.physics.config import FIRM_TRACKER, SearchConfig
from motionloop.physics.correct import SPARING_PRICE, CorrectionConfig, TrackingReport, correct
from motionloop.physics.repair import PlacementError, RepairConfig, repair
from motionloop.physics.summary import summarize
from motionloop.resources import BASE_MODEL

CHECKPOINT = "checkpoint.pt"
log = logging.getLogger(__name__)
STATIC_RAD = 1e-6  # a joint whose rotation never exceeds this in the real data is static
FILTER_ROUNDS = 3  # extra sampling rounds a filtering arm may draw to keep lambda * n clips
AVERAGED = ("fid", "fid_floor", "diversity", "diversity_ref", "multimodality", "accuracy", "precision", "recall")


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
        self.device = resolve_device(m.device)
        self.windows = make_windows(load_clips_or_bundled(m.data), m.window, m.window)
        if config.n > len(self.windows):
            raise ConfigError(
                f"n: {config.n} real windows asked, but motion.data {m.data!r} holds only "
                f"{len(self.windows)} non-overlapping windows of {m.window} frames; lower n"
            )
        self.reference = load_clips_or_bundled(m.reference)
        self.evaluator = resolve(m.evaluator)
        per_clip = m.window - self.evaluator.window + 1
        if per_clip < 1:
            raise ConfigError(
                f"motion.window: {m.window} frames is shorter than the evaluator's window "
                f"({self.evaluator.window} frames)"
            )
        if m.eval_clips * per_clip < m.eval_n:
            raise ConfigError(
                f"motion.eval_n: {m.eval_n} windows asked of {m.eval_clips} clips that hold only "
                f"{m.eval_clips * per_clip}; raise motion.eval_clips or lower motion.eval_n"
            )
        poses = np.concatenate([w.poses for w in self.windows])  # (frames, 24, 3) axis-angle
        self.static_joints = np.flatnonzero(np.abs(poses).max(axis=(0, 2)) <= STATIC_RAD)
        self.pose_low, self.pose_high = poses.min(axis=0), poses.max(axis=0)  # (24, 3) each
        self.init: Checkpoint | None = None
        if m.init != "scratch":
            path = BASE_MODEL if m.init == "base" else Path(m.init)
            self.init = load_checkpoint(path, self.device)
            if self.init.window != m.window:
                raise ConfigError(
                    f"motion.window: {m.window} frames, but the init checkpoint {path} was trained on "
                    f"{self.init.window}-frame windows"
                )

    # ------------------------------------------------------------------ data
    def real_index(self, seed: int) -> np.ndarray:
        """Indices of this seed's n training windows (sorted)."""
        return np.sort(rng_for(seed, 0, "real").choice(len(self.windows), self.n, replace=False))

    def real(self, seed: int) -> list[Motion]:
        return [self.windows[i] for i in self.real_index(seed)]

    def held_out(self, seed: int) -> list[Motion]:
        """The real windows that are not among this seed's training windows."""
        used = set(self.real_index(seed).tolist())
        return [w for i, w in enumerate(self.windows) if i not in used]

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
    def fit(
        self, clips: list[Motion], prev: Checkpoint | None, gen_dir: Path, seed: int, watch: Stopwatch
    ) -> tuple[Checkpoint, dict]:
        m, out = self.config, gen_dir / CHECKPOINT
        if prev is not None:
            res = fine_tune(
                prev, clips, m.finetune_steps, out, seed=seed, lr=m.finetune_lr, device=self.device, progress=False
            )
        elif self.init is None:
            config = TrainConfig(
                window=m.window, batch_size=m.batch_size, lr=m.train_lr, warmup_steps=min(500, m.init_steps // 10)
            )
            res = train(
                clips, out, m.init_steps, model=m.model, config=config, seed=seed, device=self.device, progress=False
            )
        elif m.init_steps > 0:
            res = fine_tune(
                self.init, clips, m.init_steps, out, seed=seed, lr=m.finetune_lr, device=self.device, progress=False
            )
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

    def sample(self, model: Checkpoint, k: int, seed: int, arm: ArmConfig | None = None) -> list[Motion]:
        """k clips of `model`; an arm with `sampling_physics` projects them inside the sampler."""
        m = self.config
        physics_steps = arm.sampling_physics if arm is not None else 0
        physics = self.correction_config(arm.strength) if physics_steps else None
        return sample(
            model,
            k,
            sampler=m.sampler,
            guidance=m.guidance,
            seed=seed,
            device=self.device,
            physics_steps=physics_steps,
            physics=physics,
        )

    # ------------------------------------------------------------------ correction and evaluation
    def correct(
        self, data: list[Motion], arm: ArmConfig, seed: int, ctx: CorrectionContext | None = None
    ) -> tuple[list[Motion], list[dict], dict]:
        """The arm's correction of `data` (`ctx`: the unit's run seed and more samples of the
        same model, which the oracle and a filtering arm need)."""
        if arm.correction == "oracle":
            if ctx is None:
                raise ConfigError("correction 'oracle' needs the run seed (CorrectionContext)")
            return self.oracle(data, arm.gamma, seed, ctx.run_seed)
        if arm.correction == "kinematic":
            return self.kinematic(data)
        if arm.correction != "physics":
            return data, [], {}
        out, reports = self._physics(data, arm.strength, 0)
        tried = len(data)
        fields: dict = {}
        if arm.filter:
            want = len(data)
            keep = [i for i, r in enumerate(reports) if r.verified]
            kept, kept_reports = [out[i] for i in keep], [reports[i] for i in keep]
            rounds = 0
            more = ctx.more if ctx is not None else None
            while len(kept) < want and more is not None and rounds < FILTER_ROUNDS:
                rounds += 1
                share = max(len(kept) / tried, 0.1)  # draw for the share kept so far (at least 10 %)
                extra = more(int(np.ceil((want - len(kept)) / share)), derive_seed(seed, rounds, "sample"))
                tried += len(extra)
                e_out, e_reports = self._physics(extra, arm.strength, tried - len(extra))
                for clip, rep in zip(e_out, e_reports):
                    if rep.verified and len(kept) < want:
                        kept.append(clip)
                        kept_reports.append(rep)
                reports += e_reports
            if not kept:
                log.warning("filter kept none of %d corrected clips; this generation trains on real data only", tried)
            fields = {
                "filter_kept": len(kept),
                "filter_tried": tried,
                "filter_kept_share": len(kept) / tried,
                "filter_rounds": rounds,
            }
            out = kept
        s = summarize(reports)
        fields.update(
            {
                "train_residual_bw": _finite(s["residual_bw"]),
                "train_success_rate": _finite(s["success_rate"]),
                "train_success_free_rate": _finite(s["success_free_rate"]),
                "train_verified_rate": _finite(s["verified_rate"]),
                "train_mpjpe_mm": _finite(s["mpjpe_mm"]),
            }
        )
        return out, [{**r.to_dict(), "use": "train"} for r in reports], fields

    def _physics(self, data: list[Motion], strength: float, first: int) -> tuple[list[Motion], list[TrackingReport]]:
        cfg = self.correction_config(strength)
        out, reports = correct(data, cfg, names=[f"clip_{first + i:04d}" for i in range(len(data))])
        return [self.project(tracked, generated) for tracked, generated in zip(out, data)], reports

    def kinematic(self, data: list[Motion]) -> tuple[list[Motion], list[dict], dict]:
        """Each clip repaired as the physics arm's reference is at strength 1, without the
        simulation (module docstring); `kinematic_rejected` counts the clips left as sampled."""
        cfg = self.correction_config(1.0).repair_for_strength()
        out, rejected = [], 0
        for clip in data:
            try:
                fixed = repair(clip, cfg)
            except PlacementError as e:
                log.info("kinematic: %s", e)
                out.append(clip)
                rejected += 1
                continue
            out.append(self.project(fixed, clip))
        return out, [], {"kinematic_rejected": rejected}

    def oracle(
        self, data: list[Motion], gamma: float, seed: int, run_seed: int
    ) -> tuple[list[Motion], list[dict], dict]:
        """Each clip replaced with probability gamma / (1 + gamma) by a real window of its
        label held out of run seed `run_seed`'s training windows (module docstring); `seed`
        draws the replacements."""
        held = self.held_out(run_seed)
        if not held:
            raise ConfigError(
                f"correction 'oracle': n = {self.n} uses every real window of motion.data; no held-out "
                "window is left to replace clips with (lower n)"
            )
        rng = np.random.default_rng(seed)
        by_label: dict[str | None, list[Motion]] = {}
        for w in held:
            by_label.setdefault(w.label, []).append(w)
        p = gamma / (1.0 + gamma)
        out, replaced, fallbacks = [], 0, 0
        for clip in data:
            if rng.random() >= p:
                out.append(clip)
                continue
            pool = by_label.get(clip.label)
            if not pool:
                pool, fallbacks = held, fallbacks + 1
            out.append(pool[int(rng.integers(len(pool)))].replace(label=clip.label, source="oracle"))
            replaced += 1
        if fallbacks:
            log.info(
                "oracle: %d clip(s) had no held-out window of their label; replaced by any held-out window", fallbacks
            )
        return out, [], {"oracle_replaced": replaced, "oracle_fallbacks": fallbacks}

    def correction_config(self, strength: float) -> CorrectionConfig:
        m = self.config
        return CorrectionConfig(
            strength=strength,
            workers=m.workers,
            tracker=m.tracker,
            free=m.free_tracker,
            assist=m.assist,
            unsmoothed_first=m.unsmoothed_first,
            firm=FIRM_TRACKER if m.firm else None,
            unbalanced=m.unbalanced,
            planned=m.planned,
            search=SearchConfig() if m.search else None,
            sparing=SPARING_PRICE if m.sparing else None,
            close_mpjpe_mm=m.close_mpjpe_mm,
            repair=RepairConfig(
                step_feet=m.step_feet, ground_window_s=RepairConfig.ground_window_s if m.ground_drift else None
            ),
        )

    def project(self, tracked: Motion, generated: Motion) -> Motion:
        """`tracked` mapped onto the real data's joint usage (`motion.project`, module docstring;
        "none": `tracked` itself)."""
        if self.config.project == "none":
            return tracked
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
            draws = [
                evaluate(
                    clips,
                    self.reference,
                    n=m.eval_n,
                    seed=seed if d == 0 else derive_seed(seed, d, "evaluate"),
                    evaluator=self.evaluator,
                )
                for d in range(m.eval_draws)
            ]
        out = {("eval_n" if k == "n" else k): v for k, v in draws[0].items()}
        for k in AVERAGED:
            vals = [r[k] for r in draws if r.get(k) is not None]
            out[k] = float(np.mean(vals)) if vals else None
        fids = [r["fid"] for r in draws]
        floors = [r["fid_floor"] for r in draws]
        out["eval_draws"] = m.eval_draws
        out["fid_draw_sd"] = float(np.std(fids, ddof=1)) if len(fids) > 1 else None
        out["fid_floor_draw_sd"] = float(np.std(floors, ddof=1)) if len(floors) > 1 else None
        if m.probe_clips > 0:
            probe = clips[: m.probe_clips]
            names = [f"clip_{i:04d}" for i in range(len(probe))]
            with watch("correct"):
                tracked, reports = correct(probe, self.correction_config(m.probe_strength), names)
            save_clips(probe, gen_dir / "probe" / "generated", names)
            save_clips(tracked, gen_dir / "probe" / "corrected", names)
            write_reports(gen_dir / REPORTS, reports, "probe")
            s = summarize(reports)
            out.update(
                residual_bw=_finite(s["residual_bw"]),
                success_rate=_finite(s["success_rate"]),
                mpjpe_mm=_finite(s["mpjpe_mm"]),
            )
        return out
