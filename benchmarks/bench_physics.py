"""Physics correction: fidelity on real mocap, repair of generated clips, success as the field
counts it, and cost.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_physics.py [--workers 2] [--quick]

Writes benchmarks/results/bench_physics.json (name, config, machine, figures):
- real: the bundled clips without object interaction (the simulation has no objects), at
  each strength: success (residual within budget), success_free (no residual at all: what
  PHC/UHC report), verified, residual, MPJPE, phys_err before -> after, per label at
  strength 1, every clip's report;
- fidelity of real clips at strength 1: FID of the corrected clips minus FID of the raw ones
  against the bundled reference with the same window draws (n = 128, draw seeds 0-4), the
  same for diversity and accuracy, and the change of trunk pitch (the forward lean in the
  body's facing direction, metrics.pitch_change_deg; mean over all frames);
- corrupted: copies of the walking clips lifted 10 cm, sunk 5 cm, jittered, sliding, and
  beside them the same walks uncorrupted (`clean`: phys_err before and after correction at
  strength 1). The clean row is the floor of the others: the raw walks' own skate is part of
  every corrupted copy's "before", and their corrected outputs' phys_err is about what a
  corrected copy can reach, so it bounds the drop a corrector can show (the slide copies:
  before 16 mm, of which about 4 is the walks' own skate);
- generated: 128 samples of the shipped model (8 per label, DDIM-50, seed 7), the
  corrector's real input, with the same figures per label and the trunk pitch change (over
  all frames, and per label the mean of the clips' means);
- ablations (same run), real and generated at strength 1, with the FID change of the real
  clips: `unbalanced` (the option CorrectionConfig.unbalanced: where both residual-free
  attempts fell, one more on the reference without the balance shift); `unsearched` (no
  residual-free search, CorrectionConfig.search None: the default corrector without it);
  `sparing` (the option CorrectionConfig.sparing at SPARING_PRICE: where some attempt is a
  success but none is verified, the whole clip once more with the residual 10x dearer);
  `unplanned` (no planned rungs, the assisted one on the
  planned reference included, and no search: the corrector before the
  planned rungs); `smoothed_only`
  (only the smoothed reference, and any verified attempt ends the ladder: the
  corrector before the unsmoothed attempts); `whole` (also `assist = "whole"`: a whole-clip
  assisted attempt after a fall, the corrector before local assistance);
- by the input's feasibility floor (summary.by_feasibility: the root force the raw input
  needs, < 5 %BW, 5-20 %BW, >= 20 %BW), the real clips at strength 1 and the generated ones:
  which figures come from inputs the body could nearly do and which from inputs it cannot;
- cost: CPU seconds per motion-second, and the ratio to stepping the same model for the same
  time with zero control on the same executor (measured before and after, averaged).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import mujoco
import numpy as np

from motionloop.bench import machine
from motionloop.data import corrupt
from motionloop.data.bundled import OBJECT_LABELS, list_bundled
from motionloop.eval import evaluate
from motionloop.io import write_text
from motionloop.motion import Motion
from motionloop.physics import metrics as pm
from motionloop.physics.correct import SPARING_PRICE, CorrectionConfig, correct
from motionloop.physics.executor import make_executor
from motionloop.physics.model import Humanoid
from motionloop.physics.summary import by_feasibility, summarize

STRENGTHS = (0.25, 0.5, 0.75, 1.0)
WALKING = ("walk", "turn")
EASY = ("walk", "turn", "stand", "gesture", "crawl")
# an option and earlier correctors, run beside the default: the changes to CorrectionConfig
ABLATIONS = {
    "unbalanced": {"unbalanced": True},
    "unsearched": {"search": None},
    "sparing": {"sparing": SPARING_PRICE},
    "unplanned": {"planned": False, "search": None},
    "smoothed_only": {"unsmoothed_first": False, "close_mpjpe_mm": 100.0},
    "whole": {"unsmoothed_first": False, "close_mpjpe_mm": 100.0, "assist": "whole"},
}
KEYS = (
    "clips",
    "success_rate",
    "success_free_rate",
    "verified_rate",
    "local_rate",
    "assisted_share",
    "residual_bw",
    "residual_peak_bw",
    "mpjpe_mm",
    "mpjpe_median_mm",
    "mpjpe_over_150_share",
    "trunk_pitch_change_deg",
    "trunk_pitch_bias_deg",
    "feasibility_bw",
    "before_phys_err_mm",
    "after_phys_err_mm",
)
FID_SEEDS = range(5)
FID_N = 128
GENERATED_PER_LABEL = 8
GENERATED_SEED = 7


def zero_control_cost(seconds: float) -> float:
    """CPU seconds to step the humanoid for `seconds` of simulated time with zero control."""
    h = Humanoid()
    d = mujoco.MjData(h.model)
    steps = round(seconds / h.model.opt.timestep)
    t0 = time.process_time()
    for _ in range(steps):
        mujoco.mj_step(h.model, d)
        if d.time > 2.0:  # keep stepping a body that has collapsed, as a fresh one would
            mujoco.mj_resetData(h.model, d)
    return time.process_time() - t0


def floor_cost(durations: list[float], workers: int) -> float:
    """Zero-control CPU seconds for every clip's duration, on the executor the corrections use."""
    return float(sum(make_executor(workers).map(zero_control_cost, durations)))


