"""The motion task end to end with a tiny model: run directory layout, metrics, report files."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from motionloop.data.bundled import OBJECT_LABELS, load_bundled
from motionloop.data.features import FEATURE_DIM
from motionloop.errors import ConfigError
from motionloop.io import read_jsonl
from motionloop.loop import plot_run, run_loop
from motionloop.loop.configio import from_dict
from motionloop.model.checkpoint import load_checkpoint
from motionloop.model.config import TrainConfig
from motionloop.model.denoiser import DenoiserConfig
from motionloop.model.diffusion import DiffusionConfig
from motionloop.model.train import train
from motionloop.motion import load_clips
from motionloop.physics.repair import RepairConfig

TINY = DenoiserConfig(feature_dim=FEATURE_DIM, width=32, layers=1, heads=2, ff=64, dropout=0.0)
TINY_TRAIN = TrainConfig(window=40, stride=20, batch_size=8, warmup_steps=0, diffusion=DiffusionConfig(num_steps=100))


@pytest.fixture(scope="module")
def tiny_init(tmp_path_factory):
    """A tiny denoiser trained for a few steps on the bundled clips (every label known)."""
    path = tmp_path_factory.mktemp("init") / "tiny.pt"
    train(load_bundled(exclude_labels=OBJECT_LABELS), path, 5, model=TINY, config=TINY_TRAIN, seed=0, progress=False)
    return path


def _config(init, **motion):
    return from_dict(
        {
            "name": "tiny-motion",
            "task": "motion",
            "generations": 2,
            "n": 2,
            "seeds": [0],
            "lambdas": [1.0],
            "training": "finetune",
            "arms": [
                {"name": "baseline", "lambdas": [0.0]},
                {"name": "iterative"},
                {"name": "self-correcting", "correction": "physics", "strength": 1.0},
            ],
            "motion": {
                "init": str(init),
                "finetune_steps": 2,
                "sampler": "ddim:4",
                "eval_clips": 4,
                "eval_n": 16,
                "probe_clips": 1,
                "workers": 1,
                **motion,
            },
        }
    )


@pytest.mark.slow
def test_tiny_motion_run_writes_the_run_directory(tmp_path, tiny_init):
    root = run_loop(_config(tiny_init), tmp_path / "run", progress=False)
    rows = read_jsonl(root / "metrics.jsonl")
    assert [(r["arm"], r["generation"]) for r in rows] == [
        (arm, g) for g in range(3) for arm in ("baseline", "iterative", "self-correcting")
    ]
    for r in rows:
        for key in (
            "fid",
            "fid_floor",
            "diversity",
            "phys_err_mm",
            "residual_bw",
            "success_rate",
            "mpjpe_mm",
            "wall_s",
        ):
            assert isinstance(r[key], float), (key, r)
        assert r["eval_n"] == 16 and r["n"] == 2
    gen0 = [{k: v for k, v in r.items() if k in ("fid", "diversity", "phys_err_mm", "residual_bw")} for r in rows[:3]]
    assert gen0[0] == gen0[1] == gen0[2]  # one shared generation 0
    by = {(r["arm"], r["generation"]): r for r in rows}
    assert by["baseline", 1]["train_size"] == 2 and by["iterative", 1]["train_size"] == 4
    assert "train_residual_bw" in by["self-correcting", 1] and "train_residual_bw" not in by["iterative", 1]
    assert by["iterative", 1]["fid"] != by["baseline", 1]["fid"]  # the arms trained on different data

    base = root / "base" / "seed_0"
    assert json.loads((base / "metrics.json").read_text())["fid"] == rows[0]["fid"]
    assert load_checkpoint(base / "checkpoint.pt").step == 5
    sc = root / "self-correcting_lam1" / "seed_0"
    for g in range(3):
        gdir = sc / f"gen_{g:03d}"
        assert len(load_clips(gdir / "samples")) == 2 and len(load_clips(gdir / "corrected")) == 2
        uses = [r["use"] for r in read_jsonl(gdir / "reports.jsonl")]
        assert uses.count("train") == 2 and uses.count("probe") == (1 if g else 0)
    assert load_checkpoint(sc / "gen_002" / "checkpoint.pt").step == 5 + 2 * 2
    it = root / "iterative_lam1" / "seed_0" / "gen_001"
    assert (it / "samples").is_dir() and not (it / "corrected").exists()
    assert len(load_clips(it / "probe" / "corrected")) == 1
    assert not (root / "baseline_lam0" / "seed_0" / "gen_001" / "samples").exists()

    page = (root / "report.html").read_text()
    assert (root / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.count("<script>MotionloopViewer(document") == 3 and "self-correcting &lambda;=1" in page
    assert "data:image/png;base64," in page
    assert page.count("physics-tracked") == 1  # only the arm that corrects shows a tracked clip
    assert "How to read it: <b>FID</b>" in page
    (root / "report.html").unlink()
    plot_run(root)
    assert (root / "report.html").exists()


def test_projection_maps_tracked_clips_onto_the_real_joint_usage():
    from motionloop import skeleton as sk
    from motionloop.loop import load_config
    from motionloop.loop.engine import make_task
    from motionloop.physics.correct import CorrectionConfig

    task = make_task(load_config("demo", ["motion.project=range", "motion.trunk_weight_scale=5"]))
    # the run's tracker settings reach every correction (training and probes)
    cfg = task.correction_config(0.5)
    assert cfg.tracker.trunk_weight_scale == 5.0 and cfg.strength == 0.5 and cfg.workers == task.config.workers
    assert cfg.assist == "local"
    assert make_task(load_config("demo", ["motion.assist=whole"])).correction_config(1.0).assist == "whole"
    assert cfg.unsmoothed_first is True
    assert cfg.close_mpjpe_mm == 40.0
    overrides = ["motion.unsmoothed_first=false", "motion.close_mpjpe_mm=100"]
    single = make_task(load_config("demo", overrides)).correction_config(1.0)
    assert single.close_mpjpe_mm == 100.0
    assert single.unsmoothed_first is False
    assert single.ladder() == CorrectionConfig(unsmoothed_first=False).ladder()  # one smoothing: no unsmoothed rungs
    assert cfg.unbalanced is False
    assert make_task(load_config("demo", ["motion.unbalanced=true"])).correction_config(1.0).unbalanced is True
    with pytest.raises(ConfigError, match="motion.unbalanced"):
        load_config("demo", ["motion.unbalanced=1"])
    assert cfg.planned is True
    assert make_task(load_config("demo", ["motion.planned=false"])).correction_config(1.0).planned is False
    with pytest.raises(ConfigError, match="motion.planned"):
        load_config("demo", ["motion.planned=1"])
    assert cfg.search is not None
    assert make_task(load_config("demo", ["motion.search=false"])).correction_config(1.0).search is None
    with pytest.raises(ConfigError, match="motion.search"):
        load_config("demo", ["motion.search=1"])
    assert cfg.sparing is None
    assert make_task(load_config("demo", ["motion.sparing=true"])).correction_config(1.0).sparing == 10.0
    with pytest.raises(ConfigError, match="motion.sparing"):
        load_config("demo", ["motion.sparing=1"])
    with pytest.raises(ConfigError, match="motion.unsmoothed_first"):
        load_config("demo", ["motion.unsmoothed_first=2"])
    assert cfg.repair.ground_window_s == 1.0
    assert (
        make_task(load_config("demo", ["motion.ground_drift=false"])).correction_config(1.0).repair.ground_window_s
        is None
    )
    with pytest.raises(ConfigError, match="motion.ground_drift"):
        load_config("demo", ["motion.ground_drift=1"])
    assert cfg.repair.step_feet is False
    stepping = make_task(load_config("demo", ["motion.step_feet=true", "motion.ground_drift=false"]))
    assert stepping.correction_config(1.0).repair == RepairConfig(step_feet=True, ground_window_s=None)
    with pytest.raises(ConfigError, match="motion.step_feet"):
        load_config("demo", ["motion.step_feet=1"])
    assert cfg.firm is not None and single.firm is not None
    assert make_task(load_config("demo", ["motion.firm=false"])).correction_config(1.0).firm is None
    with pytest.raises(ConfigError, match="motion.firm"):
        load_config("demo", ["motion.firm=1"])
    with pytest.raises(ConfigError, match="motion.close_mpjpe_mm"):
        load_config("demo", ["motion.close_mpjpe_mm=0"])
    assert {sk.JOINTS[j] for j in task.static_joints} >= {"left_foot", "right_foot"}
    generated = task.windows[0]
    poses = generated.poses.copy()
    poses[:, sk.LEFT_FOOT] = [0.3, 0.0, 0.0]  # a bent toe: never seen in the real data
    poses[:, sk.LEFT_KNEE, 1] = 2.0  # far outside the real knee's off-axis range
    poses[:, sk.PELVIS] = generated.poses[:, sk.PELVIS] + 0.5
    tracked = generated.replace(poses=poses)
    out = task.project(tracked, generated)
    assert np.array_equal(out.poses[:, sk.LEFT_FOOT], generated.poses[:, sk.LEFT_FOOT])
    assert np.all(out.poses[:, sk.LEFT_KNEE, 1] <= task.pose_high[sk.LEFT_KNEE, 1])
    assert np.array_equal(out.poses[:, sk.PELVIS], tracked.poses[:, sk.PELVIS])  # the root is never clipped
    task.config = dataclasses.replace(task.config, project="static")
    kept = task.project(tracked, generated)
    assert np.array_equal(kept.poses[:, sk.LEFT_KNEE], tracked.poses[:, sk.LEFT_KNEE])
    assert np.array_equal(kept.poses[:, sk.LEFT_FOOT], generated.poses[:, sk.LEFT_FOOT])


def _task(**over):
    from motionloop.loop import load_config
    from motionloop.loop.engine import make_task

    return make_task(load_config("demo", [f"{k}={v}" for k, v in over.items()]))


def test_oracle_replaces_clips_by_held_out_real_windows_of_their_label():
    from motionloop.loop.config import ArmConfig
    from motionloop.loop.task import CorrectionContext

    task = _task()
    held = task.held_out(0)
    train = {w.source for w in task.real(0)}
    assert held and not ({w.source for w in held} & train)  # held-out windows are never training windows
    assert len(held) + task.n == len(task.windows)
    fake = [w.replace(source="generated") for w in task.real(1)[:20]]
    arm = ArmConfig(name="oracle", correction="oracle", gamma=1.0)
    out, reports, fields = task.correct(fake, arm, 7, CorrectionContext(0))
    assert reports == [] and 0 < fields["oracle_replaced"] < 20  # about half of them
    held_sources = {w.source for w in held}
    for before, after in zip(fake, out):
        if after is before:
            continue
        assert after.label == before.label and after.source == "oracle"
        assert (
            any(np.array_equal(after.poses, w.poses) for w in held if w.label == before.label)
            or fields["oracle_fallbacks"]
        )
    again, _, _ = task.correct(fake, arm, 7, CorrectionContext(0))
    assert all(np.array_equal(a.poses, b.poses) for a, b in zip(out, again))  # seeded
    all_out, _, f = task.correct(fake, ArmConfig(name="o", correction="oracle", gamma=1e9), 7, CorrectionContext(0))
    assert f["oracle_replaced"] == 20 and not (held_sources & {m.source for m in all_out})


def test_kinematic_arm_gets_the_physics_references_repair_without_the_simulation():
    from motionloop.loop.config import ArmConfig
    from motionloop.physics import metrics as pm
    from motionloop.physics.repair import repair

    task = _task()
    clips = task.real(1)[:3]
    floating = clips[0].replace(trans=clips[0].trans + np.array([0.0, 0.0, 0.08], dtype=np.float32))
    absurd = clips[1].replace(trans=clips[1].trans + np.array([0.0, 0.0, 5.0], dtype=np.float32))
    data = [floating, absurd, clips[2]]
    out, reports, fields = task.correct(data, ArmConfig(name="k", correction="kinematic"), 0)
    assert reports == [] and fields == {"kinematic_rejected": 1}
    assert out[1] is absurd  # 5 m up: the repair refuses it, the clip stays as sampled
    # the floating clip is put back where its window stood: what the tracker would be given
    assert pm.physics_metrics(floating)["float_mm"] > pm.physics_metrics(clips[0])["float_mm"] + 50
    grounded, _, _ = task.correct([clips[0]], ArmConfig(name="k", correction="kinematic"), 0)
    np.testing.assert_allclose(out[0].trans, grounded[0].trans, atol=1e-3)
    expected = task.project(repair(floating, task.correction_config(1.0).repair_for_strength()), floating)
    np.testing.assert_allclose(out[0].poses, expected.poses, atol=1e-6)
    np.testing.assert_allclose(out[0].trans, expected.trans, atol=1e-6)
    assert len(out) == len(data) and all(a.label == b.label for a, b in zip(out, data))


def test_filter_keeps_only_verified_clips_and_tops_them_up():
    from motionloop.loop.config import ArmConfig
    from motionloop.loop.task import CorrectionContext

    task = _task(**{"motion.workers": 1})
    real = task.real(0)
    standing_like = [w for w in task.windows if w.label in ("stand", "gesture")][:2]
    wild = real[0].replace(trans=real[0].trans + np.array([0.0, 0.0, 5.0]) * np.arange(real[0].num_frames)[:, None])
    calls = []

    def more(k, seed):
        calls.append((k, seed))
        return [standing_like[0]] * k

    arm = ArmConfig(name="f", correction="physics", filter=True)
    out, reports, fields = task.correct([wild, standing_like[1]], arm, 3, CorrectionContext(0, more))
    assert len(out) == 2 and fields["filter_kept"] == 2 and fields["filter_rounds"] >= 1 and calls
    assert fields["filter_tried"] == 2 + sum(k for k, _ in calls)
    assert 0 < fields["filter_kept_share"] < 1
    kept_names = [r["clip"] for r in reports if r["verified"]]
    assert len(kept_names) >= 2 and not next(r for r in reports if r["clip"] == "clip_0000")["verified"]
    # nothing to top up with: the generation keeps what it has, and says so
    out, _, fields = task.correct([wild], arm, 3, CorrectionContext(0, None))
    assert out == [] and fields["filter_kept"] == 0 and fields["filter_kept_share"] == 0.0
