"""Sampling to Motions: count, length, labels, canonical start, and every bad request."""

from __future__ import annotations

import numpy as np
import pytest

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.errors import ConfigError, UnknownNameError
from motionloop.model.checkpoint import load_checkpoint
from motionloop.model.sample import sample
from motionloop.motion import Motion, load_clips, save_clips


@pytest.fixture(scope="module")
def ckpt(tiny_ckpt_path):
    return load_checkpoint(tiny_ckpt_path)


def test_clips_of_the_asked_count_length_and_label(ckpt):
    clips = sample(ckpt, 5, label="wave", seconds=0.5, sampler="ddim:5", seed=0)
    assert len(clips) == 5
    for m in clips:
        assert isinstance(m, Motion) and m.num_frames == 10 and m.fps == 20.0
        assert m.label == "wave" and m.source == "generated"
        assert np.all(np.isfinite(m.poses)) and np.all(np.isfinite(m.trans))
        # canonical: pelvis over the origin, facing +x at frame 0
        assert np.allclose(m.trans[0, :2], 0.0, atol=1e-6)
        assert rot.yaw_of(rot.aa_to_mat(m.poses[0, sk.PELVIS])) == pytest.approx(0.0, abs=1e-5)
    assert not np.allclose(clips[0].poses, clips[1].poses)  # different noise, different clips


def test_default_length_is_the_training_window_and_ddpm_works(ckpt):
    clips = sample(ckpt, 2, sampler="ddpm", seed=1)
    assert [m.num_frames for m in clips] == [ckpt.window] * 2


def test_labels_drawn_from_the_training_mix_or_given_per_clip(ckpt):
    drawn = sample(ckpt, 40, sampler="ddim:2", seed=3)
    assert {m.label for m in drawn} == {"walk", "wave"}
    given = sample(ckpt, 3, label=["walk", "wave", "walk"], sampler="ddim:2")
    assert [m.label for m in given] == ["walk", "wave", "walk"]
    unconditional = sample(ckpt, 2, label="walk", guidance=0.0, sampler="ddim:2")
    assert [m.label for m in unconditional] == [None, None]


def test_seeded_and_batched(ckpt):
    a = sample(ckpt, 5, label="walk", sampler="ddim:4", seed=9, batch_size=2)
    b = sample(ckpt, 5, label="walk", sampler="ddim:4", seed=9, batch_size=2)
    assert all(np.array_equal(m.poses, n.poses) for m, n in zip(a, b))
    c = sample(ckpt, 5, label="walk", sampler="ddim:4", seed=10, batch_size=2)
    assert not np.array_equal(a[0].poses, c[0].poses)


def test_guidance_changes_the_result(ckpt):
    a = sample(ckpt, 2, label="walk", sampler="ddim:4", guidance=1.0, seed=2)
    b = sample(ckpt, 2, label="walk", sampler="ddim:4", guidance=3.0, seed=2)
    assert not np.allclose(a[0].poses, b[0].poses)


def test_clip_set_round_trip(ckpt, tmp_path):
    clips = sample(ckpt, 3, label="walk", sampler="ddim:3", seed=0)
    save_clips(clips, tmp_path / "out")
    back = load_clips(tmp_path / "out")
    assert len(back) == 3 and back[0].label == "walk" and back[0].source == "generated"
    assert np.allclose(back[0].poses, clips[0].poses, atol=1e-6)


def test_unknown_label_lists_the_valid_ones(ckpt):
    with pytest.raises(UnknownNameError, match="unknown label 'dance'; valid: walk, wave"):
        sample(ckpt, 2, label="dance")
    with pytest.raises(ConfigError, match="2 labels given for n=3"):
        sample(ckpt, 3, label=["walk", "wave"])


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_count(ckpt, n):
    with pytest.raises(ConfigError, match="n must be an integer >= 1"):
        sample(ckpt, n)


@pytest.mark.parametrize("seconds", [1.0, 0.0, "long"])
def test_bad_length(ckpt, seconds):
    with pytest.raises(ConfigError, match="seconds"):
        sample(ckpt, 1, seconds=seconds)


def test_too_long_names_the_limit(ckpt):
    with pytest.raises(ConfigError, match=r"at most 0.8 s"):
        sample(ckpt, 1, seconds=3.0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"sampler": "euler"}, "valid: ddpm"),
        ({"guidance": -1.0}, "guidance"),
        ({"guidance": float("nan")}, "guidance"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_options(ckpt, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        sample(ckpt, 1, **kwargs)


def test_missing_checkpoint(tmp_path):
    from motionloop.errors import CheckpointError

    with pytest.raises(CheckpointError, match="no such checkpoint"):
        sample(tmp_path / "none.pt", 1)


def test_physics_steps_give_tracked_clips(ckpt):
    from motionloop.physics import metrics as pm
    from motionloop.physics.correct import CorrectionConfig, correct

    plain = sample(ckpt, 2, label="walk", seed=4, sampler="ddim:10")
    guided = sample(ckpt, 2, label="walk", seed=4, sampler="ddim:10", physics_steps=2)
    assert [m.num_frames for m in guided] == [m.num_frames for m in plain]
    assert all(m.label == "walk" and m.source == "generated" for m in guided)
    # the last projection is the final step: the clips are as grounded as post-hoc corrected ones
    post, _ = correct(plain, CorrectionConfig())
    assert np.mean([pm.physics_metrics(m)["float_mm"] for m in guided]) < 5.0
    assert np.mean([pm.physics_metrics(m)["penetrate_mm"] for m in guided]) < 5.0
    assert np.mean([pm.physics_metrics(m)["phys_err_mm"] for m in post]) < np.mean(
        [pm.physics_metrics(m)["phys_err_mm"] for m in plain]
    )
    again = sample(ckpt, 2, label="walk", seed=4, sampler="ddim:10+physics:2")
    assert all(np.allclose(a.poses, b.poses) for a, b in zip(guided, again))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sampler": "ddim:10", "physics_steps": 11}, "physics-steps 11 is more than"),
        ({"sampler": "ddim:10+physics:2", "physics_steps": 3}, "ask for different projections"),
        ({"sampler": "ddim:10", "physics_steps": -1}, "physics_steps must be an integer"),
    ],
)
def test_bad_physics_steps_name_the_option(ckpt, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        sample(ckpt, 1, label="walk", **kwargs)
