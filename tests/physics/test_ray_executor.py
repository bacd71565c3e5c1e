"""The Ray executor of `correct` (physics.executor.RayExecutor) and its plumbing.

The fast tests cover the batching and ordering logic, the fallback of a lost batch, the
configuration and the CLI without Ray. The slow ones run Ray for real, each in a child process
in a loopback-only network namespace (tests/raynet.run_isolated) driven by
ray_correct_scenario.py beside this file: a head and a worker node, a worker node killed
mid-run, a batch whose worker always dies, and `motionloop correct --executor ray`.
"""

import functools
import json
import os
import pickle
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest
from clips import standing
from raynet import require_isolation, run_isolated

from motionloop import cli, raycluster
from motionloop.errors import ConfigError, MotionloopError
from motionloop.motion import Motion, clip_paths
from motionloop.physics.correct import CorrectionConfig, correct, correct_one, lost_one
from motionloop.physics.executor import (
    ProcessPoolExecutor,
    RayExecutor,
    gather_batches,
    make_executor,
    plan_batches,
)

SCENARIO = Path(__file__).with_name("ray_correct_scenario.py")
TIMING = ("cpu_s", "metrics_cpu_s")
# Ray 2.60 turns token authentication on by default for a local `ray.init()` and leaves a token
# in ~/.ray/auth_token, which a later `ray start --head` then demands while the drivers joining
# it by address do not send it: the namespace runs are all without it.
NO_AUTH = {"RAY_AUTH_MODE": "disabled"}


# --------------------------------------------------------------------------- batching, fast
def test_default_batches_are_about_four_per_cpu_and_cover_the_items_in_order():
    assert plan_batches(8, cpus=2) == [range(i, i + 1) for i in range(8)]
    assert [len(r) for r in plan_batches(100, cpus=2)] == [13] * 7 + [9]  # ceil(100 / 8) = 13
    assert [len(r) for r in plan_batches(3, cpus=16)] == [1, 1, 1]  # at least one item a batch
    assert plan_batches(7, cpus=1, batch_size=3) == [range(0, 3), range(3, 6), range(6, 7)]
    assert plan_batches(0, cpus=2) == []
    for n, cpus in [(1, 1), (50, 3), (97, 2.0)]:
        assert [i for r in plan_batches(n, cpus) for i in r] == list(range(n))


class Lost(Exception):
    """A stand-in for Ray's system failures (worker or node died)."""


def _lost_text(e: BaseException) -> str | None:
    return f"lost: {e}" if isinstance(e, Lost) else None


def test_results_come_batch_by_batch_in_input_order():
    batches = [[1, 2], [3, 4], [5]]
    waited = []

    def result(i):
        waited.append(i)
        return [10 * x for x in batches[i]]

    it = gather_batches(batches, result, _lost_text)
    assert [next(it), next(it)] == [10, 20]
    assert waited == [0]  # the first results arrive before later batches are waited for
    assert list(it) == [30, 40, 50] and waited == [0, 1, 2]


def test_a_lost_batch_yields_the_fallback_for_each_of_its_items_or_raises_naming_it():
    batches = [[1, 2], [3, 4], [5]]

    def result(i):
        if i == 1:
            raise Lost("node died")
        return [10 * x for x in batches[i]]

    out = list(gather_batches(batches, result, _lost_text, fallback=lambda item, text: (item, text)))
    assert out == [10, 20, (3, "lost: node died"), (4, "lost: node died"), 50]
    with pytest.raises(MotionloopError, match=r"batch 2/3 \(2 item\(s\)\) was lost: lost: node died"):
        list(gather_batches(batches, result, _lost_text))


def test_an_error_of_the_job_itself_propagates_even_with_a_fallback():
    def result(i):
        raise ValueError("bad clip")

    with pytest.raises(ValueError, match="bad clip"):
        list(gather_batches([[1]], result, _lost_text, fallback=lambda item, text: item))


def test_a_batch_returning_the_wrong_number_of_results_is_an_error():
    with pytest.raises(MotionloopError, match="1 results for 2 items"):
        list(gather_batches([[1, 2]], lambda i: [1], _lost_text))


def test_only_rays_system_failures_count_as_a_lost_batch():
    ray = pytest.importorskip("ray")
    from motionloop.physics.executor import _ray_failure

    failure = _ray_failure(ray, 3)
    text = failure(ray.exceptions.WorkerCrashedError())
    assert text.startswith("WorkerCrashedError after 3 retries: The worker died unexpectedly"), text
    assert failure(ray.exceptions.NodeDiedError("node 1 died")) == "NodeDiedError after 3 retries: node 1 died"
    raised_by_the_job = ray.exceptions.RayTaskError("fn", "Traceback ...", ValueError("bad clip"))
    assert failure(raised_by_the_job) is None and failure(ValueError("bad clip")) is None


