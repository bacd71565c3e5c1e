"""motionloop: train human-motion diffusion models that stay healthy on their own output.

Generate motion, correct it with a MuJoCo humanoid, run self-consuming loops and measure
collapse, look at clips side by side. (The module only parses arguments and calls the
library; every user error is one line on stderr and exit status 2.)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from motionloop import __version__
from motionloop.errors import MotionloopError
from motionloop.resources import BASE_MODEL

log = logging.getLogger("motionloop")


# --------------------------------------------------------------------------- data
def cmd_data_list(args: argparse.Namespace) -> int:
    from motionloop.data import bundled

    if args.json:
        print(json.dumps(bundled.list_as_dict()))
    else:
        print(bundled.list_as_table())
    return 0


def cmd_data_import(args: argparse.Namespace) -> int:
    from motionloop.data.importers import import_to_dir

    reports: list[dict] = []
    written = import_to_dir(
        args.path,
        args.out,
        format=args.format,
        joint_map=args.joint_map,
        fps=args.fps,
        label=args.label,
        cycles=args.cycles,
        reports=reports,
    )
    for path, rep in zip(written, reports):
        print(json.dumps({"clip": str(path), **rep}))
    print(f"wrote {len(written)} clips to {args.out}")
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    from motionloop.data.stats import foot_ground_stats
    from motionloop.motion import Motion
    from motionloop.physics.metrics import physics_metrics

    m = Motion.load(args.file)
    info = {"file": str(args.file), "label": m.label, "source": m.source, **foot_ground_stats(m), **physics_metrics(m)}
    if args.json:
        print(json.dumps(info))
    else:
        for k, v in info.items():
            print(f"{k:<24} {v:.4g}" if isinstance(v, float) else f"{k:<24} {v}")
    return 0


def _load_data(spec: str):
    """Clips of `bundled` (without object interaction) or a file / clip-set directory."""
    from motionloop.data.bundled import load_clips_or_bundled

    return load_clips_or_bundled(spec)


# --------------------------------------------------------------------------- model
DEFAULT_CKPT = BASE_MODEL


def cmd_train(args: argparse.Namespace) -> int:
    import dataclasses

    from motionloop.device import resolve_device
    from motionloop.model.config import TrainConfig
    from motionloop.model.train import is_main_process, train

    device = resolve_device(args.device)  # before the data is read: a bad --device is one line at once
    if not is_main_process():
        logging.getLogger("motionloop").setLevel(logging.WARNING)  # torchrun: rank 0 alone logs
    changes = {
        k: v for k, v in (("batch_size", args.batch_size), ("window", args.window), ("lr", args.lr)) if v is not None
    }
    cfg = dataclasses.replace(TrainConfig(), **changes)
    res = train(
        _load_data(args.data),
        args.out,
        args.steps,
        model=args.preset,
        config=cfg,
        seed=args.seed,
        resume=args.resume,
        device=device,
        bf16=args.bf16,
    )
    if is_main_process():
        print(f"wrote {res.path}: {res.steps} steps, final loss {res.final_loss:.4f}, {res.seconds:.0f} s")
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from motionloop.device import resolve_device
    from motionloop.model.train import fine_tune, is_main_process

    device = resolve_device(args.device)
    if not is_main_process():
        logging.getLogger("motionloop").setLevel(logging.WARNING)  # torchrun: rank 0 alone logs
    res = fine_tune(
        args.ckpt,
        _load_data(args.data),
        args.steps,
        args.out,
        seed=args.seed,
        lr=args.lr,
        device=device,
        bf16=args.bf16,
    )
    if is_main_process():
        print(f"wrote {res.path}: {res.steps} steps, final loss {res.final_loss:.4f}, {res.seconds:.0f} s")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from motionloop.device import resolve_device
    from motionloop.export.bvh_export import write_bvh
    from motionloop.model.sample import sample
    from motionloop.motion import save_clips

    device = resolve_device(args.device)
    physics = None
    if args.physics_steps:
        from motionloop.physics.correct import CorrectionConfig

        physics = CorrectionConfig(strength=args.physics_strength, workers=args.workers)
    motions = sample(
        args.ckpt,
        args.n,
        label=args.label,
        seconds=args.seconds,
        sampler=args.sampler,
        guidance=args.guidance,
        seed=args.seed,
        device=device,
        physics_steps=args.physics_steps,
        physics=physics,
    )
    paths = save_clips(motions, args.out)
    if args.bvh:
        for m, p in zip(motions, paths):
            write_bvh(m, p.with_suffix(".bvh"))
    print(f"wrote {len(paths)} clips to {args.out}" + (" (+ .bvh)" if args.bvh else ""))
    return 0


def cmd_export_bvh(args: argparse.Namespace) -> int:
    from motionloop.export.bvh_export import write_bvh
    from motionloop.motion import Motion, clip_paths

    out = Path(args.out)
    paths = clip_paths(args.input)
    for p in paths:
        write_bvh(Motion.load(p), out / f"{p.stem}.bvh", up=args.up, order=args.order, unit=args.unit)
    print(f"wrote {len(paths)} BVH files to {out}")
    return 0


# --------------------------------------------------------------------------- eval
def cmd_eval(args: argparse.Namespace) -> int:
    from motionloop.eval import Evaluator, evaluate, format_metrics
    from motionloop.motion import load_clips_skipping

    ev = Evaluator.load(args.evaluator) if args.evaluator else None
    clips, _, problems = load_clips_skipping(args.clips)
    _skipped(problems, args.strict)
    if not clips:
        raise MotionloopError(f"{args.clips}: none of its clips could be read")
    result = evaluate(clips, args.reference, n=args.n, seed=args.seed, evaluator=ev)
    print(json.dumps(result) if args.json else format_metrics(result))
    return 2 if args.strict and problems else 0


def cmd_train_evaluator(args: argparse.Namespace) -> int:
    import dataclasses

    from motionloop.device import resolve_device
    from motionloop.eval import EvaluatorConfig, load_reference, train_evaluator

    device = resolve_device(args.device)
    cfg = EvaluatorConfig() if args.steps is None else dataclasses.replace(EvaluatorConfig(), steps=args.steps)
    ev = train_evaluator(load_reference(args.data), args.out, cfg, seed=args.seed, progress=True, device=device)
    print(json.dumps(ev.train))
    return 0


# --------------------------------------------------------------------------- viz
def cmd_render(args: argparse.Namespace) -> int:
    from motionloop.motion import Motion
    from motionloop.viz.render import RenderConfig, parse_size, render

    paths = [Path(args.clip), *map(Path, args.compare)]
    out = render(
        [Motion.load(p) for p in paths],
        args.out,
        titles=[f"{p.parent.name}/{p.stem}" for p in paths],
        config=RenderConfig(size=parse_size(args.size), frame=args.frame, backend=args.backend),
    )
    print(f"wrote {out}")
    return 0


def cmd_export_mesh(args: argparse.Namespace) -> int:
    from motionloop.motion import Motion
    from motionloop.viz.mesh import export_mesh

    paths = export_mesh(
        Motion.load(args.clip),
        args.out,
        format=args.format,
        frames=args.frames,
        body_model=args.body_model,
        gender=args.gender,
    )
    print(f"wrote {len(paths)} {args.format} meshes to {args.out}")
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from motionloop.motion import Motion, clip_paths
    from motionloop.viz.viewer import write_viewer

    groups = [clip_paths(c) for c in args.clips]
    paths = [p for g in groups for p in g]
    columns = None
    stems = [{p.stem: p for p in g} for g in groups]
    if len(groups) > 1 and all(set(s) == set(stems[0]) for s in stems):
        # gen/ and corrected/ with the same clip names: one row per name, the folders side by side
        paths = [s[name] for name in sorted(stems[0]) for s in stems]
        columns = len(groups)
    titles = [p.stem for p in paths]
    if len(set(titles)) < len(titles):
        titles = [f"{p.parent.name}/{p.stem}" for p in paths]
    print(f"wrote {write_viewer([Motion.load(p) for p in paths], args.out, titles=titles, columns=columns)}")
    return 0


# --------------------------------------------------------------------------- physics
def _skipped(problems: list[str], strict: bool) -> None:
    for msg in problems:
        print(f"motionloop: skipped {msg}", file=sys.stderr)
    if problems and strict:
        print(f"motionloop: {len(problems)} clip(s) skipped (--strict: exit status 2)", file=sys.stderr)


def cmd_correct(args: argparse.Namespace) -> int:
    from motionloop import raycluster
    from motionloop.io import append_jsonl
    from motionloop.motion import load_clips_skipping
    from motionloop.physics.config import FIRM_TRACKER, SearchConfig
    from motionloop.physics.correct import SPARING_PRICE, CorrectionConfig, correct
    from motionloop.physics.repair import RepairConfig
    from motionloop.physics.summary import by_feasibility, summarize, table

    cfg = CorrectionConfig(
        strength=args.strength,
        workers=args.workers,
        executor=args.executor,
        address=args.address,
        assist=args.assist,
        unsmoothed_first=not args.smoothed_only,
        firm=None if args.no_firm else FIRM_TRACKER,
        unbalanced=args.unbalanced,
        planned=not args.no_planned,
        search=None if args.no_search else SearchConfig(),
        sparing=SPARING_PRICE if args.sparing else None,
        repair=RepairConfig(
            step_feet=args.step_feet, ground_window_s=None if args.one_ground_offset else RepairConfig.ground_window_s
        ),
    )
    if cfg.executor == "ray":
        raycluster.import_ray()  # before reading clips: one line saying how to install it
    motions, paths, problems = load_clips_skipping(args.input)
    _skipped(problems, args.strict)
    try:
        corrected, reports = correct(motions, cfg, names=[p.stem for p in paths])
    finally:
        if cfg.executor == "ray":
            raycluster.shutdown()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = [(p, m) for p, m, r in zip(paths, corrected, reports) if r.error is not None]
    for p, m, r in zip(paths, corrected, reports):
        # a clip that could not be corrected is not corrected output: it waits, unchanged, in failed/
        m.save((out / "failed" / p.name) if r.error is not None else (out / p.name))
    report_path = Path(args.report) if args.report else out / "reports.jsonl"
    if report_path.exists():
        report_path.unlink()
    for r in reports:
        append_jsonl(report_path, r.to_dict())
    print(table(reports))
    msg = f"wrote {len(reports) - len(failed)} corrected clips to {out}, reports to {report_path}"
    if failed:
        msg += f"; {len(failed)} could not be corrected (left unchanged in {out / 'failed'}, reasons in the reports)"
    print(msg)
    if args.json:
        print(json.dumps({**summarize(reports), "by_feasibility": by_feasibility(reports)}))
    return 2 if args.strict and (problems or failed) else 0


def _base_labels() -> str:
    """The shipped base model's labels, from its training record (no checkpoint load for --help)."""
    try:
        record = json.loads(BASE_MODEL.with_suffix(".json").read_text())
        return ", ".join(sorted(record["labels"]))
    except (OSError, ValueError, KeyError, TypeError):
        return "see an unknown label's error"


