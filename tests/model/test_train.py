"""Training: overfitting one batch, checkpoints, exact resume, fine-tuning."""

from __future__ import annotations

import dataclasses
import importlib
import logging

import numpy as np
import pytest
import torch

from motionloop.data.features import FEATURE_DIM, LAYOUT, motion_to_features
from motionloop.data.normalize import Normalizer
from motionloop.data.windows import make_windows
from motionloop.errors import CheckpointError, ConfigError, UnknownNameError
from motionloop.model.checkpoint import data_fingerprint, load_checkpoint
from motionloop.model.config import TrainConfig
from motionloop.model.denoiser import Denoiser
from motionloop.model.diffusion import GaussianDiffusion
from motionloop.model.losses import KinematicLosses
from motionloop.model.train import fine_tune, train


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_tiny_model_overfits_one_batch(toy_clips, tiny_model, tiny_config):
    """With x0, t, noise and labels fixed, the network can memorise the batch: the loss must fall 10x."""
    feats = [motion_to_features(m)[:16] for m in toy_clips]
    norm = Normalizer.fit(feats)
    x0 = torch.from_numpy(np.stack([norm.normalize(f) for f in feats])).float()  # (6, 16, D)
    g = torch.Generator().manual_seed(0)
    t = torch.randint(0, 1000, (6,), generator=g)
    noise = torch.randn(x0.shape, generator=g)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    torch.manual_seed(0)
    net = Denoiser(dataclasses.replace(tiny_model, width=64, ff=128, num_labels=2))
    diffusion = GaussianDiffusion()
    aux = KinematicLosses(norm, 20.0)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        out = diffusion.training_losses(net, x0, t, labels, noise, aux, tiny_config.aux_weights)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    assert losses[-1] < losses[0] / 10


