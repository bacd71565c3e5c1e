"""Checkpoint files: bad files are refused with a CheckpointError that names the problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionloop.errors import CheckpointError
from motionloop.model.checkpoint import load_checkpoint, save_checkpoint
from motionloop.model.sample import sample


def _payload(path):
    """The stored dict without its checksum (an edited file re-saved by hand, as older files are)."""
    d = torch.load(path, map_location="cpu", weights_only=True)
    d.pop("sha256")
    return d


def test_save_load_gives_bit_identical_samples(tiny_ckpt_path, tmp_path):
    ckpt = load_checkpoint(tiny_ckpt_path)
    copy = save_checkpoint(ckpt, tmp_path / "copy.pt")
    a = sample(ckpt, 3, label="walk", sampler="ddim:10", seed=7)
    b = sample(copy, 3, label="walk", sampler="ddim:10", seed=7)
    for m, n in zip(a, b):
        assert np.array_equal(m.poses, n.poses) and np.array_equal(m.trans, n.trans)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_file(tiny_ckpt_path, tmp_path, damage):
    data = tiny_ckpt_path.read_bytes()
    bad = tmp_path / "bad.pt"
    bad.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00not a checkpoint" * 50, "empty": b""}[damage])
    with pytest.raises(CheckpointError, match="bad.pt: corrupt"):
        load_checkpoint(bad)


def test_flipped_bits_anywhere_are_caught(tiny_ckpt_path, tmp_path):
    data = tiny_ckpt_path.read_bytes()
    rng = np.random.default_rng(0)
    for i in range(12):
        bad = bytearray(data)
        bad[int(rng.integers(len(bad)))] ^= 1 << int(rng.integers(8))
        (tmp_path / f"f{i}.pt").write_bytes(bytes(bad))
        with pytest.raises(CheckpointError, match=f"f{i}.pt: (corrupt|contents do not match their SHA-256)"):
            load_checkpoint(tmp_path / f"f{i}.pt")


def test_an_edited_weight_fails_the_checksum(tiny_ckpt_path, tmp_path):
    d = torch.load(tiny_ckpt_path, map_location="cpu", weights_only=True)
    name = next(iter(d["model"]))
    d["model"][name] = d["model"][name] + 1e-3
    torch.save(d, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="edited.pt: contents do not match their SHA-256 checksum"):
        load_checkpoint(tmp_path / "edited.pt")


def test_other_torch_file(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"state_dict": {"w": torch.zeros(3)}}, path)
    with pytest.raises(CheckpointError, match="not a motionloop diffusion checkpoint"):
        load_checkpoint(path)


def test_other_feature_layout(tiny_ckpt_path, tmp_path):
    d = _payload(tiny_ckpt_path)
    d["layout"] = "smpl22-positions-v0"
    path = tmp_path / "other.pt"
    torch.save(d, path)
    with pytest.raises(CheckpointError, match="layout 'smpl22-positions-v0'.*smpl24-rot6d-v1"):
        load_checkpoint(path)


def test_normalizer_of_another_layout(tiny_ckpt_path, tmp_path):
    d = _payload(tiny_ckpt_path)
    d["normalizer"]["layout"] = "other-v9"
    path = tmp_path / "norm.pt"
    torch.save(d, path)
    with pytest.raises(CheckpointError, match="other-v9"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_config(tiny_ckpt_path, tmp_path):
    d = _payload(tiny_ckpt_path)
    d["model_config"]["width"] = 64
    path = tmp_path / "w.pt"
    torch.save(d, path)
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_checkpoint(path)


def test_missing_keys(tiny_ckpt_path, tmp_path):
    d = _payload(tiny_ckpt_path)
    del d["normalizer"], d["labels"]
    path = tmp_path / "k.pt"
    torch.save(d, path)
    with pytest.raises(CheckpointError, match="lacks normalizer, labels"):
        load_checkpoint(path)


def test_save_is_atomic(tiny_ckpt_path, tmp_path, monkeypatch):
    ckpt = load_checkpoint(tiny_ckpt_path)
    target = tmp_path / "c.pt"
    save_checkpoint(ckpt, target)
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        save_checkpoint(ckpt, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
