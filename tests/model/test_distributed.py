"""Scale-out: `--device` validation, bf16 autocast, and distributed data-parallel training.

The distributed tests launch 2 CPU ranks with torchrun (`python -m torch.distributed.run`, gloo
on 127.0.0.1) and compare them with a one-process run of the same global batch and seed.
Measured agreement on the tiny model: loss history within ~1e-7 relative (tolerance 1e-5),
weights within ~5e-6 absolute after 12 steps (tolerance 1e-4); a 2-rank resume across a
restart is bit-identical to an uninterrupted 2-rank run.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from motionloop.cli import main
from motionloop.data.features import motion_to_features
from motionloop.data.normalize import Normalizer
from motionloop.data.windows import WindowSampler, make_windows
from motionloop.device import resolve_device
from motionloop.errors import ConfigError
from motionloop.model.checkpoint import load_checkpoint
from motionloop.model.denoiser import Denoiser
from motionloop.model.diffusion import GaussianDiffusion
from motionloop.model.losses import KinematicLosses
from motionloop.motion import save_clips

train_module = importlib.import_module("motionloop.model.train")
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LOSS_RTOL = 1e-5  # one process vs 2 ranks, loss history (measured ~1e-7)
WEIGHT_ATOL = 1e-4  # weights after 12 steps at lr 1e-3 (measured ~5e-6)
NO_CUDA = not torch.cuda.is_available()


# --------------------------------------------------------------------------- --device
def test_resolve_device_is_the_one_validator():
    sample_module = importlib.import_module("motionloop.model.sample")
    eval_train = importlib.import_module("motionloop.eval.train")
    assert train_module.resolve_device is sample_module.resolve_device is eval_train.resolve_device is resolve_device
    assert resolve_device("cpu") == resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device("auto") == resolve_device(None) == torch.device("cuda" if not NO_CUDA else "cpu")
    for bad in ("gpu", "tpu", "cuda:x", "cuda:", "cpu:1", "mps", ""):
        with pytest.raises(ConfigError, match="valid: cpu, cuda, cuda:N, auto"):
            resolve_device(bad)
    if NO_CUDA:
        for name in ("cuda", "cuda:0", "cuda:9", torch.device("cuda")):
            with pytest.raises(ConfigError, match="CUDA is not available here"):
                resolve_device(name)
    else:
        with pytest.raises(ConfigError, match="CUDA device"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")


COMMANDS = {
    "train": ["train", "--data", "{missing}", "--steps", "1", "--out", "{tmp}/m.pt"],
    "finetune": ["finetune", "--data", "{missing}", "--steps", "1", "--out", "{tmp}/m.pt"],
    "sample": ["sample", "--ckpt", "{missing}", "--n", "1", "--out", "{tmp}/gen"],
    "train-evaluator": ["train-evaluator", "--data", "{missing}", "--out", "{tmp}/ev.pt"],
}
BAD_DEVICES = ["gpu", "cuda:9", "tpu"] + (["cuda"] if NO_CUDA else [])


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("device", BAD_DEVICES)
def test_a_bad_device_is_one_line_before_anything_is_read(tmp_path, capsys, command, device):
    """The data / checkpoint path does not exist: the error is the device's, so it came first."""
    argv = [a.format(missing=tmp_path / "missing", tmp=tmp_path) for a in COMMANDS[command]]
    assert main([*argv, "--device", device]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"motionloop: error: device {device!r}: ") and "\n" not in err
    assert "missing" not in err and not list(tmp_path.iterdir())


def test_train_and_fine_tune_check_the_device_first(tmp_path):
    with pytest.raises(ConfigError, match="device 'gpu'"):
        train_module.train([], tmp_path / "x.pt", 1, device="gpu")  # no clips: the device is checked first
    with pytest.raises(ConfigError, match="device 'tpu'"):
        train_module.fine_tune(tmp_path / "missing.pt", [], 1, tmp_path / "x.pt", device="tpu")