def corrupted_set(clips: list[Motion], names: list[str]) -> tuple[list[Motion], list[str]]:
    rng = np.random.default_rng(0)
    out, out_names = [], []
    for m, n in zip(clips, names):
        for kind, fn in (
            ("lift10cm", lambda m: corrupt.lift(m, 0.10)),
            ("sink5cm", lambda m: corrupt.lift(m, -0.05)),
            ("jitter", lambda m: corrupt.jitter(m, 0.05, rng)),
            ("slide", lambda m: corrupt.slide(m, 0.3, rng)),
        ):
            out.append(fn(m))
            out_names.append(f"{n}+{kind}")
    return out, out_names


def by_label(reports, labels) -> dict[str, dict]:
    out = {}
    for label in sorted(set(labels)):
        s = summarize([r for r, lab in zip(reports, labels) if lab == label])
        out[label] = {k: s[k] for k in KEYS}
    return out


def pitch_change(raw: list[Motion], corrected: list[Motion]) -> dict:
    """Trunk pitch change (metrics.pitch_change_deg) over every frame of every clip where it is
    defined: mean absolute and signed (positive: the corrected clips lean further forward)."""
    change, bias = pm.pitch_change_stats(np.concatenate([pm.pitch_change_deg(r, c) for r, c in zip(raw, corrected)]))
    return {"trunk_pitch_change_deg": change, "trunk_pitch_bias_deg": bias}


def fidelity(raw: list[Motion], corrected: list[Motion]) -> dict:
    """Paired evaluation of raw and corrected real clips (same window draws per seed)."""
    rows = []
    for seed in FID_SEEDS:
        a = evaluate(raw, "bundled", n=FID_N, seed=seed)
        b = evaluate(corrected, "bundled", n=FID_N, seed=seed)
        rows.append({k: (a[k], b[k]) for k in ("fid", "diversity", "accuracy", "fid_floor")})
    d_fid = [r["fid"][1] - r["fid"][0] for r in rows]
    return {
        "n": FID_N,
        "draw_seeds": list(FID_SEEDS),
        "fid_raw": float(np.mean([r["fid"][0] for r in rows])),
        "fid_corrected": float(np.mean([r["fid"][1] for r in rows])),
        "fid_floor": float(np.mean([r["fid_floor"][0] for r in rows])),
        "fid_change": float(np.mean(d_fid)),
        "fid_change_per_seed": d_fid,
        "fid_change_se": float(np.std(d_fid, ddof=1) / np.sqrt(len(d_fid))),
        "diversity_change": float(np.mean([r["diversity"][1] - r["diversity"][0] for r in rows])),
        "accuracy_raw": float(np.mean([r["accuracy"][0] for r in rows])),
        "accuracy_corrected": float(np.mean([r["accuracy"][1] for r in rows])),
        **pitch_change(raw, corrected),
    }


def generated_set(n_per_label: int, seed: int) -> tuple[list[Motion], list[str]]:
    import torch

    from motionloop.model.checkpoint import load_checkpoint
    from motionloop.model.sample import sample
    from motionloop.resources import BASE_MODEL

    ckpt = load_checkpoint(BASE_MODEL, torch.device("cpu"))
    labels = [lab for lab in ckpt.labels for _ in range(n_per_label)]
    clips = sample(ckpt, len(labels), label=labels, seed=seed)
    return clips, [f"gen_{i:03d}_{lab}" for i, lab in enumerate(labels)]


