"""How the reference's smoothing trades tracking success against fidelity to real mocap.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_smoothing.py [--workers 2]

For each `smooth_s` (the Gaussian width that low-passes the reference before tracking, in
the residual-free, firm and assisted controllers; `unsmoothed_first` off, so each row
tracks with that smoothing only), and then for the default ladder (`unsmoothed_first`: each
kind of attempt unsmoothed first, smoothed at 0.05 s only where needed), the 47 bundled real
clips without objects are corrected at strength 1, and the corrected clips are compared with
the raw ones as bench_physics does (FID change with the same window draws, n = 128, draw
seeds 0-4; trunk pitch). Writes benchmarks/results/bench_smoothing.json (name, config,
machine, figures).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from bench_physics import FID_N, FID_SEEDS, fidelity

from motionloop.bench import machine
from motionloop.data.bundled import OBJECT_LABELS, list_bundled
from motionloop.io import write_text
from motionloop.motion import Motion
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.physics.summary import summarize

SMOOTH_S = (0.0, 0.025, 0.05)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_smoothing.json"))
    args = ap.parse_args()
    entries = [c for c in list_bundled() if c.label not in OBJECT_LABELS]
    clips = [Motion.load(c.path) for c in entries]
    base = CorrectionConfig(workers=args.workers)
    rows = []
    settings = [
        (
            f"{s:.3f}",
            dataclasses.replace(
                base,
                unsmoothed_first=False,
                tracker=dataclasses.replace(base.tracker, smooth_s=s),
                free=dataclasses.replace(base.free, smooth_s=s),
                firm=dataclasses.replace(base.firm, smooth_s=s),
            ),
        )
        for s in SMOOTH_S
    ]
    settings.append(("ladder", base))
    seconds = float(sum(m.duration for m in clips))
    for tag, cfg in settings:
        out, reports = correct(clips, cfg, names=[c.id for c in entries])
        summary = summarize(reports)
        fid = fidelity(clips, out)
        rows.append(
            {
                "smooth_s": tag,
                "unsmoothed_first": cfg.unsmoothed_first,
                "summary": summary,
                "fidelity": fid,
                "cpu_s_per_motion_s": summary["cpu_s"] / seconds,
            }
        )
        print(
            f"smooth_s {tag}: success {summary['success_rate']:.2f} free {summary['success_free_rate']:.2f} "
            f"verified {summary['verified_rate']:.2f} MPJPE {summary['mpjpe_mm']:.0f} mm | FID change "
            f"{fid['fid_change']:+.1f} +- {fid['fid_change_se']:.1f}, trunk pitch change {fid['trunk_pitch_change_deg']:.1f} deg, "
            f"{rows[-1]['cpu_s_per_motion_s']:.3f} CPU s per motion s",
            flush=True,
        )
    result = {
        "name": "bench_smoothing",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "config": {"clips": len(clips), "smooth_s": list(SMOOTH_S), "fid_n": FID_N, "fid_seeds": list(FID_SEEDS)},
        "machine": machine(),
        "figures": {"rows": rows},
    }
    write_text(args.out, json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