def test_train_evaluator_takes_a_device(toy_clips):
    from motionloop.eval import EvaluatorConfig, train_evaluator

    cfg = dataclasses.replace(EvaluatorConfig(), steps=2)
    a = train_evaluator(toy_clips, config=cfg, seed=0, device="cpu")
    b = train_evaluator(toy_clips, config=cfg, seed=0, device="auto" if NO_CUDA else "cpu")
    assert next(a.net.parameters()).device.type == "cpu"
    assert all(torch.equal(x, y) for x, y in zip(a.net.state_dict().values(), b.net.state_dict().values()))


# --------------------------------------------------------------------------- bf16
def test_bf16_autocast_trains_on_the_cpu(tmp_path, toy_clips, tiny_model, tiny_config):
    """CPU autocast runs bf16; weights and losses stay float32 and land close to a float32 run."""
    kw = dict(model=tiny_model, config=tiny_config, seed=0, progress=False)
    fp32 = train_module.train(toy_clips, tmp_path / "fp32.pt", 5, **kw)
    bf16 = train_module.train(toy_clips, tmp_path / "bf16.pt", 5, bf16=True, **kw)
    ckpt = load_checkpoint(bf16.path)
    assert ckpt.step == 5 and all(v.dtype == torch.float32 for v in ckpt.model.state_dict().values())
    assert np.isfinite(bf16.final_loss) and bf16.final_loss == pytest.approx(fp32.final_loss, rel=0.05)
    assert bf16.final_loss != fp32.final_loss  # it did run in bf16
    with pytest.raises(ConfigError, match="bf16"):
        train_module.train(toy_clips, tmp_path / "x.pt", 1, bf16="yes", **kw)


