"""A wheel install works from any directory: the shipped weights, clips and presets are package data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(wheels)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("motionloop-*.whl")
    venv = tmp_path / "venv"
    # the venv sees this interpreter's packages (torch, mujoco, ...) but gets motionloop only from the wheel
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(py), "-m", "motionloop", *args], cwd=work, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = subprocess.run(
        [str(py), "-c", "import motionloop; print(motionloop.__file__)"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(venv) in where and str(ROOT) not in where  # the installed copy, not the checkout
    assert run("--version").startswith("motionloop ")
    listing = run("data", "list")
    assert "dm_walk" in listing and str(venv) in listing
    assert "wrote 4 clips" in run("sample", "--n", "4", "--label", "walk", "--seed", "1", "--out", "gen")
    assert "fid" in run("eval", "gen", "--n", "8")