def line(tag: str, s: dict) -> str:
    return (
        f"{tag}: success {s['success_rate']:.2f} free {s['success_free_rate']:.2f} verified "
        f"{s['verified_rate']:.2f} unsmoothed {s['unsmoothed_rate']:.2f} | local {s['local_rate']:.2f} whole {s['assisted_rate']:.2f} (residual allowed "
        f"{100 * s['assisted_share']:.0f}% of the time) | residual {100 * s['residual_bw']:.1f} %BW | MPJPE mean {s['mpjpe_mm']:.0f} "
        f"median {s['mpjpe_median_mm']:.0f} mm, >150 mm {100 * s['mpjpe_over_150_share']:.0f}%, pelvis-relative mean "
        f"{s['mpjpe_local_mm']:.0f} median {s['mpjpe_local_median_mm']:.0f} mm | phys_err "
        f"{s['before_phys_err_mm']:.1f} -> {s['after_phys_err_mm']:.1f} mm"
    )


def print_feasibility(tag: str, groups: dict[str, dict]) -> None:
    for group, s in groups.items():
        print(line(f"  {tag}, input floor {group} ({s['clips']} clips)", s))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="walking clips only, strength 1, no generated set or FID")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_physics.json"))
    args = ap.parse_args()

    entries = [c for c in list_bundled() if c.label not in OBJECT_LABELS]
    if args.quick:
        entries = [c for c in entries if c.label in WALKING]
    strengths = (1.0,) if args.quick else STRENGTHS
    clips = [Motion.load(c.path) for c in entries]
    names = [c.id for c in entries]
    labels = [c.label for c in entries]
    seconds = float(sum(m.duration for m in clips))
    base = CorrectionConfig(workers=args.workers)
    result: dict = {
        "name": "bench_physics",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "config": {
            "clips": len(clips),
            "motion_seconds": seconds,
            "strengths": list(strengths),
            "workers": args.workers,
            "excluded_labels": sorted(OBJECT_LABELS),
            "correction": dataclasses.asdict(base),
        },
        "machine": machine(),
        "figures": {},
    }
    floor_before = floor_cost([m.duration for m in clips], args.workers)

    frontier, top_out, top_reports = [], None, []
    for s in strengths:
        t0 = time.time()
        out, reports = correct(clips, dataclasses.replace(base, strength=s), names=names)
        summary = summarize(reports)
        row = {
            "strength": s,
            "summary": summary,
            "walking": summarize([r for r, lab in zip(reports, labels) if lab in WALKING]),
            "easy": summarize([r for r, lab in zip(reports, labels) if lab in EASY]),
            "by_label": by_label(reports, labels),
            "by_feasibility": by_feasibility(reports),
            "wall_s": time.time() - t0,
            "cpu_s_per_motion_s": summary["cpu_s"] / seconds,
            "clips": [dict(r.to_dict(), label=lab) for r, lab in zip(reports, labels)],
        }
        frontier.append(row)
        print(line(f"real, strength {s:4.2f}", summary), flush=True)
        if s == 1.0:
            top_out, top_reports = out, reports
    floor_after = floor_cost([m.duration for m in clips], args.workers)
    floor = 0.5 * (floor_before + floor_after) / seconds
    result["figures"]["zero_control_cpu_s_per_motion_s"] = floor
    for row in frontier:
        row["cost_ratio_to_zero_control"] = row["cpu_s_per_motion_s"] / floor
        print(
            f"  strength {row['strength']}: {row['cpu_s_per_motion_s']:.3f} CPU s per motion s "
            f"({row['cost_ratio_to_zero_control']:.1f}x zero-control stepping)"
        )
    result["figures"]["frontier"] = frontier
    top = frontier[-1]
    print(line("  walk/turn/stand/gesture/crawl", top["easy"]))
    for lab, v in top["by_label"].items():
        print(
            f"  {lab:10s} n={v['clips']:2d} success {v['success_rate']:.2f} free {v['success_free_rate']:.2f} "
            f"residual {100 * v['residual_bw']:4.1f} %BW MPJPE {v['mpjpe_mm']:4.0f} mm"
        )
    print_feasibility("real, strength 1", top["by_feasibility"])

    # ablations in the same run: the earlier correctors
    ablations = {name: dataclasses.replace(base, **change) for name, change in ABLATIONS.items()}
    result["figures"]["ablations"] = {}
    for name, cfg in ablations.items():
        out, reports = correct(clips, cfg, names=names)
        summary = summarize(reports)
        entry = {
            "change": ABLATIONS[name],
            "real": summary,
            "real_by_label": by_label(reports, labels),
            "real_cpu_s_per_motion_s": summary["cpu_s"] / seconds,
        }
        if not args.quick:
            entry["real_fidelity"] = fidelity(clips, out)
        result["figures"]["ablations"][name] = entry
        fid = f", FID change {entry['real_fidelity']['fid_change']:+.1f}" if not args.quick else ""
        print(line(f"real, ablation {name}", summary) + fid)

    walk = [(m, n) for m, n, lab in zip(clips, names, labels) if lab in WALKING]
    clean = [r for r, lab in zip(top_reports, labels) if lab in WALKING]
    bad, bad_names = corrupted_set([m for m, _ in walk], [n for _, n in walk])
    _, reports = correct(bad, base, names=bad_names)
    corrupted = {}
    for kind in ("clean", "lift10cm", "sink5cm", "jitter", "slide"):
        rs = clean if kind == "clean" else [r for r in reports if r.clip.endswith("+" + kind)]
        before = float(np.mean([r.before["phys_err_mm"] for r in rs]))
        after = float(np.mean([r.after["phys_err_mm"] for r in rs]))
        corrupted[kind] = {
            "phys_err_before_mm": before,
            "phys_err_after_mm": after,
            "drop": 1.0 - after / max(before, 1e-9),
            "success_rate": float(np.mean([r.success for r in rs])),
            "mpjpe_mm": float(np.mean([r.mpjpe_mm for r in rs])),
        }
        print(
            f"corrupted {kind:9s}: phys_err {before:.1f} -> {after:.1f} mm (drop {100 * corrupted[kind]['drop']:.0f}%), "
            f"success {corrupted[kind]['success_rate']:.2f}"
        )
    result["figures"]["corrupted"] = corrupted

    if not args.quick:
        fid = fidelity(clips, top_out)
        result["figures"]["real_fidelity"] = fid
        print(
            f"real clips, corrected vs raw (n={FID_N}, {len(FID_SEEDS)} draw seeds): FID {fid['fid_raw']:.1f} -> "
            f"{fid['fid_corrected']:.1f} (change {fid['fid_change']:+.1f} +- {fid['fid_change_se']:.1f}, floor "
            f"{fid['fid_floor']:.1f}), diversity {fid['diversity_change']:+.2f}, accuracy {fid['accuracy_raw']:.2f} -> "
            f"{fid['accuracy_corrected']:.2f}, trunk pitch change {fid['trunk_pitch_change_deg']:.1f} deg "
            f"(bias {fid['trunk_pitch_bias_deg']:+.1f})"
        )

        gen, gen_names = generated_set(GENERATED_PER_LABEL, GENERATED_SEED)
        gen_labels = [m.label for m in gen]
        gen_seconds = float(sum(m.duration for m in gen))
        gen_out, reports = correct(gen, base, names=gen_names)
        summary = summarize(reports)
        result["figures"]["generated"] = {
            **pitch_change(gen, gen_out),
            "clips": len(gen),
            "per_label": GENERATED_PER_LABEL,
            "seed": GENERATED_SEED,
            "sampler": "ddim:50",
            "summary": summary,
            "by_label": by_label(reports, gen_labels),
            "by_feasibility": by_feasibility(reports),
            "cpu_s_per_motion_s": summary["cpu_s"] / gen_seconds,
            "cost_ratio_to_zero_control": summary["cpu_s"] / gen_seconds / floor,
            "clips_reports": [dict(r.to_dict(), label=lab) for r, lab in zip(reports, gen_labels)],
        }
        print(
            line("generated", summary)
            + f", trunk pitch change {result['figures']['generated']['trunk_pitch_change_deg']:.1f}"
            f" deg (bias {result['figures']['generated']['trunk_pitch_bias_deg']:+.1f})"
        )
        for name, cfg in ablations.items():
            _, reports = correct(gen, cfg, names=gen_names)
            summary = summarize(reports)
            entry = result["figures"]["ablations"][name]
            entry["generated"] = summary
            entry["generated_by_label"] = by_label(reports, gen_labels)
            entry["generated_cpu_s_per_motion_s"] = summary["cpu_s"] / gen_seconds
            print(line(f"generated, ablation {name}", summary))
        for lab, v in result["figures"]["generated"]["by_label"].items():
            print(
                f"  {lab:10s} success {v['success_rate']:.2f} free {v['success_free_rate']:.2f} residual "
                f"{100 * v['residual_bw']:4.1f} %BW MPJPE {v['mpjpe_mm']:4.0f} mm phys_err "
                f"{v['before_phys_err_mm']:.1f} -> {v['after_phys_err_mm']:.1f} trunk pitch change "
                f"{v['trunk_pitch_change_deg']:.1f} deg (bias {v['trunk_pitch_bias_deg']:+.1f})"
            )
        print_feasibility("generated", result["figures"]["generated"]["by_feasibility"])
    write_text(args.out, json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
