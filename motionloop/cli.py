"""The `motionloop` command. Thin: parse arguments, call the library, print results.

Every user error is a MotionloopError: printed on one line, exit status 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from motionloop.errors import MotionloopError

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
    written = import_to_dir(args.path, args.out, format=args.format, joint_map=args.joint_map, fps=args.fps,
                            label=args.label, cycles=args.cycles, reports=reports)
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


# --------------------------------------------------------------------------- physics
def cmd_correct(args: argparse.Namespace) -> int:
    from motionloop.io import append_jsonl
    from motionloop.motion import Motion, clip_paths
    from motionloop.physics.correct import CorrectionConfig, correct
    from motionloop.physics.summary import summarize, table

    paths = clip_paths(args.input)
    motions = [Motion.load(p) for p in paths]
    cfg = CorrectionConfig(strength=args.strength, workers=args.workers)
    corrected, reports = correct(motions, cfg, names=[p.stem for p in paths])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for p, m in zip(paths, corrected):
        m.save(out / p.name)
    report_path = Path(args.report) if args.report else out / "reports.jsonl"
    if report_path.exists():
        report_path.unlink()
    for r in reports:
        append_jsonl(report_path, r.to_dict())
    print(table(reports))
    print(f"wrote {len(corrected)} clips to {out}, reports to {report_path}")
    if args.json:
        print(json.dumps(summarize(reports)))
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="motionloop", description=__doc__.splitlines()[0])
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="bundled data, importers, clip info").add_subparsers(dest="data_command", required=True, metavar="ACTION")
    d = data.add_parser("list", help="list the bundled real-mocap clips")
    d.add_argument("--json", action="store_true", help="one JSON object with a `clips` list and totals")
    d.set_defaults(func=cmd_data_list)
    d = data.add_parser("import", help="import BVH / DeepMimic / AMASS / HumanML3D files as SMPL-24 clips")
    d.add_argument("path", help="a file or a directory (searched recursively)")
    d.add_argument("--out", required=True, help="output clip-set directory")
    d.add_argument("--format", default="auto", help="auto|bvh|deepmimic|amass|humanml3d (default auto)")
    d.add_argument("--joint-map", help="TOML joint map ([joints] smpl_name = \"bvh joint\") for unusual BVH rigs")
    d.add_argument("--fps", type=float, default=20.0, help="output frame rate (default 20)")
    d.add_argument("--label", help="action label for the imported clips")
    d.add_argument("--cycles", type=int, default=1, help="play looping DeepMimic clips this many times")
    d.set_defaults(func=cmd_data_import)
    d = data.add_parser("info", help="frames, fps, duration, label, height, foot-ground and physics stats of a clip")
    d.add_argument("file")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_data_info)

    c = sub.add_parser("correct", help="physics-correct clips with the MuJoCo tracking controller")
    c.add_argument("input", help="a clip (.npz) or a directory of clips")
    c.add_argument("--out", required=True, help="output directory for corrected clips")
    c.add_argument("--strength", type=float, default=1.0, help="0 = unchanged, 1 = full physics (default 1)")
    c.add_argument("--workers", type=int, default=1, help="local worker processes (0 = one per core)")
    c.add_argument("--report", help="report file, one JSON object per clip (default OUT/reports.jsonl)")
    c.add_argument("--json", action="store_true", help="also print the summary as one JSON object")
    c.set_defaults(func=cmd_correct)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except MotionloopError as e:
        print(f"motionloop: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("motionloop: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
