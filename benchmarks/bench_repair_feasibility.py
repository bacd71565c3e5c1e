"""How feasible the tracker's references are, stage by stage of the repair, on real and generated clips.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_repair_feasibility.py [--per-label 8] [--seed 7]

The corrector tracks a repaired reference (physics/repair.py: grounded, planted feet,
balance shift, ballistic flights) and, where every residual-free attempt fell, the
centroidal plan of it (physics/plan.py). Both exist to make the reference dynamically
consistent before tracking. This benchmark measures whether they do, with the clip's own
feasibility floor (physics/feasibility.py: the least root force, as a share of body weight,
that the reference's accelerations need beyond what contacts within 3 cm of the floor can
push) after each stage:

    input -> ground -> + plant (planted feet) -> + balance -> + ballistic (the repaired
    reference) -> + plan (the planned reference)

on the 47 bundled real clips without objects and on bench_physics' generated set (8 samples
per label of the shipped model, DDIM-50, seed 7). Also the largest ankle correction of the
plant stage per clip (plant.plant_corrections, capped at 0.3 m), and how many clips need more
than 15 cm: a planted foot held that far from where the clip puts it is out of the leg's
reach and hangs in the air. Per label and overall; no simulation runs.
JSON: benchmarks/results/bench_repair_feasibility.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must precede torch's OpenMP start-up

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from motionloop.bench import write_result
from motionloop.data.bundled import OBJECT_LABELS, list_bundled
from motionloop.motion import Motion
from motionloop.physics.feasibility import feasibility_bw
from motionloop.physics.model import Humanoid
from motionloop.physics.plan import PlanError, centroidal_repair
from motionloop.physics.plant import PlantConfig, plant_corrections
from motionloop.physics.repair import PlacementError, RepairConfig, repair

sys.path.insert(0, str(Path(__file__).parent))
from bench_physics import generated_set

RESULTS = Path(__file__).resolve().parent / "results" / "bench_repair_feasibility.json"
STAGES = {
    "ground": RepairConfig(lock_feet=False, balance=False, ballistic=False),
    "plant": RepairConfig(balance=False, ballistic=False),
    "balance": RepairConfig(ballistic=False),
    "repaired": RepairConfig(),
}
FAR_M = 0.15  # m: a plant correction this large leaves the foot out of the leg's reach


def one(h: Humanoid, m: Motion) -> dict:
    """Feasibility floor after each stage, and the plant stage's largest ankle correction."""
    row: dict = {"input": feasibility_bw(m, h)}
    try:
        staged = {name: repair(m, cfg, h) for name, cfg in STAGES.items()}
    except PlacementError:
        return {**row, "rejected": True}
    for name, clip in staged.items():
        row[name] = feasibility_bw(clip, h)
    try:
        row["planned"] = feasibility_bw(centroidal_repair(h, staged["repaired"])[0], h)
    except PlanError:
        row["planned"] = float("nan")
    corr, _, _ = plant_corrections(staged["ground"], PlantConfig(), h.spec.offsets_array())
    row["plant_correction_max_m"] = float(np.linalg.norm(corr, axis=-1).max())
    return row


def summary(rows: list[dict]) -> dict:
    ok = [r for r in rows if not r.get("rejected")]
    out: dict = {"clips": len(rows), "rejected": len(rows) - len(ok)}
    for key in ("input", *STAGES, "planned"):
        v = np.array([r[key] for r in ok], dtype=float)
        out[f"{key}_bw"] = float(np.nanmean(v)) if len(v) else float("nan")
        out[f"{key}_under_5pct"] = int(np.sum(v < 0.05))
    if ok:
        inp = np.array([r["input"] for r in ok])
        rep = np.array([r["repaired"] for r in ok])
        plan = np.array([r["planned"] for r in ok])
        out["repaired_worse"] = int(np.sum(rep > inp + 0.01))
        out["planned_worse_than_repaired"] = int(np.sum(plan > rep + 0.01))
        out["plant_far"] = int(np.sum([r["plant_correction_max_m"] > FAR_M for r in ok]))
    return out


def run_set(h: Humanoid, clips: list[Motion], names: list[str], labels: list[str]) -> dict:
    rows = [dict(one(h, m), clip=n, label=lab) for m, n, lab in zip(clips, names, labels)]
    by_label = {lab: summary([r for r in rows if r["label"] == lab]) for lab in sorted(set(labels))}
    return {"summary": summary(rows), "by_label": by_label, "clips": rows}


def show(tag: str, s: dict) -> None:
    stages = " -> ".join(f"{k} {100 * s[f'{k}_bw']:.1f}" for k in ("input", *STAGES, "planned"))
    print(
        f"{tag} ({s['clips']} clips): feasibility floor %BW {stages}; repaired worse than input "
        f"{s.get('repaired_worse', 0)}, planned worse than repaired {s.get('planned_worse_than_repaired', 0)}, "
        f"plant correction > {FAR_M * 100:.0f} cm {s.get('plant_far', 0)}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-label", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    h = Humanoid()
    entries = [c for c in list_bundled() if c.label not in OBJECT_LABELS]
    t0 = time.process_time()
    real = run_set(h, [Motion.load(c.path) for c in entries], [c.id for c in entries], [c.label for c in entries])
    show("real", real["summary"])
    gen, names = generated_set(args.per_label, args.seed)
    generated = run_set(h, gen, names, [m.label for m in gen])
    show("generated", generated["summary"])
    for lab, s in generated["by_label"].items():
        show(f"  generated {lab}", s)
    figures = {"real": real, "generated": generated, "cpu_s": time.process_time() - t0}
    config = {"per_label": args.per_label, "seed": args.seed, "sampler": "ddim:50", "far_m": FAR_M}
    write_result(args.out, "bench_repair_feasibility", config, figures)


if __name__ == "__main__":
    main()
