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
