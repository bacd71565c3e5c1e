"""Which clips does each residual-free controller carry to the end, and how robust is the count?

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_free_rungs.py [--workers 2] [--draws 3] [--quick]

`success_free` counts a clip when any residual-free rung of `correct`'s ladder reaches its end
without a fall: the default controller on the unsmoothed and on the smoothed reference, and,
where both fall, the firm controller (CorrectionConfig.firm) on its own reference, whose
pelvis is lowered where planted feet are out of reach; where that falls too, the default
controller on the reference whose CoM follows the whole-clip centroidal plan, unsmoothed and
smoothed (CorrectionConfig.planned); where those fall too, the residual-free search
(CorrectionConfig.search, physics/search.py) with the default controller on the smoothed
reference; with the option CorrectionConfig.unbalanced, also the default controller on the
unsmoothed reference repaired without the balance shift. This benchmark tracks every clip
with each of the six controller rungs alone (no assistance, no early stop), and with the
search where none of the five default ones reached the end and the smoothed free rung with
local assistance fell at most `SearchConfig.max_falls` times (as the ladder tries it; so
`searched` alone is not a count of its own), and counts, per rung and for the unions (the
two free rungs; with the firm rung; with the planned rungs; with the search, the default
ladder's; with the unbalanced rung as well), the clips that reached the end (no reset),
overall and on walk/turn/stand/gesture/crawl.

A single run is deterministic, and one changed gain or repair moves a few clips either way:
a count of 27 against 29 may be luck. So each count is also taken with the start state
perturbed (`--draws` draws: every start velocity component plus N(0, 0.02) m/s or rad/s,
seeded per clip and draw), which says whether a difference outlives such noise. Clips: the
47 bundled real clips without objects and bench_physics's generated set (8 per label of the
shipped model, DDIM-50, seed 7; `--quick`: real clips only, one draw). Writes
benchmarks/results/bench_free_rungs.json (name, config, machine, figures).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import zlib
from pathlib import Path

import numpy as np
from bench_cost_ab import START_NOISE
from bench_physics import GENERATED_PER_LABEL, GENERATED_SEED, generated_set

from motionloop.bench import write_result
from motionloop.data.bundled import OBJECT_LABELS, list_bundled
from motionloop.errors import MotionloopError
from motionloop.motion import Motion
from motionloop.physics.correct import CorrectionConfig, track_free
from motionloop.physics.executor import make_executor
from motionloop.physics.model import Humanoid
from motionloop.physics.plan import centroidal_repair
from motionloop.physics.reference import build_reference
from motionloop.physics.repair import repair
from motionloop.physics.search import search_track
from motionloop.physics.tracker import control_rate, track

EASY = ("walk", "turn", "stand", "gesture", "crawl")
RUNGS = ("free_unsmoothed", "free_smoothed", "firm", "planned_unsmoothed", "planned_smoothed", "unbalanced", "searched")
DEFAULT = RUNGS[:5]  # the default ladder's rungs before the search


def perturb_start(ref, start: np.ndarray, name: str, draw: int) -> None:
    """Set `ref`'s start velocity to `start`, plus N(0, START_NOISE) per component seeded by
    the clip and the draw (draw -1: unperturbed)."""
    ref.qvel[0] = start
    if draw >= 0:
        rng = np.random.default_rng([draw, zlib.crc32(name.encode())])
        ref.qvel[0] = start + rng.normal(0.0, START_NOISE, len(start))


def reaches_end(job: tuple[str, Motion, list[int]]) -> list[list[bool]]:
    """Whether each rung's residual-free controller (RUNGS order) tracks the clip to its end
    (no reset), for each draw: -1 is the unperturbed start, else the seed of the
    start-velocity noise. The two free rungs share their repaired reference, the two planned
    ones theirs; a clip with no plan reaches nothing on those. The search (last) is run only
    in the draws where none of the DEFAULT rungs reached the end (else False)."""
    name, motion, draws = job
    cfg = CorrectionConfig()
    h = Humanoid()
    try:
        fixed = repair(motion, cfg.repair_for_strength(), h)
        firm_fixed = repair(motion, cfg.firm_repair(), h)
        unbalanced = repair(motion, cfg.unbalanced_repair(), h)
    except Exception:  # a clip the corrector rejects (absurd placement) reaches nothing
        return [[False] * len(draws) for _ in RUNGS]
    try:
        planned = centroidal_repair(h, fixed)[0]
    except MotionloopError:
        planned = None
    rungs = [
        (fixed, cfg.free_tracker(0.0)),
        (fixed, cfg.free_tracker()),
        (firm_fixed, cfg.firm_tracker()),
        (planned, cfg.free_tracker(0.0)),
        (planned, cfg.free_tracker()),
        (unbalanced, cfg.free_tracker(0.0)),
    ]
    out = []
    for clip, ctl in rungs:
        if clip is None:
            out.append([False] * len(draws))
            continue
        ref = build_reference(h, clip, control_rate(h, ctl), ctl.smooth_s)
        start = ref.qvel[0].copy()
        flags = []
        for draw in draws:
            perturb_start(ref, start, name, draw)
            flags.append(track(h, clip, ctl, reference=ref, stop_at_fall=True).resets == 0)
        out.append(flags)
    # the search, where every default rung fell: on the smoothed free rung's reference, and
    # (as the ladder decides) only where that rung with local assistance fell at most
    # SearchConfig.max_falls times
    ctl = cfg.free_tracker()
    ref = build_reference(h, fixed, control_rate(h, ctl), ctl.smooth_s)
    start = ref.qvel[0].copy()
    flags = []
    for i, draw in enumerate(draws):
        if any(out[RUNGS.index(r)][i] for r in DEFAULT):
            flags.append(False)
            continue
        perturb_start(ref, start, name, draw)
        if cfg.search.max_falls is not None:
            free = track_free(h, fixed, cfg, None, reference=ref)
            if cfg.search.fell_too_often(len(free.fell)):
                flags.append(False)
                continue
        flags.append(search_track(h, fixed, ctl, cfg.search, reference=ref).stopped_at < 0)
    out.append(flags)
    return out


def counts(names: list[str], labels: list[str], ok: dict[str, np.ndarray]) -> dict:
    """Per rung and union: clips that reached the end, overall and on the easy labels."""
    easy = np.isin(labels, EASY)
    sets = dict(ok)
    sets["free_rungs"] = ok["free_unsmoothed"] | ok["free_smoothed"]
    sets["with_firm"] = sets["free_rungs"] | ok["firm"]
    sets["with_planned"] = sets["with_firm"] | ok["planned_unsmoothed"] | ok["planned_smoothed"]
    sets["with_searched"] = sets["with_planned"] | ok["searched"]
    sets["with_unbalanced"] = sets["with_searched"] | ok["unbalanced"]
    out = {k: {"all": int(v.sum()), "easy": int(v[easy].sum())} for k, v in sets.items()}
    order = ("free_rungs", "with_firm", "with_planned", "with_searched", "with_unbalanced")
    for before, after in itertools.pairwise(order):
        gained = [n for n, a, b in zip(names, sets[before], sets[after]) if b and not a]
        out["gained_by_" + after.removeprefix("with_")] = sorted(gained)
    return out


def measure(clips: list[Motion], names: list[str], labels: list[str], draws: list[int], workers: int) -> dict:
    jobs = [(n, m, draws) for n, m in zip(names, clips)]
    flags = np.array(list(make_executor(workers).map(reaches_end, jobs)))  # (clips, rungs, draws)
    flags = flags.transpose(2, 1, 0)  # (draws, rungs, clips)
    per_draw = {}
    for d, f in zip(draws, flags):
        per_draw["unperturbed" if d < 0 else f"draw_{d}"] = counts(names, labels, dict(zip(RUNGS, f)))
    return {"clips": len(clips), "easy_clips": int(np.isin(labels, EASY).sum()), "per_draw": per_draw}


def line(tag: str, f: dict) -> str:
    parts = []
    for draw, c in f["per_draw"].items():
        parts.append(
            f"{draw}: free rungs {c['free_rungs']['all']} (easy {c['free_rungs']['easy']}), with firm "
            f"{c['with_firm']['all']} (easy {c['with_firm']['easy']}), with planned "
            f"{c['with_planned']['all']} (easy {c['with_planned']['easy']}), with the search "
            f"{c['with_searched']['all']} (easy {c['with_searched']['easy']}), with unbalanced "
            f"{c['with_unbalanced']['all']} (easy {c['with_unbalanced']['easy']}); rungs alone "
            + " / ".join(str(c[r]["all"]) for r in RUNGS)
        )
    return f"{tag} ({f['clips']} clips, {f['easy_clips']} easy): " + "; ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--draws", type=int, default=3, help="perturbed draws besides the unperturbed run")
    ap.add_argument("--quick", action="store_true", help="real clips only, one perturbed draw")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_free_rungs.json"))
    args = ap.parse_args()
    draws = [-1, *range(1, (1 if args.quick else args.draws) + 1)]
    entries = [c for c in list_bundled() if c.label not in OBJECT_LABELS]
    real = [Motion.load(c.path) for c in entries]
    figures = {"real": measure(real, [c.id for c in entries], [c.label for c in entries], draws, args.workers)}
    print(line("real", figures["real"]), flush=True)
    if not args.quick:
        clips, names = generated_set(GENERATED_PER_LABEL, GENERATED_SEED)
        figures["generated"] = measure(clips, names, [c.label for c in clips], draws, args.workers)
        print(line("generated", figures["generated"]), flush=True)
    cfg = CorrectionConfig()
    config = {
        "rungs": list(RUNGS),
        "firm_pelvis_drop_m": cfg.firm_pelvis_drop_m,
        "firm_w_com": cfg.firm.w_com,
        "free_w_com": cfg.free.w_com,
        "search": dataclasses.asdict(cfg.search),
        "start_noise": START_NOISE,
        "draws": draws,
        "workers": args.workers,
        "real_clips": len(entries),
        "generated": None if args.quick else {"per_label": GENERATED_PER_LABEL, "seed": GENERATED_SEED},
    }
    write_result(args.out, "bench_free_rungs", config, figures)


if __name__ == "__main__":
    main()
