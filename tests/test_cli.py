"""The `motionloop` command: argument wiring, output files, and one-line errors with exit status 2."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shlex
import subprocess
import sys
from itertools import permutations

import numpy as np
import pytest
from clips import standing

from motionloop.cli import build_parser, main
from motionloop.io import read_jsonl
from motionloop.motion import Motion, save_clips
from motionloop.physics.repair import RepairConfig


def test_data_list_json_lists_the_bundled_clips(capsys):
    assert main(["data", "list", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["clips"]) >= 40
    assert {"walk", "run", "jump"} <= {c["label"] for c in out["clips"]}


def test_data_info_prints_the_clip_stats(tmp_path, capsys):
    path = standing().save(tmp_path / "stand.npz")
    assert main(["data", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["label"] == "stand"
    assert info["penetrate_mm"] < 1.0 and info["float_mm"] < 1.0


def test_a_missing_file_is_one_line_naming_it_and_exit_status_2(tmp_path, capsys):
    missing = tmp_path / "nope.npz"
    assert main(["data", "info", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("motionloop: error:") and "nope.npz" in err and "\n" not in err


def test_loop_on_a_toy_preset_writes_the_run_and_plot_regenerates_it(tmp_path, capsys):
    run = tmp_path / "run"
    args = [
        "loop",
        "--config",
        "kazdan-gaussian",
        "--out",
        str(run),
        "--quiet",
        "--set",
        "generations=3",
        "--set",
        "seeds=[0]",
        "--set",
        "gaussian.dim=2",
    ]
    assert main(args) == 0
    records = read_jsonl(run / "metrics.jsonl")
    assert {r["arm"] for r in records} == {"replace", "accumulate", "accumulate-subsample"}
    assert max(r["generation"] for r in records) == 3
    (run / "curves.png").unlink()
    capsys.readouterr()
    assert main(["plot", str(run)]) == 0
    assert (run / "curves.png").stat().st_size > 1000 and "report.html" in capsys.readouterr().out
    # a second run into the same directory without --resume is refused; with --resume it is complete
    assert main(args) == 2
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    assert len(read_jsonl(run / "metrics.jsonl")) == len(records)
    out = capsys.readouterr().out
    assert "generation 3, mean over seeds" in out and "replace (lambda 1): w2 " in out
    assert f"open {(run / 'report.html').resolve().as_uri()} in a browser" in out


def test_demo_on_a_finished_run_says_so_and_shows_it(tmp_path, capsys):
    from motionloop.io import write_text
    from motionloop.loop import load_config
    from motionloop.loop.configio import to_toml

    config = load_config("demo")
    run = tmp_path / "demo"
    run.mkdir()
    write_text(run / "config.toml", to_toml(config))
    rows = [
        {
            "arm": arm.name,
            "lambda": lam,
            "seed": seed,
            "generation": g,
            "fid": 80.0 + g,
            "diversity": 15.0,
            "phys_err_mm": 30.0,
        }
        for seed in config.seeds
        for arm, lam in config.units()
        for g in range(config.generations + 1)
    ]
    write_text(run / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    assert main(["demo", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "already holds a finished demo run; showing it" in out
    assert f"generation {config.generations}, mean over seeds" in out and "fid 86" in out


def test_loop_with_an_unknown_preset_lists_the_presets(tmp_path, capsys):
    assert main(["loop", "--config", "no-such-preset", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "no-such-preset" in err and "kazdan-gaussian" in err


def test_correct_writes_clips_and_reports(tmp_path, capsys):
    src = tmp_path / "in"
    save_clips([standing(frames=30, lift=0.05)], src)
    out = tmp_path / "out"
    assert main(["correct", str(src), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["success_rate"] == 1.0
    # hovering 5 cm, the input touches nothing: it needs its whole weight from outside
    assert list(summary["by_feasibility"]) == [">=20%"]
    assert (
        summary["by_feasibility"][">=20%"]["clips"] == 1 and summary["by_feasibility"][">=20%"]["success_rate"] == 1.0
    )
    fixed = Motion.load(out / "clip_0000.npz")
    assert fixed.num_frames == 30
    assert abs(float(np.median(fixed.trans[:, 2])) - float(np.median(standing().trans[:, 2]))) < 0.02
    assert len(read_jsonl(out / "reports.jsonl")) == 1


@pytest.mark.parametrize("mode", ["local", "whole"])
def test_correct_passes_the_assist_mode(mode, tmp_path, monkeypatch):
    import motionloop.physics.correct as pc
    from motionloop.physics.config import SearchConfig
    from motionloop.physics.correct import CorrectionConfig

    seen, real = [], pc.correct

    def fake(motions, cfg, names=None):
        seen.append(cfg)
        return real(motions, dataclasses.replace(cfg, strength=0.0), names=names)

    monkeypatch.setattr(pc, "correct", fake)
    save_clips([standing(frames=10)], tmp_path / "in")
    argv = ["correct", str(tmp_path / "in"), "--out", str(tmp_path / "out")]
    assert main([*argv, "--assist", mode] if mode != "local" else argv) == 0
    assert [c.assist for c in seen] == [mode]
    assert seen[-1].unsmoothed_first is True
    assert main([*argv, "--smoothed-only"]) == 0
    assert seen[-1].unsmoothed_first is False
    assert seen[-1].ladder() == CorrectionConfig(unsmoothed_first=False).ladder()  # one smoothing: no unsmoothed rungs
    assert main([*argv, "--no-firm"]) == 0
    assert seen[-1].firm is None and "firm" not in [kind for _, kind in seen[-1].ladder()]
    assert seen[-2].firm is not None
    assert seen[-2].unbalanced is False
    assert main([*argv, "--unbalanced"]) == 0
    assert seen[-1].unbalanced is True and (0.0, "unbalanced") in seen[-1].ladder()
    assert seen[-2].planned is True
    assert main([*argv, "--no-planned"]) == 0
    assert seen[-1].planned is False
    assert not {"planned", "planned_assisted"} & {kind for _, kind in seen[-1].ladder()}
    assert seen[-2].search == SearchConfig()
    assert main([*argv, "--no-search"]) == 0
    assert seen[-1].search is None and "searched" not in [kind for _, kind in seen[-1].ladder()]
    assert seen[-1].sparing is None and "sparing" not in [kind for _, kind in seen[-1].ladder()]
    assert main([*argv, "--sparing"]) == 0
    assert seen[-1].sparing == 10.0 and (None, "sparing") in seen[-1].ladder()
    assert seen[-1].repair.ground_window_s == 1.0
    assert main([*argv, "--one-ground-offset"]) == 0
    assert seen[-1].repair.ground_window_s is None and seen[-1].repair.step_feet is False
    assert main([*argv, "--step-feet", "--one-ground-offset"]) == 0
    assert seen[-1].repair == RepairConfig(step_feet=True, ground_window_s=None)


@pytest.mark.parametrize(
    "argv", [["sample", "--n", "0", "--out", "x"], ["sample", "--n", "2", "--label", "moonwalk", "--out", "x"]]
)
def test_sample_refuses_bad_requests(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert "motionloop: error:" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_view_pairs_clips_of_the_same_name_row_by_row(tmp_path, capsys):
    for d in ("gen", "corrected"):
        save_clips([standing(frames=5), standing(frames=5, lift=0.05), standing(frames=5)], tmp_path / d)
    page = tmp_path / "p.html"
    assert main(["view", str(tmp_path / "gen"), str(tmp_path / "corrected"), "--out", str(page)]) == 0
    text = page.read_text()
    order = [text.index(f'"title":"{d}/clip_{i:04d}"') for i in range(3) for d in ("gen", "corrected")]
    assert order == sorted(order)  # gen/0, corrected/0, gen/1, corrected/1, ...: one pair per row
    assert '"columns":2' in text


def _folder_with_one_bad_clip(tmp_path):
    clips = tmp_path / "clips"
    save_clips([standing(30), standing(30, lift=0.05)], clips, names=["a", "b"])
    np.savez(
        clips / "nan.npz",
        trans=np.full((30, 3), np.nan),
        poses=np.zeros((30, 72)),
        betas=np.zeros(10),
        mocap_framerate=20.0,
    )
    return clips


def test_correct_skips_a_bad_clip_by_path_and_keeps_failed_ones_apart(tmp_path, capsys):
    clips = _folder_with_one_bad_clip(tmp_path)
    far = standing(30, lift=-3.0)  # 3 m under the floor: the corrector refuses it
    far.save(clips / "deep.npz")
    out = tmp_path / "out"
    assert main(["correct", str(clips), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and str(clips / "nan.npz") in captured.err
    assert "wrote 2 corrected clips" in captured.out and "1 could not be corrected" in captured.out
    assert sorted(p.name for p in out.glob("*.npz")) == ["a.npz", "b.npz"]
    assert [p.name for p in (out / "failed").glob("*.npz")] == ["deep.npz"]
    reports = read_jsonl(out / "reports.jsonl")
    assert [r["clip"] for r in reports] == ["a", "b", "deep"] and reports[2]["error"]
    assert main(["correct", str(clips), "--out", str(tmp_path / "out2"), "--strict"]) == 2


def test_eval_skips_a_bad_clip_and_strict_fails(tmp_path, capsys):
    clips = _folder_with_one_bad_clip(tmp_path)
    assert main(["eval", str(clips), "--n", "8", "--json"]) == 0
    captured = capsys.readouterr()
    assert str(clips / "nan.npz") in captured.err and "fid" in json.loads(captured.out)
    assert main(["eval", str(clips), "--n", "8", "--strict"]) == 2


def test_implausible_clips_are_refused_at_load(tmp_path):
    from motionloop.errors import MotionValidationError

    clip = standing(10)
    with pytest.raises(MotionValidationError, match="m from the origin"):
        clip.replace(trans=clip.trans * 1e6)
    with pytest.raises(MotionValidationError, match="plausible frame rate"):
        clip.replace(fps=1e-3)


@pytest.mark.parametrize("device, match", [("gpu", "valid: cpu, cuda"), ("cuda:x", "valid: cpu, cuda")])
def test_a_bad_device_is_one_line(tmp_path, capsys, device, match):
    assert main(["sample", "--n", "1", "--device", device, "--out", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("motionloop: error: device") and match in err and "\n" not in err


def test_cuda_on_a_machine_without_it_says_so():
    import torch

    from motionloop.errors import ConfigError
    from motionloop.model.train import resolve_device

    assert resolve_device("cpu") == torch.device("cpu") and resolve_device(None).type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda")


def test_a_closed_pipe_ends_quietly():
    # the reader is gone before the command writes a line, as with `motionloop data list | head -0`
    proc = subprocess.Popen(
        [sys.executable, "-m", "motionloop", "data", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_eval_says_which_n_would_work(tmp_path, capsys):
    save_clips([standing(41)], tmp_path / "few")
    assert main(["eval", str(tmp_path / "few")]) == 2
    assert "use n <= " in capsys.readouterr().err


def test_sample_help_lists_the_shipped_labels(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "backflip, box, cartwheel" in out and "walk" in out


# --------------------------------------------------------------------------- the parser itself
def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """`(command path, parser)` of `parser` and of every subparser below it, depth first."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