# --------------------------------------------------------------------------- loop
def _print_run(run: Path) -> None:
    """What a finished run shows: the last generation per arm, the effect table, where to look."""
    import numpy as np

    from motionloop.io import read_jsonl
    from motionloop.loop.report import effects_text

    run = Path(run).resolve()
    records = read_jsonl(run / "metrics.jsonl") if (run / "metrics.jsonl").exists() else []
    if records:
        last = max(r["generation"] for r in records)
        keys = [k for k in ("fid", "diversity", "phys_err_mm", "w2", "nll", "mean_sq_err") if k in records[-1]]
        print(f"generation {last}, mean over seeds ({', '.join(keys)}; lower FID / phys_err / w2 / nll is better):")
        units = sorted({(r["arm"], r["lambda"]) for r in records}, key=lambda u: (u[1], u[0]))
        for arm, lam in units:
            rows = [r for r in records if r["arm"] == arm and r["lambda"] == lam and r["generation"] == last]
            cells = "  ".join(
                f"{k} {np.mean([r[k] for r in rows if r.get(k) is not None]):.4g}"
                for k in keys
                if any(r.get(k) is not None for r in rows)
            )
            print(f"  {arm} (lambda {lam:g}): {cells}")
    print(effects_text(run))
    print(f"run directory: {run}")
    for name in ("metrics.jsonl", "curves.png", "report.html"):
        if (run / name).exists():
            print(f"  {run / name}")
    if (run / "report.html").exists():
        print(f"open {(run / 'report.html').as_uri()} in a browser for the curves, the effect table and the clips")