def test_bf16_from_the_command_line(tmp_path, capsys, toy_clips):
    save_clips(toy_clips, tmp_path / "clips")
    out = tmp_path / "m.pt"
    argv = ["train", "--data", str(tmp_path / "clips"), "--steps", "1", "--batch-size", "4", "--window", "16"]
    assert main([*argv, "--device", "cpu", "--bf16", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out and load_checkpoint(out).step == 1
    argv = ["finetune", "--ckpt", str(out), "--data", str(tmp_path / "clips"), "--steps", "1", "--bf16"]
    assert main([*argv, "--device", "auto", "--out", str(tmp_path / "f.pt")]) == 0
    assert load_checkpoint(tmp_path / "f.pt").step == 2


# --------------------------------------------------------------------------- the shard arithmetic
@pytest.mark.parametrize("n, world", [(7, 2), (7, 3), (8, 2), (3, 3), (64, 5)])
def test_shards_are_disjoint_contiguous_and_even(n, world):
    parts = [train_module._Ranks(r, world).shard(n) for r in range(world)]
    assert [i for p in parts for i in range(n)[p]] == list(range(n))
    sizes = [p.stop - p.start for p in parts]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1


@pytest.mark.parametrize("world", [2, 3])
def test_the_ranks_losses_add_up_to_the_global_batch_loss_and_gradient(toy_clips, tiny_model, tiny_config, world):
    """What the ranks of a DDP run compute, here in one process: sum_r grad(world * part_r) / world
    (DDP's average) is the one-process gradient of the whole batch, uneven slices and the
    foot-contact term (a mean over planted frames, not over windows) included."""
    windows = make_windows(toy_clips, 16, 8)
    norm = Normalizer.fit([motion_to_features(m) for m in toy_clips])
    sampler = WindowSampler(windows, 7, seed=3, normalizer=norm)
    batch = sampler.next_batch()
    x0 = torch.from_numpy(batch.features)
    g = torch.Generator().manual_seed(0)
    t = torch.randint(0, 1000, (7,), generator=g)
    noise = torch.randn(x0.shape, generator=g)
    labels = torch.from_numpy(batch.labels)
    torch.manual_seed(0)
    net = Denoiser(dataclasses.replace(tiny_model, num_labels=2))
    torch.nn.init.normal_(net.output.weight, std=0.05)  # not the zero head: every term has a gradient
    diffusion, aux, weights = GaussianDiffusion(), KinematicLosses(norm, 20.0), tiny_config.aux_weights

    full = diffusion.training_losses(net, x0, t, labels, noise, aux, weights)
    full["loss"].backward()
    want = {k: p.grad.clone() for k, p in net.named_parameters()}
    net.zero_grad()
    summed = {k: 0.0 for k in full}
    contact_shares = []
    for r in range(world):
        part = train_module._Ranks(r, world).shard(7)
        terms = diffusion.training_losses(net, x0[part], t[part], labels[part], noise[part], aux, weights)
        shares = train_module._loss_shares(batch.features, part, norm, [k for k in terms if k != "loss"])
        contact_shares.append(shares["foot_contact"])
        objective, parts = train_module._rank_loss(terms, weights, shares)
        objective.backward()  # accumulates sum_r grad(part_r) = DDP's average of grad(world * part_r)
        for k, v in {**parts, "loss": objective}.items():
            summed[k] += v.item()
    assert sum(contact_shares) == pytest.approx(1.0)
    sizes = [(p.stop - p.start) / 7 for p in (train_module._Ranks(r, world).shard(7) for r in range(world))]
    assert not np.allclose(contact_shares, sizes)  # the planted frames are not spread as the windows
    for k, v in full.items():
        assert summed[k] == pytest.approx(v.item(), rel=1e-5), k
    for k, p in net.named_parameters():
        torch.testing.assert_close(p.grad, want[k], rtol=1e-4, atol=1e-7, msg=k)


def test_a_batch_smaller_than_the_world_is_refused(tmp_path, toy_clips, tiny_model, tiny_config, monkeypatch):
    monkeypatch.setattr(train_module, "_data_parallel", lambda device: (train_module._Ranks(0, 16), device))
    with pytest.raises(ConfigError, match="batch of 8 windows cannot be split among 16 ranks"):
        train_module.train(toy_clips, tmp_path / "x.pt", 1, model=tiny_model, config=tiny_config, progress=False)


def test_a_half_set_up_distributed_environment_is_one_line(tmp_path, toy_clips, tiny_model, tiny_config, monkeypatch):
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(
        ConfigError, match="WORLD_SIZE=2 but RANK, MASTER_ADDR, MASTER_PORT not set; launch with torchrun"
    ):
        train_module.train(toy_clips, tmp_path / "x.pt", 1, model=tiny_model, config=tiny_config, progress=False)
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun --nproc-per-node 1: a plain single process
    res = train_module.train(toy_clips, tmp_path / "y.pt", 1, model=tiny_model, config=tiny_config, progress=False)
    assert res.checkpoint.step == 1 and "torch_ranks" not in res.checkpoint.rng_state


# --------------------------------------------------------------------------- 2 ranks (torchrun)
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`torchrun --nproc-per-node 2 ARGS` on 127.0.0.1 and a free port, one thread per rank."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1", PYTHONWARNINGS="ignore::FutureWarning")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    cmd += ["--master-addr", "127.0.0.1", "--master-port", str(_free_port()), *args]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _workers(tmp_path: Path, name: str, runs: list[dict], batch_size: int, seed: int) -> list[dict]:
    report = tmp_path / name
    report.mkdir()
    spec = {"runs": runs, "batch_size": batch_size, "seed": seed, "report": str(report)}
    (report / "spec.json").write_text(json.dumps(spec))
    _torchrun(str(HERE / "ddp_worker.py"), str(report / "spec.json"))
    return [json.loads((report / f"rank{r}.json").read_text()) for r in range(2)]


def _losses(history) -> np.ndarray:
    return np.array([v for _, v in history])


@pytest.mark.slow
def test_two_ranks_match_one_process_and_resume_across_a_restart(
    tmp_path, toy_clips, tiny_model, tiny_config, monkeypatch
):
    """Batch 7 (slices of 4 and 3), 12 steps of train and 3 of fine_tune, a loss-history entry per step."""
    full, half, ft = (str(tmp_path / name) for name in ("full.pt", "half.pt", "ft.pt"))
    runs = [{"out": full, "steps": 12}, {"out": half, "steps": 6}, {"finetune": full, "out": ft, "steps": 3}]
    ranks = _workers(tmp_path, "run1", runs, batch_size=7, seed=1)
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["saves"] == [[full, 12], [half, 6], [ft, 15]] and ranks[1]["saves"] == []  # rank 0 alone writes
    assert ranks[0]["runs"] == ranks[1]["runs"]  # the same weights and (global-batch) losses on both ranks

    monkeypatch.setattr(train_module, "LOG_EVERY", 1)
    config = dataclasses.replace(tiny_config, batch_size=7)
    one = train_module.train(
        toy_clips, tmp_path / "one.pt", 12, model=tiny_model, config=config, seed=1, progress=False
    )
    two = _assert_same_training(one.path, full, 12)
    assert np.array_equal(_losses(ranks[0]["runs"][0]["history"]), _losses(two.history))
    assert len(two.rng_state["torch_ranks"]) == 2
    train_module.fine_tune(full, toy_clips, 3, tmp_path / "ft1.pt", seed=1, progress=False)
    _assert_same_training(tmp_path / "ft1.pt", ft, 15)

    # restart: 2 fresh ranks continue half.pt (6 steps) to 12, bit-identical to the uninterrupted run
    resumed = _workers(tmp_path, "run2", [{"out": half, "steps": 12, "resume": True}], batch_size=7, seed=1)
    assert resumed[0]["saves"] == [[half, 12]] and resumed[1]["saves"] == []
    assert resumed[0]["runs"][0]["steps"] == 6
    assert resumed[0]["runs"][0]["weights"] == resumed[1]["runs"][0]["weights"] == ranks[0]["runs"][0]["weights"]
    after = load_checkpoint(half)
    w = two.model.state_dict()
    assert after.step == 12 and all(torch.equal(after.model.state_dict()[k], w[k]) for k in w)
    # the history's entries are running means of the steps since the start of the call: per-step losses
    k = np.arange(1, 13)
    per_step = k * _losses(two.history) - np.r_[0.0, (k * _losses(two.history))[:-1]]
    since_restart = np.cumsum(per_step[6:]) / np.arange(1, 7)
    np.testing.assert_allclose(_losses(after.history)[6:], since_restart, rtol=1e-6)


@pytest.mark.slow
def test_torchrun_train_command(tmp_path, toy_clips):
    """`torchrun -m motionloop train` as a user runs it: one `wrote` line and one log, the same
    training as one process."""
    save_clips(toy_clips, tmp_path / "clips")
    argv = ["train", "--data", str(tmp_path / "clips"), "--preset", "cpu-small", "--steps", "3"]
    argv += ["--batch-size", "6", "--window", "16", "--seed", "3", "--device", "cpu"]
    proc = _torchrun("-m", "motionloop", *argv, "--out", str(tmp_path / "two.pt"))
    assert proc.stdout.count("wrote") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("motionloop.model.train: training Denoiser") == 1  # rank 0 alone logs
    assert main([*argv, "--out", str(tmp_path / "one.pt")]) == 0
    _assert_same_training(tmp_path / "one.pt", tmp_path / "two.pt", 3)


def _assert_same_training(one_path, two_path, step: int):
    """The checkpoint of 2 ranks at `two_path` against the one-process one at `one_path`; returns it."""
    one, two = load_checkpoint(one_path), load_checkpoint(two_path)
    assert two.step == one.step == step and two.history[-1][0] == step
    np.testing.assert_allclose(_losses(two.history), _losses(one.history), rtol=LOSS_RTOL)
    w1, w2 = one.model.state_dict(), two.model.state_dict()
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=0, atol=WEIGHT_ATOL, msg=k)
    return two
