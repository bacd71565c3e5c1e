"""The run directory: resume after a kill loses nothing, a changed config is refused, a full
disk leaves the finished generations intact."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from motionloop.errors import ConfigError, MotionloopError
from motionloop.io import read_jsonl
from motionloop.loop import run_loop
from motionloop.loop.configio import from_dict
from motionloop.loop.toy import ToyTask


class Killed(Exception):
    """Stands in for SIGKILL: raised from inside a generation, never caught by the loop."""


def _fail_on_call(monkeypatch, name: str, call: int, exc: BaseException):
    """Make ToyTask.`name` raise `exc` on its `call`-th call (1-based); return the counter."""
    real = getattr(ToyTask, name)
    calls = {"n": 0}

    def wrapper(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise exc
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ToyTask, name, wrapper)
    return calls


def test_resume_after_a_kill_gives_the_uninterrupted_metrics(tmp_path, toy_config, records_without_timing, monkeypatch):
    whole = run_loop(toy_config, tmp_path / "whole", progress=False)
    expected = records_without_timing(whole / "metrics.jsonl")
    assert len(expected) == len(toy_config.seeds) * len(toy_config.units()) * (toy_config.generations + 1)

    # correct() runs for the ideal arm only, once per seed and generation: the 7th call is
    # generation 3 of seed 0, after that generation's samples were already written
    _fail_on_call(monkeypatch, "correct", 7, Killed())
    with pytest.raises(Killed):
        run_loop(toy_config, tmp_path / "killed", progress=False)
    monkeypatch.undo()
    killed = tmp_path / "killed"
    partial = killed / "accumulate_lam1" / "seed_0" / "gen_003"
    assert (partial / "samples.npy").exists() and not (partial / "corrected.npy").exists()
    before = records_without_timing(killed / "metrics.jsonl")
    assert before == expected[: len(before)] and 0 < len(before) < len(expected)
    assert not any(r["generation"] == 3 and r["arm"] == "accumulate" for r in before)

    run_loop(toy_config, killed, resume=True, progress=False)
    assert records_without_timing(killed / "metrics.jsonl") == expected
    assert (partial / "corrected.npy").exists()
    for name in ("samples.npy", "corrected.npy", "model.npz"):
        a, b = (
            np.load(whole / "accumulate_lam1/seed_0/gen_004" / name),
            np.load(killed / "accumulate_lam1/seed_0/gen_004" / name),
        )
        assert all(np.array_equal(a[k], b[k]) for k in a.files) if name.endswith(".npz") else np.array_equal(a, b)
    assert (killed / "curves.png").stat().st_size > 0 and (killed / "report.html").exists()


def test_a_resumed_complete_run_is_unchanged(tmp_path, toy_config, records_without_timing):
    root = run_loop(toy_config, tmp_path / "run", progress=False)
    rows = read_jsonl(root / "metrics.jsonl")
    run_loop(toy_config, root, resume=True, progress=False)
    assert read_jsonl(root / "metrics.jsonl") == rows


def test_resume_refuses_a_different_config_and_says_what_differs(tmp_path, toy_dict):
    root = run_loop(from_dict(toy_dict()), tmp_path / "run", progress=False)
    changed = toy_dict(n=30, lambdas=[0.5])
    with pytest.raises(
        ConfigError, match=r"cannot resume with a different config \(lambdas: \[1.0\] -> \[0.5\]; n: 12 -> 30\)"
    ):
        run_loop(from_dict(changed), root, resume=True, progress=False)
    with pytest.raises(MotionloopError, match="already holds a run .*--resume"):
        run_loop(from_dict(toy_dict()), root, progress=False)
    with pytest.raises(MotionloopError, match="nothing to resume"):
        run_loop(from_dict(toy_dict()), tmp_path / "empty", resume=True, progress=False)


def test_extending_the_generations_continues_like_a_longer_run(tmp_path, toy_dict, records_without_timing):
    short = run_loop(from_dict(toy_dict(generations=3)), tmp_path / "run", progress=False)
    run_loop(from_dict(toy_dict(generations=6)), short, resume=True, progress=False)
    longer = run_loop(from_dict(toy_dict(generations=6)), tmp_path / "long", progress=False)
    key = lambda r: (r["generation"], r["seed"], r["arm"], r["lambda"])  # noqa: E731 - a sort key
    extended = sorted(records_without_timing(short / "metrics.jsonl"), key=key)
    assert extended == sorted(records_without_timing(longer / "metrics.jsonl"), key=key)
    assert "generations = 6" in (short / "config.toml").read_text()


def test_a_full_disk_keeps_the_finished_generations_and_resume_completes(
    tmp_path, toy_config, records_without_timing, monkeypatch
):
    expected = records_without_timing(run_loop(toy_config, tmp_path / "whole", progress=False) / "metrics.jsonl")
    real_save, calls = ToyTask.save_data, {"n": 0}

    def save_until_full(self, data, path):
        calls["n"] += 1
        if calls["n"] == 40:
            path.write_bytes(b"\x93NUMPY")  # the first bytes made it, then the disk was full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(self, data, path)

    monkeypatch.setattr(ToyTask, "save_data", save_until_full)
    root = tmp_path / "full"
    with pytest.raises(
        MotionloopError,
        match=r"gen_\d{3}: cannot write generation \d+ \(No space left on device\); "
        r"the generations before it are complete.*--resume",
    ):
        run_loop(toy_config, root, progress=False)
    monkeypatch.undo()
    done = records_without_timing(root / "metrics.jsonl")
    assert done == expected[: len(done)] and 0 < len(done) < len(expected)
    for r in done:  # every finished generation's files are whole
        gdir = root / f"{r['arm']}_lam{r['lambda']:g}" / f"seed_{r['seed']}" / f"gen_{r['generation']:03d}"
        if r["generation"] > 0:
            assert np.load(gdir / "model.npz")["mean"].shape == (2,)
        if r["synthetic"] > 0:
            assert np.load(gdir / "samples.npy").shape == (r["synthetic"], 2)
    assert len(list(root.rglob(".*.partial"))) == 1  # the set being written when the disk filled
    run_loop(toy_config, root, resume=True, progress=False)
    assert records_without_timing(root / "metrics.jsonl") == expected
    assert not list(root.rglob(".*.partial"))


def test_a_torn_last_metrics_line_is_dropped_on_resume(tmp_path, toy_config, records_without_timing):
    whole = run_loop(toy_config, tmp_path / "whole", progress=False)
    expected = records_without_timing(whole / "metrics.jsonl")
    root = tmp_path / "torn"
    run_loop(toy_config, root, progress=False)
    lines = (root / "metrics.jsonl").read_text().splitlines(keepends=True)
    (root / "metrics.jsonl").write_text("".join(lines[:-3]) + lines[-3][:25])  # a crash inside a write
    run_loop(toy_config, root, resume=True, progress=False)
    assert records_without_timing(root / "metrics.jsonl") == expected


def test_a_corrupt_middle_metrics_line_is_named_and_nothing_is_lost(tmp_path, toy_config):
    from motionloop.cli import main
    from motionloop.errors import FormatError

    root = run_loop(toy_config, tmp_path / "run", progress=False)
    lines = (root / "metrics.jsonl").read_text().splitlines(keepends=True)
    lines[1] = lines[1][:20] + "\n"  # a bit rot inside the file, not a torn end
    (root / "metrics.jsonl").write_text("".join(lines))
    with pytest.raises(FormatError, match=r"metrics.jsonl: line 2 is not JSON .*repair or delete that line"):
        run_loop(toy_config, root, resume=True, progress=False)
    assert (root / "metrics.jsonl").read_text() == "".join(lines)  # untouched
    assert main(["plot", str(root)]) == 2


def test_a_new_run_that_fails_before_its_first_record_leaves_nothing(tmp_path):
    from motionloop.errors import FormatError
    from motionloop.loop import load_config

    config = load_config("demo", ["motion.data=/no/such/clips"])
    with pytest.raises(FormatError, match="/no/such/clips"):
        run_loop(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # so the corrected command is not refused as a rerun
    keep = tmp_path / "kept"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(MotionloopError):
        run_loop(config, keep, progress=False)
    assert (keep / "notes.txt").read_text() == "mine"  # a directory that held something is not removed


def test_a_second_process_on_the_same_run_directory_is_refused(tmp_path, toy_config):
    import os
    import subprocess
    import sys

    from motionloop.errors import MotionloopError
    from motionloop.loop import run_loop, rundir

    root = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from motionloop.loop import rundir\n"
            "with rundir.locked(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)",
            str(root),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(MotionloopError, match=f"in use by another motionloop process \\(pid {holder.pid}\\)"):
            run_loop(toy_config, root, progress=False)
        with pytest.raises(MotionloopError, match="in use"):
            run_loop(toy_config, root, resume=True, progress=False)
        assert not (root / rundir.METRICS).exists()  # the refused runs wrote nothing
    finally:
        holder.kill()
        holder.wait()
    run_loop(toy_config, root, progress=False)  # the lock went with the process
    assert (root / rundir.METRICS).stat().st_size > 0 and os.path.exists(root / rundir.LOCK)


@pytest.mark.slow
def test_real_sigkills_at_seeded_moments_then_resume_give_the_uninterrupted_run(tmp_path, records_without_timing):
    """`kill -9` of a real loop process at random (seeded) moments, resumed each time, ends with
    the metrics of a run that was never interrupted."""
    import signal
    import subprocess
    import sys
    import time

    args = [
        "--config",
        "kazdan-gaussian",
        "--quiet",
        "--set",
        "generations=300",
        "--set",
        "seeds=[0, 1, 2]",
        "--set",
        "gaussian.dim=10",
        "--set",
        "n=200",
    ]
    whole = tmp_path / "whole"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "motionloop", "loop", *args, "--out", str(whole)], check=True, capture_output=True
    )
    duration = time.perf_counter() - t0
    expected = records_without_timing(whole / "metrics.jsonl")
    run = tmp_path / "killed"

    def records(d):
        return len(read_jsonl(d / "metrics.jsonl")) if (d / "metrics.jsonl").exists() else 0

    rng = np.random.default_rng(0)
    mid_run_kills = 0
    for _ in range(12):
        cmd = [sys.executable, "-m", "motionloop", "loop", *args, "--out", str(run)]
        if (run / "config.toml").exists():
            cmd.append("--resume")
        before = records(run)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # the kill lands at a seeded moment after this process has written its first record:
        # timed from its start instead, a machine busier than during the uninterrupted run
        # (interpreter start, imports) let every kill land before any record, none mid-run
        while proc.poll() is None and records(run) <= before:
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0.0, 0.5)) * duration)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            after = records(run)
            mid_run_kills += before < after < len(expected)
            continue
        assert proc.returncode == 0
        break
    else:  # twelve kills: finish without one
        subprocess.run(
            [sys.executable, "-m", "motionloop", "loop", *args, "--out", str(run), "--resume"],
            check=True,
            capture_output=True,
        )
    assert mid_run_kills >= 1  # kills that landed while generations were being written
    assert records_without_timing(run / "metrics.jsonl") == expected