def cmd_loop(args: argparse.Namespace) -> int:
    from motionloop.loop import run_loop

    _print_run(
        run_loop(
            args.config,
            args.out,
            resume=args.resume,
            overrides=args.set or [],
            progress=not args.quiet,
            jobs=args.jobs,
            executor=args.executor,
            address=args.address,
        )
    )
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from motionloop.loop import plot_run
    from motionloop.loop.report import effects_text

    for path in plot_run(args.run):
        print(f"wrote {path}")
    print(effects_text(args.run))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from motionloop.io import read_jsonl
    from motionloop.loop import demo, load_config, rundir

    out = Path(args.out)
    if (out / rundir.METRICS).exists():
        done = rundir.completed(read_jsonl(out / rundir.METRICS))
        config = load_config("demo")
        if done and len(done) == len(config.seeds) * len(config.units()) and min(done.values()) >= config.generations:
            print(f"{out} already holds a finished demo run; showing it (delete it, or pass --out DIR, to run again)")
            _print_run(out)
            return 0
        print(f"continuing the demo run in {out}")
    _print_run(demo(args.out, progress=not args.quiet))
    return 0


# --------------------------------------------------------------------------- parser
class _Choices(Sequence):
    """`choices=` drawn from a library constant, imported only when argparse first looks at them.

    Building the parser then imports nothing heavy (torch, trimesh) whatever the command; the
    constant is read when its option is given or its command's --help is shown. argparse looks
    at the choices while adding the option unless it has a `metavar`, so give each one a metavar.
    """

    def __init__(self, module: str, name: str, extra: tuple[str, ...] = ()) -> None:
        self._module, self._name, self._extra = module, name, extra
        self._values: tuple[str, ...] | None = None

    def _get(self) -> tuple[str, ...]:
        if self._values is None:
            import importlib

            self._values = (*self._extra, *getattr(importlib.import_module(self._module), self._name))
        return self._values

    def __getitem__(self, i):
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return f"_Choices({self._module}.{self._name})"


