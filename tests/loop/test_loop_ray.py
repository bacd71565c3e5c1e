"""`motionloop loop --executor ray`: every chain (arm x lambda x seed) a Ray task, the same
records as a serial run, a dead worker node or a killed driver loses nothing.

Every Ray part runs in ray_scenario.py inside a loopback-only network namespace
(tests/raynet.py); the serial runs it is compared with run here."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from motionloop.errors import ConfigError, MotionloopError
from motionloop.loop import run_loop
from motionloop.loop.configio import from_dict, load_config, to_toml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: raynet

SCENARIO = Path(__file__).with_name("ray_scenario.py")
KEY = lambda r: (r["seed"], r["arm"], r["lambda"], r["generation"])  # noqa: E731 - a sort key


def _toy(toy_dict, generations: int = 200):
    """Four chains (2 arms x 2 seeds) of a 10-d Gaussian: a few seconds serially."""
    arms = [{"name": "replace", "workflow": "replace"}, {"name": "accumulate", "workflow": "accumulate"}]
    return from_dict(toy_dict(generations=generations, n=200, arms=arms, gaussian={"dim": 10}), "ray-toy")


def _scenario(mode: str, config, tmp_path: Path, timeout: float = 240) -> dict:
    from raynet import require_isolation, run_isolated

    require_isolation()
    path = tmp_path / "config.toml"
    path.write_text(to_toml(config))
    # run_isolated gives it its own PID namespace too: whatever it leaves running ends with it
    argv = [sys.executable, SCENARIO, mode, path, tmp_path / "ray"]
    res = run_isolated(argv, timeout=timeout, env={"RAY_AUTH_MODE": "disabled"})
    assert res.returncode == 0, res.stderr[-4000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def _same_records(serial: Path, ray: Path, records_without_timing) -> list[dict]:
    expected = sorted(records_without_timing(serial / "metrics.jsonl"), key=KEY)
    got = sorted(records_without_timing(ray / "metrics.jsonl"), key=KEY)
    assert got == expected
    return got


@pytest.mark.slow
def test_a_two_node_cluster_gives_the_serial_records_and_stays_on_loopback(tmp_path, toy_dict, records_without_timing):
    config = _toy(toy_dict)
    serial = run_loop(config, tmp_path / "serial", progress=False)
    out = _scenario("cluster", config, tmp_path)
    rows = _same_records(serial, tmp_path / "ray" / "run", records_without_timing)
    assert len(rows) == out["expected"] == 4 * 201
    assert out["foreign_sockets"] == []
    # both nodes ran chains (the chain tasks are SPREAD)
    assert len(out["chains"]) == 4 and len({c["node"] for c in out["chains"]}) == 2, out["chains"]
    run = tmp_path / "ray" / "run"
    assert (run / "curves.png").stat().st_size > 0 and (run / "report.html").exists()
    assert not (run / ".ray-token").exists()


@pytest.mark.slow
def test_a_worker_node_killed_mid_run_loses_nothing(tmp_path, toy_dict, records_without_timing):
    config = _toy(toy_dict, generations=300)
    serial = run_loop(config, tmp_path / "serial", progress=False)
    out = _scenario("kill-worker", config, tmp_path)
    assert 0 < out["killed_at"] < out["expected"]
    _same_records(serial, tmp_path / "ray" / "run", records_without_timing)
    assert out["completed_without_resume"], out.get("error")  # the head reran the worker's chain
    # the chain that was on the dead node continued from its last complete generation
    assert any(c["retried_from"] > 0 for c in out["chains"]), out["chains"]
    assert out["foreign_sockets"] == []


@pytest.mark.slow
@pytest.mark.parametrize("where", ["cluster", "local"])
def test_resume_after_the_driver_is_killed_gives_the_serial_records(tmp_path, toy_dict, records_without_timing, where):
    """On a cluster the head stops the killed driver's workers; a local Ray instance dies with
    its driver and leaves them running: they see that the run's lock is free and stop."""
    config = _toy(toy_dict, generations=300)
    serial = run_loop(config, tmp_path / "serial", progress=False)
    out = _scenario("kill-driver" if where == "cluster" else "kill-driver-local", config, tmp_path)
    assert out["after_kill"] - out["at_kill"] <= 2  # at most a record each task had begun to write
    assert out["resume_rc"] == 0, out["resume_err"]
    assert 0 < out["killed_at"] < out["expected"]
    _same_records(serial, tmp_path / "ray" / "run", records_without_timing)
    # the resumed run continued the chains the killed one had started
    assert any(c["first"] is not None and c["first"] > 0 for c in out["chains"]), out["chains"]
    assert out["foreign_sockets"] == []


