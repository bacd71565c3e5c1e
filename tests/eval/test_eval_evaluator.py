"""The evaluator file: round trip, and every way a file can be wrong."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from synthetic import synthetic_clips

from motionloop.errors import CheckpointError, ConfigError, MotionloopError
from motionloop.eval import Evaluator, EvaluatorConfig, train_evaluator
from motionloop.eval.evaluator import STD_FLOOR
from motionloop.eval.kinematics import KIN_STD_FLOOR
from motionloop.eval.windows import window_index, window_inputs


def test_save_load_round_trip_gives_the_same_embedding(evaluator, real_clips, tmp_path):
    path = evaluator.save(tmp_path / "ev.pt")
    loaded = Evaluator.load(path)
    assert loaded.labels == evaluator.labels and loaded.config == evaluator.config
    assert loaded.train["heldout_accuracy"] == evaluator.train["heldout_accuracy"]
    idx = window_index([m.num_frames for m in real_clips[:5]], 40, stride=20)
    inputs = window_inputs(real_clips[:5], idx, 40)
    z1, l1 = evaluator.embed(*inputs)
    z2, l2 = loaded.embed(*inputs)
    assert z1.shape == (len(idx), evaluator.dim)
    np.testing.assert_array_equal(z1, z2)
    np.testing.assert_array_equal(l1, l2)


def test_training_records_accuracy_and_recognises_heldout_windows(evaluator):
    rec = evaluator.train
    assert rec["heldout_windows"] > 0 and rec["seconds"] > 0 and rec["seed"] == 0
    assert rec["heldout_accuracy"] > 0.5  # 8 labels: chance is 0.125


def test_embedding_statistics_standardise_real_windows(evaluator, real_clips):
    idx = window_index([m.num_frames for m in real_clips], 40, stride=10)
    z, _ = evaluator.embed(*window_inputs(real_clips, idx, 40))
    assert np.all(np.abs(z.mean(0)) < 0.2)
    assert np.all(z.std(0) < 1.2)
    assert np.all(evaluator.kin_std >= KIN_STD_FLOOR) and np.all(evaluator.embed_std >= STD_FLOOR)


def test_training_is_seeded(real_clips):
    cfg = EvaluatorConfig(steps=5, width=8, embed_dim=4, batch=8)
    a = train_evaluator(real_clips[::4], config=cfg, seed=1)
    b = train_evaluator(real_clips[::4], config=cfg, seed=1)
    for (k, va), vb in zip(a.net.state_dict().items(), b.net.state_dict().values()):
        assert torch.equal(va, vb), k


@pytest.mark.parametrize(
    "clips, match",
    [
        ([], "no clips"),
        ("unlabelled", "have none"),
        ("one_label", "at least 2 labels"),
        ("short", "at least 2 labels"),
    ],
)
def test_training_bad_input(clips, match, real_clips):
    cases = {
        "unlabelled": [real_clips[0].replace(label=None)] + real_clips[8:9],
        "one_label": real_clips[:3],
        "short": [m.slice(0, 20) for m in real_clips[::8]],
    }
    with pytest.raises(MotionloopError, match=match):
        train_evaluator(cases.get(clips, clips) if isinstance(clips, str) else clips)


def test_config_validation():
    with pytest.raises(ConfigError, match="window"):
        EvaluatorConfig(window=2)
    with pytest.raises(ConfigError, match="windw: unknown key"):
        EvaluatorConfig.from_dict({"windw": 40})


def _blob(evaluator, tmp_path):
    """The saved dict without its checksum (an edited file re-saved by hand, as older files are)."""
    evaluator.save(tmp_path / "ok.pt")
    blob = torch.load(tmp_path / "ok.pt", weights_only=True)
    blob.pop("sha256")
    return blob


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda b: b.update(layout="smpl24-rot6d-v0"), "layout"),
        (lambda b: b.update(feature_dim=10), "layout"),
        (lambda b: b.update(kin_names=b["kin_names"][:-1]), "kinematic"),
        (lambda b: b.update(format="something"), "not a motionloop evaluator"),
        (lambda b: b.update(version=99), "version"),
        (lambda b: b.pop("state_dict"), "corrupt"),
        (lambda b: b["state_dict"].pop(next(iter(b["state_dict"]))), "corrupt"),
        (lambda b: b.update(embed_std=[0.0] * len(b["embed_std"])), "embed_std"),
        (lambda b: b.update(kin_mean=[1.0]), "kin_mean"),
        (lambda b: b["normalizer"].update(layout="other"), "layout"),
        (lambda b: b.update(config={"window": 1}), "corrupt"),
    ],
)
def test_mismatched_or_corrupt_contents_raise_checkpoint_error(evaluator, tmp_path, change, match):
    blob = _blob(evaluator, tmp_path)
    change(blob)
    torch.save(blob, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=match):
        Evaluator.load(tmp_path / "bad.pt")


def test_unreadable_files_raise_checkpoint_error(evaluator, tmp_path):
    with pytest.raises(CheckpointError, match="no such evaluator file"):
        Evaluator.load(tmp_path / "missing.pt")
    evaluator.save(tmp_path / "ok.pt")
    data = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.pt").write_text("not a checkpoint")
    for name in ("truncated.pt", "text.pt"):
        with pytest.raises(CheckpointError, match="not a readable evaluator file"):
            Evaluator.load(tmp_path / name)
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not a motionloop evaluator"):
        Evaluator.load(tmp_path / "list.pt")


def test_a_damaged_weight_fails_the_checksum(evaluator, tmp_path):
    evaluator.save(tmp_path / "ok.pt")
    Evaluator.load(tmp_path / "ok.pt")
    blob = torch.load(tmp_path / "ok.pt", weights_only=True)
    name = next(iter(blob["state_dict"]))
    blob["state_dict"][name] = blob["state_dict"][name] + 1e-4
    torch.save(blob, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="edited.pt: contents do not match their SHA-256 checksum"):
        Evaluator.load(tmp_path / "edited.pt")


def test_synthetic_clips_are_reproducible():
    a, b = synthetic_clips(1, seed=5, frames=30), synthetic_clips(1, seed=5, frames=30)
    assert all(np.array_equal(x.poses, y.poses) and np.array_equal(x.trans, y.trans) for x, y in zip(a, b))