COMMANDS = [path for path, _ in _parsers(build_parser()) if path]


def _option(command: tuple[str, ...], flag: str) -> argparse.Action:
    parser = dict(_parsers(build_parser()))[command]
    return next(a for a in parser._actions if flag in a.option_strings)


def test_the_parser_walk_sees_every_command():
    assert ("data", "import") in COMMANDS and ("export-bvh",) in COMMANDS and ("demo",) in COMMANDS
    assert len(COMMANDS) == 17  # 14 commands, data's list / import / info


def test_every_option_positional_and_command_has_help():
    missing = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not (action.help or "").strip():
                missing.append(f"{' '.join(path) or 'motionloop'}: {action.dest}")
            if isinstance(action, argparse._SubParsersAction):  # the one-line help of each command in the list
                missing += [f"{' '.join(path)} {c.dest}" for c in action._choices_actions if not (c.help or "").strip()]
    assert not missing


def test_every_command_has_examples_of_itself_that_parse():
    parser = build_parser()
    for path, sub in _parsers(parser):
        assert sub.formatter_class is argparse.RawDescriptionHelpFormatter, path
        assert sub.epilog and "motionloop " in sub.epilog, path
        assert f"motionloop {' '.join(path)}" in sub.epilog, path
        lines = [line.strip() for line in sub.epilog.splitlines() if line.strip().startswith("motionloop ")]
        for line in lines:
            for example in line.split("&&"):
                argv = shlex.split(example.split(">")[0])[1:]
                if "COMMAND" not in argv:
                    assert parser.parse_args(argv).func, example


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_of_every_command_exits_0(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: motionloop {' '.join(command)} ") and "\nexamples:\n  motionloop " in out


@pytest.mark.parametrize(
    "command, flag, constant",
    [
        (("export-bvh",), "--order", "motionloop.export.bvh_export.ORDERS"),
        (("export-bvh",), "--unit", "motionloop.export.bvh_export.UNITS"),
        (("render",), "--backend", "motionloop.viz.render.BACKENDS"),
        (("export-mesh",), "--format", "motionloop.viz.mesh.FORMATS"),
        (("export-mesh",), "--gender", "motionloop.viz.smpl.GENDERS"),
        (("train",), "--preset", "motionloop.model.denoiser.PRESETS"),
        (("correct",), "--assist", "motionloop.physics.config.ASSIST_MODES"),
    ],
)
def test_choices_are_the_library_constants(command, flag, constant):
    import importlib

    module, name = constant.rsplit(".", 1)
    action = _option(command, flag)
    assert list(action.choices) == list(getattr(importlib.import_module(module), name))
    assert action.default in action.choices


def test_import_format_choices_are_auto_and_the_importers():
    from motionloop.data.importers import FORMATS

    assert list(_option(("data", "import"), "--format").choices) == ["auto", *FORMATS]


def test_order_offers_all_six_euler_orders():
    assert sorted(_option(("export-bvh",), "--order").choices) == sorted("".join(p) for p in permutations("XYZ"))


def test_building_the_parser_imports_no_library_module():
    code = (
        "import sys\nfrom motionloop.cli import build_parser\nbuild_parser()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'trimesh', 'numpy', 'mujoco') "
        "or m.startswith(('motionloop.viz', 'motionloop.model', 'motionloop.data', 'motionloop.export'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_train_and_evaluator_help_state_the_config_defaults():
    from motionloop.eval import EvaluatorConfig
    from motionloop.model.config import TrainConfig

    def stated(command, flag):
        return float(re.search(r"Config's, ([0-9.e-]+)\)", _option(command, flag).help).group(1))

    cfg = TrainConfig()
    assert stated(("train",), "--batch-size") == cfg.batch_size and stated(("train",), "--window") == cfg.window
    assert stated(("train",), "--lr") == cfg.lr
    assert stated(("train-evaluator",), "--steps") == EvaluatorConfig().steps


def test_loop_help_names_every_preset():
    from motionloop.loop.configio import preset_names

    help_ = _option(("loop",), "--config").help
    assert all(name in help_ for name in preset_names()) and len(preset_names()) >= 8


@pytest.fixture(scope="module")
def twisting_clip() -> Motion:
    """Two full turns with large random joint rotations (as tests/export/test_bvh_export.py's clip)."""
    from motionloop import rotations as rot
    from motionloop import skeleton as sk

    rng = np.random.default_rng(1)
    T = 30
    poses = rng.normal(0.0, 0.9, (T, sk.NUM_JOINTS, 3)) * np.linspace(0.2, 1.0, T)[:, None, None]
    poses[:, sk.PELVIS] = rot.mat_to_aa(rot.axis_rotation("Z", np.linspace(0, 4 * np.pi, T)) @ sk.UPRIGHT)
    trans = np.stack([np.linspace(0, 3, T), np.sin(np.arange(T) / 5), np.full(T, sk.PELVIS_HEIGHT)], axis=1)
    return Motion(trans=trans, poses=poses, fps=30.0, label="walk", source="test")


@pytest.mark.parametrize("up", ["y", "z"])
@pytest.mark.parametrize("order", list(_option(("export-bvh",), "--order").choices))
def test_export_bvh_every_order_reads_back_to_the_same_joints(twisting_clip, tmp_path, capsys, order, up):
    from motionloop import skeleton as sk
    from motionloop.data.bvh import read_bvh
    from motionloop.export.bvh_export import axes

    clip = Motion.load(twisting_clip.save(tmp_path / "walk.npz"))
    out = tmp_path / "bvh"
    assert main(["export-bvh", str(tmp_path / "walk.npz"), "--out", str(out), "--order", order, "--up", up]) == 0
    assert "wrote 1 BVH files" in capsys.readouterr().out
    bvh = read_bvh(out / "walk.bvh")
    assert bvh.channels[0][3:] == tuple(f"{axis}rotation" for axis in order)
    pos = bvh.positions()[:, [bvh.names.index(n) for n in sk.JOINTS]] / 100.0 @ axes(up)[0]  # cm, file axes -> z-up m
    assert np.abs(pos - clip.joints()).max() < 1e-4