def _loop_presets() -> str:
    """Names of the shipped loop presets (motionloop/configs/*.toml), without importing the loop package."""
    return ", ".join(sorted(p.stem for p in (Path(__file__).resolve().parent / "configs").glob("*.toml")))


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _command(sub: argparse._SubParsersAction, name: str, help: str, *examples: str) -> argparse.ArgumentParser:
    """A command's parser: `help` is its line in the command list and its description, `examples` its epilog."""
    return sub.add_parser(
        name,
        help=help,
        description=help,
        epilog=_examples(*examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


SEED_HELP = "random seed (default %(default)s)"
DEVICE_HELP = "cpu | cuda | cuda:N | auto (default auto: cuda when present, else cpu)"
BF16_HELP = "run the network's forward pass in bfloat16 autocast (CUDA or CPU; weights and losses stay float32)"


def add_data_list(sub: argparse._SubParsersAction) -> None:
    d = _command(
        sub,
        "list",
        "list the bundled real-mocap clips",
        "motionloop data list",
        "motionloop data list --json > bundled.json",
    )
    d.add_argument("--json", action="store_true", help="one JSON object with a `clips` list and totals")
    d.set_defaults(func=cmd_data_list)


def add_data_import(sub: argparse._SubParsersAction) -> None:
    d = _command(
        sub,
        "import",
        "import BVH / DeepMimic / AMASS / HumanML3D files as SMPL-24 clips",
        "motionloop data import ~/mocap/cmu/ --out clips/cmu/",
        "motionloop data import dance.bvh --out clips/mine/ --joint-map rig.toml --label dance",
        "motionloop data import humanoid3d_walk.txt --format deepmimic --cycles 3 --out clips/deepmimic/",
    )
    d.add_argument("path", help="a file or a directory (searched recursively)")
    d.add_argument("--out", required=True, help="output clip-set directory")
    d.add_argument(
        "--format",
        default="auto",
        choices=_Choices("motionloop.data.importers", "FORMATS", extra=("auto",)),
        metavar="FORMAT",
        help="input format, one of %(choices)s; auto tells them by file extension (default %(default)s)",
    )
    d.add_argument("--joint-map", help='TOML joint map ([joints] smpl_name = "bvh joint") for unusual BVH rigs')
    d.add_argument("--fps", type=float, default=20.0, help="output frame rate, frames per second (default %(default)g)")
    d.add_argument("--label", help="action label for the imported clips (default: none)")
    d.add_argument(
        "--cycles", type=int, default=1, help="play looping DeepMimic clips this many times (default %(default)s)"
    )
    d.set_defaults(func=cmd_data_import)


def add_data_info(sub: argparse._SubParsersAction) -> None:
    d = _command(
        sub,
        "info",
        "frames, fps, duration, label, height, foot-ground and physics stats of a clip",
        "motionloop data info gen/clip_0000.npz",
        "motionloop data info gen/clip_0000.npz --json",
    )
    d.add_argument("file", help="a clip file (.npz)")
    d.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    d.set_defaults(func=cmd_data_info)


def add_data(sub: argparse._SubParsersAction) -> None:
    data = _command(
        sub,
        "data",
        "bundled data, importers, clip info",
        "motionloop data list",
        "motionloop data import ~/mocap/cmu/ --out clips/cmu/",
        "motionloop data info clips/cmu/02_01.npz",
    )
    actions = data.add_subparsers(dest="data_command", required=True, metavar="ACTION", help="what to do")
    add_data_list(actions)
    add_data_import(actions)
    add_data_info(actions)


def add_train(sub: argparse._SubParsersAction) -> None:
    t = _command(
        sub,
        "train",
        "train a motion diffusion model",
        "motionloop train --steps 20000 --out models/mine.pt",
        "motionloop train --steps 40000 --out models/mine.pt --resume",
        "motionloop train --data clips/cmu/ --preset mdm --steps 200000 --device cuda --out models/mdm.pt",
        "torchrun --nproc-per-node 4 -m motionloop train --data clips/cmu/ --preset mdm --steps 200000 --bf16 "
        "--out models/mdm.pt",
    )
    t.add_argument("--data", default="bundled", help="'bundled' or a clip file / directory (default %(default)s)")
    t.add_argument(
        "--preset",
        default="cpu-small",
        choices=_Choices("motionloop.model.denoiser", "PRESETS"),
        metavar="PRESET",
        help="model size, one of %(choices)s (default %(default)s)",
    )
    t.add_argument("--steps", type=int, required=True, help="total optimiser steps")
    t.add_argument("--out", required=True, help="checkpoint file to write")
    t.add_argument("--seed", type=int, default=0, help=SEED_HELP)
    t.add_argument("--resume", action="store_true", help="continue the checkpoint at --out")
    t.add_argument("--batch-size", type=int, help="windows per optimiser step (default: TrainConfig's, 64)")
    t.add_argument("--window", type=int, help="training window in frames at 20 fps (default: TrainConfig's, 40)")
    t.add_argument("--lr", type=float, help="peak learning rate, cosine-decayed (default: TrainConfig's, 5e-4)")
    t.add_argument("--device", help=DEVICE_HELP)
    t.add_argument("--bf16", action="store_true", help=BF16_HELP)
    t.set_defaults(func=cmd_train)


def add_finetune(sub: argparse._SubParsersAction) -> None:
    f = _command(
        sub,
        "finetune",
        "continue training a checkpoint on other clips",
        "motionloop finetune --data clips/cmu/ --steps 2000 --out models/cmu.pt",
        "motionloop finetune --ckpt models/mine.pt --data corrected/ --steps 500 --lr 5e-5 --out models/mine-ft.pt",
    )
    f.add_argument("--ckpt", default=str(DEFAULT_CKPT), help="checkpoint (default: the shipped base model)")
    f.add_argument("--data", required=True, help="'bundled' or a clip file / directory")
    f.add_argument("--steps", type=int, required=True, help="optimiser steps")
    f.add_argument("--out", required=True, help="checkpoint file to write")
    f.add_argument("--lr", type=float, help="constant learning rate (default: the checkpoint's finetune_lr)")
    f.add_argument("--seed", type=int, default=0, help=SEED_HELP)
    f.add_argument("--device", help=DEVICE_HELP)
    f.add_argument("--bf16", action="store_true", help=BF16_HELP)
    f.set_defaults(func=cmd_finetune)


def add_sample(sub: argparse._SubParsersAction) -> None:
    sm = _command(
        sub,
        "sample",
        "generate clips with a diffusion checkpoint",
        "motionloop sample --n 8 --label walk --out gen/",
        "motionloop sample --n 4 --ckpt models/cmu.pt --sampler ddpm --guidance 2.5 --bvh --out gen/",
        "motionloop sample --n 8 --label jump --physics-steps 4 --workers 0 --out gen-physics/",
    )
    sm.add_argument("--ckpt", default=str(DEFAULT_CKPT), help="checkpoint (default: the shipped base model)")
    sm.add_argument("--n", type=int, required=True, help="number of clips")
    sm.add_argument(
        "--label",
        help=f"action label, one of the model's (the shipped model's: {_base_labels()}; "
        "default: drawn from the training mix)",
    )
    sm.add_argument("--seconds", type=float, help="clip length in seconds (default and maximum: the training window)")
    sm.add_argument("--sampler", default="ddim:50", help="ddim:K or ddpm, optionally +physics:P (default %(default)s)")
    sm.add_argument(
        "--physics-steps",
        type=int,
        default=0,
        metavar="P",
        help="physics projections of the clean estimate at P late sampler steps (PhysDiff; default %(default)s)",
    )
    sm.add_argument(
        "--physics-strength",
        type=float,
        default=1.0,
        help="corrector strength of those projections, 0 = none, 1 = full physics (default %(default)g)",
    )
    sm.add_argument(
        "--workers",
        type=int,
        default=1,
        help="correction processes for the projections (0 = one per core; default %(default)s)",
    )
    sm.add_argument("--guidance", type=float, default=1.0, help="classifier-free guidance scale (default %(default)g)")
    sm.add_argument("--seed", type=int, default=0, help=SEED_HELP)
    sm.add_argument("--bvh", action="store_true", help="also write a .bvh beside each clip (export-bvh's defaults)")
    sm.add_argument("--device", help=DEVICE_HELP)
    sm.add_argument("--out", required=True, help="output clip-set directory")
    sm.set_defaults(func=cmd_sample)


def add_export_bvh(sub: argparse._SubParsersAction) -> None:
    ex = _command(
        sub,
        "export-bvh",
        "write clips as BVH (SMPL joint names) for Blender and co.",
        "motionloop export-bvh gen/ --out bvh/",
        "motionloop export-bvh gen/clip_0000.npz --out bvh/ --up z --order XYZ --unit m",
    )
    ex.add_argument("input", help="a clip or a clip-set directory")
    ex.add_argument("--out", required=True, help="output directory (one NAME.bvh per clip)")
    ex.add_argument(
        "--up",
        choices=("y", "z"),
        default="y",
        help="up axis of the file: y as Blender's BVH importer assumes, z as motionloop's world (default %(default)s)",
    )
    ex.add_argument(
        "--order",
        choices=_Choices("motionloop.export.bvh_export", "ORDERS"),
        default="ZXY",
        metavar="ORDER",
        help="Euler order of the rotation channels (intrinsic), one of %(choices)s (default %(default)s)",
    )
    ex.add_argument(
        "--unit",
        choices=_Choices("motionloop.export.bvh_export", "UNITS"),
        default="cm",
        metavar="UNIT",
        help="length unit of offsets and positions, one of %(choices)s (default %(default)s)",
    )
    ex.set_defaults(func=cmd_export_bvh)


def add_correct(sub: argparse._SubParsersAction) -> None:
    c = _command(
        sub,
        "correct",
        "physics-correct clips with the MuJoCo tracking controller",
        "motionloop sample --n 8 --label walk --out gen/ && motionloop correct gen/ --out corrected/",
        "motionloop correct gen/ --out corrected/ --workers 0 --strength 0.5 --json",
        "motionloop correct gen/ --out corrected/ --executor ray",
        "motionloop correct gen/ --out corrected/ --executor ray --address 10.0.0.5:6379",
    )
    c.add_argument("input", help="a clip (.npz) or a directory of clips")
    c.add_argument("--out", required=True, help="output directory for corrected clips")
    c.add_argument("--strength", type=float, default=1.0, help="0 = unchanged, 1 = full physics (default %(default)g)")
    c.add_argument(
        "--workers",
        type=int,
        default=1,
        help="local worker processes (0 = one per core; default %(default)s); only with --executor local "
        "(with ray the cluster's CPUs decide)",
    )
    c.add_argument(
        "--executor",
        choices=_Choices("motionloop.physics.executor", "EXECUTORS"),
        default="local",
        metavar="EXECUTOR",
        help="%(choices)s; local: this machine's processes (--workers); ray: batches of clips as Ray tasks on a cluster, "
        "a worker or node that dies is retried (needs the ray extra; default %(default)s)",
    )
    c.add_argument(
        "--assist",
        choices=_Choices("motionloop.physics.config", "ASSIST_MODES"),
        default="local",
        metavar="MODE",
        help="%(choices)s; local: where the residual-free body falls, it is wound back 0.75 s and that stretch is "
        "tracked with the bounded root residual; whole: falls are reset and only the whole-clip attempt after them "
        "has the residual (default %(default)s)",
    )
    c.add_argument(
        "--smoothed-only",
        action="store_true",
        help="track only the smoothed reference (default: each kind of attempt first on the unsmoothed reference, "
        "which keeps clips that can be tracked as they are closer to the data, then on the smoothed one where that "
        "was not enough)",
    )
    c.add_argument(
        "--no-firm",
        action="store_true",
        help="no second residual-free controller (default: where both residual-free attempts fall, a controller with "
        "a firmer centre of mass tracks a reference whose pelvis is lowered up to 2 cm where planted feet are out of "
        "reach, and counts if it reaches the end)",
    )
    c.add_argument(
        "--no-planned",
        action="store_true",
        help="no attempts on the planned reference (default: where every other residual-free attempt "
        "falls, the reference's centre of mass is put on the whole-clip centroidal plan, contact forces in friction "
        "cones, and tracked unsmoothed, then smoothed; each counts if it reaches the end; and where no attempt is a "
        "success, the planned reference is tracked once more with the residual)",
    )
    c.add_argument(
        "--no-search",
        action="store_true",
        help="no residual-free search (default: where every other residual-free attempt falls, and the free one "
        "on the smoothed reference fell at most twice, the free controller tracks the clip again, and at each "
        "fall winds back and retracks that stretch on references shifted by a random horizontal bump, smallest "
        "first, backtracking where none gets through, within a budget of 20 simulated steps per step; it counts "
        "if it reaches the end)",
    )
    c.add_argument(
        "--sparing",
        action="store_true",
        help="where the closest success is not verified (beyond 100 mm of its input), track the whole clip once "
        "more with the residual priced 10 times higher, smoothed; it counts if it keeps the residual budget, and "
        "the output is then the closer success (default off)",
    )
    c.add_argument(
        "--one-ground-offset",
        action="store_true",
        help="put each clip on the floor with one vertical offset (default: the offset follows the clip's floor "
        "level frame by frame, so a clip that drifts up or down stands on the floor throughout, while rises of it "
        "shorter than 1 s, flights, keep their height)",
    )
    c.add_argument(
        "--unbalanced",
        action="store_true",
        help="where both residual-free attempts fall, one more on the reference without the balance shift (the repair's "
        "largest departure from the input) before the firm controller: outputs closer to their inputs, at about 1.2x "
        "the CPU time and a little more phys_err (default: off)",
    )
    c.add_argument(
        "--step-feet",
        action="store_true",
        help="before the balance shift, move each planted foot towards the ZMP the reference needs (leg IK), so "
        "that less of the balance is left to the pelvis shift: outputs of generated clips closer to their inputs, "
        "fewer successes on real mocap (default: off)",
    )
    c.add_argument(
        "--address",
        help="with --executor ray: HOST:PORT of a running Ray head node (ray start --head) or 'auto' "
        "(default: start a local Ray instance on this machine)",
    )
    c.add_argument("--report", help="report file, one JSON object per clip (default OUT/reports.jsonl)")
    c.add_argument(
        "--json",
        action="store_true",
        help="also print the summary as one JSON object (with `by_feasibility`: the same summary per group of "
        "clips by the input's own feasibility floor)",
    )
    c.add_argument("--strict", action="store_true", help="exit with status 2 if any clip was skipped or failed")
    c.set_defaults(func=cmd_correct)


def add_eval(sub: argparse._SubParsersAction) -> None:
    e = _command(
        sub,
        "eval",
        "FID, diversity, accuracy, precision/recall and physics metrics of clips",
        "motionloop eval gen/",
        "motionloop eval corrected/ --reference clips/cmu/ --n 128 --json",
    )
    e.add_argument("clips", help="a clip or a clip-set directory")
    e.add_argument("--reference", default="bundled", help="'bundled' or a clip-set directory (default %(default)s)")
    e.add_argument("--n", type=int, default=256, help="windows compared (FID depends on it; default %(default)s)")
    e.add_argument("--seed", type=int, default=0, help=SEED_HELP)
    e.add_argument("--evaluator", help="evaluator file (default: the shipped one)")
    e.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    e.add_argument("--strict", action="store_true", help="exit with status 2 if any clip could not be read")
    e.set_defaults(func=cmd_eval)


def add_train_evaluator(sub: argparse._SubParsersAction) -> None:
    te = _command(
        sub,
        "train-evaluator",
        "train an evaluator embedding on your own labelled clips",
        "motionloop train-evaluator --data clips/cmu/ --out models/cmu-evaluator.pt",
        "motionloop eval gen/ --reference clips/cmu/ --evaluator models/cmu-evaluator.pt",
    )
    te.add_argument("--data", required=True, help="'bundled' or a clip-set directory")
    te.add_argument("--out", required=True, help="evaluator file to write")
    te.add_argument("--steps", type=int, help="optimiser steps (default: EvaluatorConfig's, 3000)")
    te.add_argument("--seed", type=int, default=0, help=SEED_HELP)
    te.add_argument("--device", help=DEVICE_HELP)
    te.set_defaults(func=cmd_train_evaluator)


def add_render(sub: argparse._SubParsersAction) -> None:
    r = _command(
        sub,
        "render",
        "render clips to .mp4 / .gif / .png, side by side with --compare",
        "motionloop render gen/clip_0000.npz --out walk.mp4",
        "motionloop render gen/clip_0000.npz --compare corrected/clip_0000.npz --out cmp.mp4",
        "motionloop render gen/clip_0000.npz --out sheet.png --backend stick",
    )
    r.add_argument("clip", help="the clip (.npz) in the first panel")
    r.add_argument("--compare", nargs="*", default=[], help="more clips shown beside the first")
    r.add_argument("--out", required=True, help="FILE.mp4, FILE.gif or FILE.png (a contact sheet)")
    r.add_argument("--size", default="640x480", help="panel size WxH in pixels (default %(default)s)")
    r.add_argument("--frame", type=int, help="with .png: this one frame (0-based) instead of a contact sheet")
    r.add_argument(
        "--backend",
        default="auto",
        choices=_Choices("motionloop.viz.render", "BACKENDS"),
        metavar="BACKEND",
        help="one of %(choices)s: auto = MuJoCo if an offscreen GL backend works here, else the stick figure; "
        "mujoco = fail without one; stick = matplotlib stick figure (default %(default)s)",
    )
    r.set_defaults(func=cmd_render)


def add_export_mesh(sub: argparse._SubParsersAction) -> None:
    me = _command(
        sub,
        "export-mesh",
        "export posed meshes (capsule body, or SMPL with --body-model)",
        "motionloop export-mesh gen/clip_0000.npz --out meshes/",
        "motionloop export-mesh gen/clip_0000.npz --out meshes/ --format glb --frames ::10 --body-model ~/smpl",
    )
    me.add_argument("clip", help="the clip (.npz) to pose")
    me.add_argument("--out", required=True, help="output directory (one frame_NNNNN.FORMAT per frame)")
    me.add_argument(
        "--format",
        choices=_Choices("motionloop.viz.mesh", "FORMATS"),
        default="obj",
        metavar="FORMAT",
        help="mesh file format, one of %(choices)s (default %(default)s)",
    )
    me.add_argument("--frames", help="a:b:s frame slice, or one frame index (default all)")
    me.add_argument("--body-model", help="directory with your SMPL / SMPL-H / SMPL-X model files")
    me.add_argument(
        "--gender",
        default="neutral",
        choices=_Choices("motionloop.viz.smpl", "GENDERS"),
        metavar="GENDER",
        help="which --body-model file, one of %(choices)s (default %(default)s)",
    )
    me.set_defaults(func=cmd_export_mesh)


def add_view(sub: argparse._SubParsersAction) -> None:
    v = _command(
        sub,
        "view",
        "write a self-contained HTML page showing clips in 3D side by side",
        "motionloop view gen/clip_0000.npz --out walk.html",
        "motionloop view gen/ corrected/ --out compare.html",
    )
    v.add_argument(
        "clips",
        nargs="+",
        help="clips or clip-set directories (folders holding the same clip names are paired, one row per clip)",
    )
    v.add_argument("--out", required=True, help="the page to write, e.g. page.html")
    v.set_defaults(func=cmd_view)


def add_loop(sub: argparse._SubParsersAction) -> None:
    lp = _command(
        sub,
        "loop",
        "run a self-consuming loop (collapse curves) from a preset or TOML config",
        "motionloop loop --config kazdan-gaussian --out runs/toy",
        "motionloop loop --config evidence --out runs/evidence --jobs 2",
        "motionloop loop --config demo --out runs/short --set generations=3 --set 'seeds=[0]'",
        "motionloop loop --config scsc-toy --out runs/scsc --executor ray --address 10.0.0.5:6379",
    )
    lp.add_argument("--config", required=True, help=f"preset name ({_loop_presets()}) or a TOML file")
    lp.add_argument("--out", required=True, help="run directory")
    lp.add_argument("--resume", action="store_true", help="continue the run in --out from its last complete generation")
    lp.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set generations=3 (repeatable)",
    )
    lp.add_argument("--quiet", action="store_true", help="no progress bars")
    lp.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="with --executor local: processes running the seeds side by side (default %(default)s)",
    )
    lp.add_argument(
        "--executor",
        choices=_Choices("motionloop.loop.engine", "EXECUTORS"),
        default="local",
        metavar="EXECUTOR",
        help="%(choices)s; local: this machine (--jobs); ray: every chain (arm x lambda x seed) a Ray task on a "
        "cluster, a worker or node that dies is retried; the run directory must be at the same path on every "
        "node (needs the ray extra; default %(default)s)",
    )
    lp.add_argument(
        "--address",
        help="with --executor ray: HOST:PORT of a running Ray head node (ray start --head) or 'auto' "
        "(default: start a local Ray instance on this machine)",
    )
    lp.set_defaults(func=cmd_loop)


