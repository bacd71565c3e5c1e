"""curves.png and report.html, rebuilt from a run directory; overrides on a config object."""

from __future__ import annotations

import numpy as np
import pytest

from motionloop.errors import MotionloopError
from motionloop.io import read_jsonl
from motionloop.loop import plot_run, run_loop
from motionloop.loop.configio import from_dict


def test_plot_run_rebuilds_the_curves_and_a_table_per_arm(tmp_path, toy_config):
    root = run_loop(toy_config, tmp_path / "run", progress=False)
    (root / "curves.png").unlink()
    (root / "report.html").unlink()
    curves, report = plot_run(root)
    assert curves.read_bytes()[:4] == b"\x89PNG"
    page = report.read_text()
    for arm, lam in toy_config.units():
        assert f"<td>{arm.name} &lambda;={lam:g}</td><td>{toy_config.generations}</td>" in page
    rows = read_jsonl(root / "metrics.jsonl")
    last = [r["w2"] for r in rows if r["arm"] == "replace" and r["generation"] == toy_config.generations]
    assert f"{np.mean(last):.4g} ({min(last):.4g}-{max(last):.4g})" in page  # mean (min-max) over the seeds
    assert "MotionloopViewer" not in page  # toy tasks have no clips to show
    assert "How to read it: <b>w2</b> is the Wasserstein-2 distance" in page
    assert f"(points 0 to {toy_config.generations})" in page


def test_plot_run_refuses_what_is_not_a_run(tmp_path, toy_config):
    with pytest.raises(MotionloopError, match="not a loop run directory"):
        plot_run(tmp_path)
    from motionloop.loop import rundir

    rundir.prepare(tmp_path / "new", toy_config, resume=False)
    with pytest.raises(MotionloopError, match="no complete generation yet"):
        plot_run(tmp_path / "new")


def test_overrides_apply_to_a_config_object_and_keep_last_prunes_models(tmp_path, toy_config, records_without_timing):
    root = run_loop(toy_config, tmp_path / "last", overrides=["keep_checkpoints=last", "generations=4"], progress=False)
    rows = read_jsonl(root / "metrics.jsonl")
    assert max(r["generation"] for r in rows) == 4
    unit = root / "replace_lam1" / "seed_0"
    assert [p.parent.name for p in sorted(unit.glob("gen_*/model.npz"))] == ["gen_004"]
    assert (root / "base" / "seed_0" / "model.npz").exists()  # generation 0 is shared, never pruned
    full = run_loop(from_dict({**_raw(toy_config), "generations": 6}), tmp_path / "full", progress=False)
    run_loop(toy_config, root, resume=True, overrides=["keep_checkpoints=last"], progress=False)
    assert records_without_timing(root / "metrics.jsonl") == records_without_timing(full / "metrics.jsonl")


def _raw(config) -> dict:
    from motionloop.loop.configio import to_dict

    return {**to_dict(config), "keep_checkpoints": "last"}