@pytest.mark.slow
def test_a_chain_that_cannot_write_stops_the_run_with_its_one_line_error(tmp_path, toy_dict):
    out = _scenario("error", _toy(toy_dict), tmp_path)
    assert re.fullmatch(
        r"MotionloopError: \S+/replace_lam1/seed_\d/gen_000: cannot write generation 0 \(Not a directory\); "
        r"the generations before it are complete: free the space and rerun with --resume",
        out["error"],
    ), out["error"]
    assert not (tmp_path / "ray" / "run" / ".ray-token").exists()


def _one_thread(fn):
    """`fn()` with torch and BLAS on one thread, as in a Ray task (then the settings are back)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            return fn()
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_a_short_motion_loop_on_ray_gives_the_serial_records(tmp_path, records_without_timing):
    config = load_config(
        "demo",
        [
            "generations=1",
            "n=4",
            "motion.finetune_steps=2",
            "motion.sampler=ddim:4",
            "motion.eval_clips=4",
            "motion.eval_n=8",
            "motion.probe_clips=1",
            "motion.workers=2",  # a Ray task corrects in its own process: the same results
        ],
    )
    serial = _one_thread(lambda: run_loop(config, tmp_path / "serial", progress=False))
    out = _scenario("local", config, tmp_path)
    ray_run = tmp_path / "ray" / "run"
    # bit for bit: a serial run with one torch/BLAS thread, as every Ray task has (a serial run
    # with the default two threads sums in another order: FID, losses, MPJPE differ by up to
    # ~1e-6 relative, the same in every run)
    rows = _same_records(serial, ray_run, records_without_timing)
    assert len(rows) == out["expected"] == 6 and len(out["chains"]) == 3
    assert "train_residual_bw" in next(r for r in rows if r["arm"] == "self-correcting" and r["generation"] == 1)
    assert out["foreign_sockets"] == []


def test_executor_settings_that_cannot_work_are_one_line_errors(tmp_path, toy_config, monkeypatch, capsys):
    from motionloop import raycluster
    from motionloop.cli import main

    with pytest.raises(ConfigError, match=r"^--jobs 2: only with --executor local; with --executor ray every chain"):
        run_loop(toy_config, tmp_path / "a", jobs=2, executor="ray", progress=False)
    with pytest.raises(ConfigError, match=r"^--address: only with --executor ray$"):
        run_loop(toy_config, tmp_path / "a", address="127.0.0.1:6379", progress=False)
    with pytest.raises(ConfigError, match=r"^executor: expected one of local, ray, got 'dask'$"):
        run_loop(toy_config, tmp_path / "a", executor="dask", progress=False)
    with pytest.raises(ConfigError, match=r"--address 'head': expected HOST:PORT"):
        run_loop(toy_config, tmp_path / "a", executor="ray", address="head", progress=False)

    def no_ray():
        raise MotionloopError("Ray is not installed: pip install 'motionloop[ray]' (or pip install ray)")

    monkeypatch.setattr(raycluster, "import_ray", no_ray)
    with pytest.raises(MotionloopError, match=r"^Ray is not installed: pip install"):
        run_loop(toy_config, tmp_path / "a", executor="ray", progress=False)
    assert not (tmp_path / "a").exists()  # refused before the run directory was made
    args = ["loop", "--config", "kazdan-gaussian", "--out", str(tmp_path / "b"), "--quiet", "--executor", "ray"]
    capsys.readouterr()
    assert main(args) == 2
    assert (
        capsys.readouterr().err
        == "motionloop: error: Ray is not installed: pip install 'motionloop[ray]' (or pip install ray)\n"
    )
    monkeypatch.undo()
    assert main([*args, "--jobs", "2"]) == 2
    assert capsys.readouterr().err.startswith("motionloop: error: --jobs 2: only with --executor local")
    assert not (tmp_path / "b").exists()