def add_plot(sub: argparse._SubParsersAction) -> None:
    pl = _command(
        sub,
        "plot",
        "regenerate curves.png and report.html of a loop run",
        "motionloop plot runs/evidence",
    )
    pl.add_argument("run", help="run directory")
    pl.set_defaults(func=cmd_plot)


def add_demo(sub: argparse._SubParsersAction) -> None:
    dm = _command(
        sub,
        "demo",
        "the demo loop on the bundled data from the shipped base model (~7 min on 2 cores)",
        "motionloop demo",
        "motionloop demo --out runs/demo2 --quiet",
    )
    dm.add_argument("--out", default="runs/demo", help="run directory (default %(default)s; continued if it exists)")
    dm.add_argument("--quiet", action="store_true", help="no progress bars")
    dm.set_defaults(func=cmd_demo)


COMMANDS = (
    add_data,
    add_train,
    add_finetune,
    add_sample,
    add_export_bvh,
    add_eval,
    add_train_evaluator,
    add_render,
    add_export_mesh,
    add_view,
    add_correct,
    add_loop,
    add_plot,
    add_demo,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="motionloop",
        description=__doc__.splitlines()[0],
        epilog=_examples(
            "motionloop sample --n 8 --label walk --out gen/",
            "motionloop correct gen/ --out corrected/ --workers 2",
            "motionloop render gen/clip_0000.npz --compare corrected/clip_0000.npz --out cmp.mp4",
            "motionloop COMMAND --help",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    p.add_argument("--version", action="version", version=f"motionloop {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")
    for add in COMMANDS:
        add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader went away (`motionloop data list | head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except MotionloopError as e:
        print(f"motionloop: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("motionloop: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