def _exit_on_three(x: int) -> int:
    if x == 3:
        os._exit(1)
    return 10 * x


def test_process_pool_falls_back_for_the_jobs_a_dead_worker_took_with_it():
    out = list(ProcessPoolExecutor(2).map(_exit_on_three, range(6), fallback=lambda x, text: (x, text)))
    assert len(out) == 6
    assert out[3][0] == 3 and "BrokenProcessPool" in out[3][1]
    for x, r in enumerate(out):
        assert r == 10 * x or (r[0] == x and "process died" in r[1])
    with pytest.raises(BrokenProcessPool):
        list(ProcessPoolExecutor(2).map(_exit_on_three, range(6)))


# --------------------------------------------------------------------------- config and CLI, fast
def test_executor_and_address_are_checked():
    assert CorrectionConfig(executor="ray", address="127.0.0.1:6379").address == "127.0.0.1:6379"
    assert CorrectionConfig(executor="ray", address="auto").executor == "ray"
    with pytest.raises(ConfigError, match=r"CorrectionConfig.executor: 'dask' is not one of 'local', 'ray'"):
        CorrectionConfig(executor="dask")
    with pytest.raises(ConfigError, match="CorrectionConfig.address 'head': expected HOST:PORT"):
        CorrectionConfig(executor="ray", address="head")
    with pytest.raises(ConfigError, match="needs executor 'ray'"):
        CorrectionConfig(address="127.0.0.1:6379")
    with pytest.raises(ConfigError, match="CorrectionConfig.workers 0: only with executor 'local'"):
        CorrectionConfig(executor="ray", workers=0)
    with pytest.raises(ConfigError, match="batch_size must be >= 1"):
        RayExecutor(batch_size=0)
    with pytest.raises(ConfigError, match="max_retries must be >= 0"):
        RayExecutor(max_retries=-1)


def _no_ray():
    raise MotionloopError("Ray is not installed: pip install 'motionloop[ray]' (or pip install ray)")