def test_train_writes_a_self_describing_checkpoint(tiny_ckpt_path, tiny_model, tiny_config):
    ckpt = load_checkpoint(tiny_ckpt_path)
    assert ckpt.step == 20
    assert ckpt.labels == ("walk", "wave") and ckpt.label_counts == (12, 12)  # 3 clips x 4 windows each
    assert ckpt.model.config == dataclasses.replace(tiny_model, num_labels=2)
    assert ckpt.config == tiny_config and ckpt.window == 16 and ckpt.fps == 20.0
    assert ckpt.normalizer.layout == LAYOUT and ckpt.normalizer.dim == FEATURE_DIM
    assert ckpt.optimizer_state is not None and ckpt.rng_state is not None
    assert ckpt.history and ckpt.history[-1][0] == 20 and np.isfinite(ckpt.history[-1][1])
    assert not ckpt.model.training


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, toy_clips, tiny_model, tiny_config):
    full = train(toy_clips, tmp_path / "full.pt", 6, model=tiny_model, config=tiny_config, seed=1, progress=False)
    part = tmp_path / "part.pt"
    train(toy_clips, part, 3, model=tiny_model, config=tiny_config, seed=1, progress=False)
    resumed = train(toy_clips, part, 6, model=tiny_model, config=tiny_config, seed=1, resume=True, progress=False)
    assert resumed.steps == 3 and resumed.checkpoint.step == 6
    a, b = _weights(full.checkpoint.model), _weights(resumed.checkpoint.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and the seed matters
    other = train(toy_clips, tmp_path / "other.pt", 6, model=tiny_model, config=tiny_config, seed=2, progress=False)
    assert not torch.equal(a["input.weight"], _weights(other.checkpoint.model)["input.weight"])


def test_resume_refuses_other_config_or_data(tmp_path, toy_clips, tiny_model, tiny_config):
    path = tmp_path / "c.pt"
    train(toy_clips, path, 2, model=tiny_model, config=tiny_config, progress=False)
    with pytest.raises(CheckpointError, match="config"):
        train(
            toy_clips,
            path,
            4,
            model=tiny_model,
            config=dataclasses.replace(tiny_config, lr=1e-4),
            resume=True,
            progress=False,
        )
    with pytest.raises(CheckpointError, match="model"):
        train(
            toy_clips,
            path,
            4,
            model=dataclasses.replace(tiny_model, width=64),
            config=tiny_config,
            resume=True,
            progress=False,
        )
    with pytest.raises(CheckpointError, match="data"):
        train(toy_clips[:4], path, 4, model=tiny_model, config=tiny_config, resume=True, progress=False)


def test_train_bad_input(tmp_path, toy_clips, make_toy_clip, tiny_model, tiny_config):
    with pytest.raises(ConfigError, match="steps"):
        train(toy_clips, tmp_path / "x.pt", 0, model=tiny_model, config=tiny_config, progress=False)
    with pytest.raises(ConfigError, match="no clips"):
        train([], tmp_path / "x.pt", 5, model=tiny_model, config=tiny_config, progress=False)
    with pytest.raises(ConfigError, match="16 frames"):
        train(
            [make_toy_clip("walk", 0, frames=10)],
            tmp_path / "x.pt",
            5,
            model=tiny_model,
            config=tiny_config,
            progress=False,
        )
    with pytest.raises(UnknownNameError, match="cpu-small"):
        train(toy_clips, tmp_path / "x.pt", 5, model="giant", config=tiny_config, progress=False)
    assert not (tmp_path / "x.pt").exists()


def test_fine_tune_changes_weights_and_keeps_the_rest(tiny_ckpt_path, tmp_path, make_toy_clip):
    base = load_checkpoint(tiny_ckpt_path)
    before = _weights(base.model)
    moments = [v["exp_avg"].clone() for v in base.optimizer_state["state"].values()]
    new_clips = [make_toy_clip("walk", 10 + i) for i in range(3)]  # another set, one label only
    result = fine_tune(base, new_clips, 5, tmp_path / "ft.pt", seed=0, progress=False)
    after = load_checkpoint(tmp_path / "ft.pt")
    assert result.steps == 5 and after.step == base.step + 5
    assert any(not torch.equal(before[k], v) for k, v in _weights(after.model).items())
    # the checkpoint object passed in is untouched
    assert all(torch.equal(before[k], v) for k, v in _weights(base.model).items()) and base.step == 20
    assert all(torch.equal(m, v["exp_avg"]) for m, v in zip(moments, base.optimizer_state["state"].values()))
    assert after.model.config == base.model.config and after.config == base.config
    assert after.labels == base.labels and after.label_counts == base.label_counts
    assert np.array_equal(after.normalizer.mean, base.normalizer.mean)
    assert np.array_equal(after.normalizer.std, base.normalizer.std)
    assert after.data_hash != base.data_hash


def test_fine_tune_from_a_path_is_deterministic(tiny_ckpt_path, tmp_path, toy_clips):
    a = fine_tune(tiny_ckpt_path, toy_clips, 3, tmp_path / "a.pt", seed=4, progress=False)
    b = fine_tune(tiny_ckpt_path, toy_clips, 3, tmp_path / "b.pt", seed=4, progress=False)
    wa, wb = _weights(a.checkpoint.model), _weights(b.checkpoint.model)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_fine_tune_bad_input(tiny_ckpt_path, tmp_path, toy_clips):
    with pytest.raises(UnknownNameError, match="walk, wave"):
        fine_tune(tiny_ckpt_path, [toy_clips[0].replace(label="dance")], 2, tmp_path / "f.pt", progress=False)
    with pytest.raises(ConfigError, match="steps"):
        fine_tune(tiny_ckpt_path, toy_clips, 0, tmp_path / "f.pt", progress=False)
    with pytest.raises(CheckpointError, match="no such"):
        fine_tune(tmp_path / "missing.pt", toy_clips, 2, tmp_path / "f.pt", progress=False)


def test_train_config_round_trip_and_validation(tiny_config):
    cfg = dataclasses.replace(tiny_config, p_uncond=0.2)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    # the message names the unknown key and the class
    with pytest.raises(ConfigError, match="TrainConfig.bogus: unknown key"):
        TrainConfig.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises(ConfigError, match="p_uncond"):
        TrainConfig(p_uncond=1.5)
    with pytest.raises(ConfigError, match="window"):
        TrainConfig(window=1)


# ------------------------------------------------------------------ clips shorter than a window
# data/windows.py: a clip shorter than the window is skipped (not padded, no mask), with an
# info line giving the count; a clip of exactly one window length gives one window.


def test_train_skips_clips_shorter_than_a_window(
    tmp_path, toy_clips, make_toy_clip, tiny_model, tiny_config, caplog, monkeypatch
):
    window = tiny_config.window
    short = make_toy_clip("kick", 0, frames=window - 1)  # one frame short: no window, its label unused
    exact = make_toy_clip("walk", 7, frames=window)  # exactly one window
    clips = [*toy_clips, short, exact]
    windows = make_windows(clips, window, tiny_config.stride)
    # 40-frame clips: starts 0, 8, 16, 24; nothing of the short clip; all windows equally long
    assert len(windows) == 4 * len(toy_clips) + 1
    assert {w.num_frames for w in windows} == {window}
    assert not any(w.label == "kick" or w.source.startswith(short.source) for w in windows)
    assert [w.source for w in windows if w.source.startswith(exact.source)] == [f"{exact.source}[0:{window}]"]
    assert np.array_equal(windows[-1].poses, exact.poses) and np.array_equal(windows[1].poses, toy_clips[0].poses[8:24])

    # a loss-history entry every 5 steps (the module itself, not a re-exported `train` function)
    train_module = importlib.import_module("motionloop.model.train")
    monkeypatch.setattr(train_module, "LOG_EVERY", 5)
    with caplog.at_level(logging.INFO, logger="motionloop"):
        result = train(clips, tmp_path / "s.pt", 20, model=tiny_model, config=tiny_config, seed=0, progress=False)
    assert f"1 of {len(clips)} clips are shorter than a {window}-frame window" in caplog.text
    assert f"on {len(windows)} windows of {len(clips)} clips, labels: walk, wave" in caplog.text
    ckpt = load_checkpoint(result.path)
    # the vocabulary and label counts come from the windows: no "kick", one more walk window
    assert ckpt.labels == ("walk", "wave") and ckpt.label_counts == (13, 12)
    assert ckpt.model.config.num_labels == 2 and ckpt.window == window
    # the data hash covers every clip given, the skipped one too (a resume with it left out is refused)
    assert ckpt.data_hash == data_fingerprint(clips) != data_fingerprint([*toy_clips, exact])
    with pytest.raises(CheckpointError, match="data"):
        train([*toy_clips, exact], result.path, 25, model=tiny_model, config=tiny_config, resume=True, progress=False)
    # it trained: finite losses, and the running mean (history: mean of the steps so far) fell
    steps, losses = zip(*ckpt.history)
    assert steps == (5, 10, 15, 20) and np.all(np.isfinite(losses))
    assert losses[-1] < losses[0] and result.final_loss == pytest.approx(losses[-1])


def test_fine_tune_skips_short_clips_whatever_their_label(tiny_ckpt_path, tmp_path, toy_clips, make_toy_clip, caplog):
    """A clip too short for a window (the bundled kicks) adds nothing: the same weights as
    without it, even though its label is outside the checkpoint's vocabulary."""
    short = make_toy_clip("kick", 0, frames=10)
    base = fine_tune(tiny_ckpt_path, toy_clips, 3, tmp_path / "a.pt", seed=4, progress=False)
    with caplog.at_level(logging.INFO, logger="motionloop.data.windows"):
        with_short = fine_tune(tiny_ckpt_path, [*toy_clips, short], 3, tmp_path / "b.pt", seed=4, progress=False)
    assert f"1 of {len(toy_clips) + 1} clips are shorter than a 16-frame window" in caplog.text
    a, b = _weights(base.checkpoint.model), _weights(with_short.checkpoint.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert with_short.final_loss == base.final_loss and np.isfinite(with_short.final_loss)
    after = load_checkpoint(tmp_path / "b.pt")
    assert after.step == 23 and after.labels == ("walk", "wave") and after.label_counts == (12, 12)
    assert after.data_hash == data_fingerprint([*toy_clips, short]) != base.checkpoint.data_hash
    # only short clips: nothing to train on, said with the longest length, and nothing written
    with pytest.raises(ConfigError, match="no clip has the 16 frames of a window \\(longest: 10\\)"):
        fine_tune(tiny_ckpt_path, [short], 2, tmp_path / "c.pt", progress=False)
    assert not (tmp_path / "c.pt").exists()