def test_ray_executor_without_ray_is_one_error_saying_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(raycluster, "import_ray", _no_ray)
    with pytest.raises(MotionloopError, match="Ray is not installed"):
        make_executor(executor="ray")
    standing(21).save(tmp_path / "clips" / "a.npz")
    code = cli.main(["correct", str(tmp_path / "clips"), "--out", str(tmp_path / "out"), "--executor", "ray"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "motionloop: error: Ray is not installed: pip install 'motionloop[ray]' (or pip install ray)\n"
    assert not (tmp_path / "out").exists()


def test_a_lost_clip_comes_back_unchanged_with_a_failed_report_like_a_failed_clip():
    deep = standing(21, lift=-3.0)
    _, failed = correct_one(("deep", deep, CorrectionConfig()))
    motion, lost = lost_one(("deep", deep, CorrectionConfig()), "WorkerCrashedError after 3 retries: died")
    assert motion is deep
    assert lost.error == "WorkerCrashedError after 3 retries: died"
    assert lost.attempt == failed.attempt == "failed" and not lost.success and not lost.verified
    assert lost.before == failed.before and lost.after == lost.before
    same = {k for k in failed.to_dict() if k not in ("error", "feasibility_bw", *TIMING)}
    assert {k: str(v) for k, v in lost.to_dict().items() if k in same} == {
        k: str(v) for k, v in failed.to_dict().items() if k in same
    }
    assert np.isnan(lost.feasibility_bw)  # not computed for a lost clip


# --------------------------------------------------------------------------- Ray, slow
def ray_test(fn):
    """Slow; needs Ray and a network namespace to run it in (raynet.require_isolation: a skip
    on a machine without them, a failure under CI)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        require_isolation()
        return fn(*args, **kwargs)

    return pytest.mark.slow(wrapper)


@pytest.fixture(scope="module")
def clips_and_serial(tmp_path_factory):
    """8 clips (six short bundled ones, one standing, one too deep to correct) on disk, and
    their serial correction."""
    from motionloop.data.bundled import load_bundled

    d = tmp_path_factory.mktemp("ray-clips")
    motions = sorted(load_bundled(), key=lambda m: m.num_frames)[:6] + [standing(21), standing(21, lift=-3.0)]
    for i, m in enumerate(motions):
        m.save(d / f"clip_{i:02d}.npz")
    paths = sorted(clip_paths(d))
    names = [p.stem for p in paths]
    motions = [Motion.load(p) for p in paths]
    return d, names, correct(motions, CorrectionConfig(), names)


def _scenario(mode: str, clips: Path, out: Path, *args: str, timeout: float = 240.0) -> dict:
    res = run_isolated([sys.executable, SCENARIO, mode, clips, out, *args], timeout=timeout, env=NO_AUTH)
    assert res.returncode == 0, f"{mode}: exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}"
    with open(out / "result.pkl", "rb") as f:
        return pickle.load(f)


def _report(r) -> str:
    d = r.to_dict()
    for k in TIMING:
        d.pop(k)
    return json.dumps(d, sort_keys=True)  # NaN == NaN here


def _assert_same(serial, motions, reports, skip=()):
    ref_m, ref_r = serial
    assert len(motions) == len(reports) == len(ref_m)
    for i, (a, b, ra, rb) in enumerate(zip(ref_m, motions, ref_r, reports)):
        if i in skip:
            continue
        assert rb.clip == ra.clip
        assert np.array_equal(a.poses, b.poses) and np.array_equal(a.trans, b.trans), ra.clip
        assert _report(rb) == _report(ra), ra.clip


@ray_test
def test_ray_on_two_nodes_gives_the_serial_results_and_stays_on_loopback(clips_and_serial, tmp_path):
    clips, _, serial = clips_and_serial
    res = _scenario("cluster", clips, tmp_path)
    assert res["nodes"] == 2
    assert res["sockets"] == [], res["sockets"]
    _assert_same(serial, res["motions"], res["reports"])
    assert "below the floor" in res["reports"][-1].error  # a clip that fails, fails alike


@ray_test
def test_a_worker_node_killed_mid_run_loses_only_its_batch_which_is_retried(clips_and_serial, tmp_path):
    clips, _, serial = clips_and_serial
    res = _scenario("kill", clips, tmp_path)
    assert res["killed"], "no clip was running on the worker node after the first result"
    worker = res["worker_node"]
    # each clip that was running on the node when it died started again, on the head
    for clip in res["killed"]:
        nodes = [e[2] for e in res["log"] if e[0] == "start" and e[1] == clip]
        assert len(nodes) >= 2 and nodes[0] == worker and worker not in nodes[1:], res["log"]
    _assert_same(serial, res["motions"], res["reports"])


@ray_test
def test_a_batch_whose_worker_always_dies_falls_back_after_the_retries(clips_and_serial, tmp_path):
    clips, names, serial = clips_and_serial
    res = _scenario("poison", clips, tmp_path, "--poison", "clip_02", "--retries", "2")
    starts = [e[1] for e in res["log"] if e[0] == "start"]
    assert starts.count("clip_02") == 3  # the first try and two retries, no more
    assert "clip_03" not in starts  # batch [clip_02, clip_03]: clip_03 never had its turn
    for i in (2, 3):  # both clips of the lost batch: unchanged, with the failure in the report
        r = res["reports"][i]
        assert r.attempt == "failed" and r.clip == names[i]
        assert r.error.startswith("WorkerCrashedError after 2 retries: The worker died unexpectedly"), r.error
        original = Motion.load(clips / f"{names[i]}.npz")
        assert np.array_equal(res["motions"][i].poses, original.poses)
    _assert_same(serial, res["motions"], res["reports"], skip=(2, 3))


@ray_test
def test_cli_correct_with_the_ray_executor_writes_what_the_serial_one_writes(clips_and_serial, tmp_path):
    clips = clips_and_serial[0]
    argv = ["correct", str(clips), "--out"]
    assert cli.main([*argv, str(tmp_path / "serial")]) == 0
    res = run_isolated(
        [sys.executable, "-m", "motionloop.cli", *argv, tmp_path / "ray", "--executor", "ray", "--json"],
        timeout=240.0,
        env=NO_AUTH,
    )
    assert res.returncode == 0, res.stderr[-5000:]
    assert "wrote 7 corrected clips" in res.stdout and "1 could not be corrected" in res.stdout
    a = sorted(p.relative_to(tmp_path / "serial") for p in (tmp_path / "serial").rglob("*.npz"))
    b = sorted(p.relative_to(tmp_path / "ray") for p in (tmp_path / "ray").rglob("*.npz"))
    assert a == b and len(a) == 8
    for rel in a:
        with np.load(tmp_path / "serial" / rel) as fa, np.load(tmp_path / "ray" / rel) as fb:
            assert all(np.array_equal(fa[k], fb[k]) for k in fa.files), rel
    ra = [json.loads(line) for line in (tmp_path / "serial" / "reports.jsonl").read_text().splitlines()]
    rb = [json.loads(line) for line in (tmp_path / "ray" / "reports.jsonl").read_text().splitlines()]
    for d in (*ra, *rb):
        for k in TIMING:
            d.pop(k)
    assert ra == rb
