"""Pictures of the corrector's worst clips, before and after, from the last bench_physics run.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/physics_pictures.py

Reads benchmarks/results/bench_physics.json, takes the real clip and the generated clip that
ended farthest from their input (MPJPE) and the worst generated walk, corrects each again
with the same settings (correction is deterministic; the MPJPE is checked against the
report), and writes a contact sheet of the input beside the corrected clip (the `render
--compare` picture) to benchmarks/results/physics_worst_<clip>.png, plus
physics_pictures.json (name, config, machine, figures: which clips, their reports).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench_physics import GENERATED_PER_LABEL, GENERATED_SEED, generated_set

from motionloop.bench import machine
from motionloop.data.bundled import list_bundled
from motionloop.io import write_text
from motionloop.motion import Motion
from motionloop.physics.correct import CorrectionConfig, correct
from motionloop.viz.render import RenderConfig, render

RESULTS = Path(__file__).parent / "results"


def worst(reports: list[dict], label: str | None = None) -> dict:
    ran = [r for r in reports if r["error"] is None and (label is None or r["label"] == label)]
    return max(ran, key=lambda r: r["mpjpe_mm"])


def main() -> None:
    bench = json.loads((RESULTS / "bench_physics.json").read_text())
    real = bench["figures"]["frontier"][-1]["clips"]  # strength 1
    gen = bench["figures"]["generated"]["clips_reports"]
    picks = [("real", worst(real)), ("generated", worst(gen)), ("generated", worst(gen, "walk"))]
    clips = {c.id: c for c in list_bundled()}
    samples, sample_names = generated_set(GENERATED_PER_LABEL, GENERATED_SEED)  # the bench's own set
    gen_clips = dict(zip(sample_names, samples))
    cfg = CorrectionConfig()
    figures = []
    for kind, rep in picks:
        clip = Motion.load(clips[rep["clip"]].path) if kind == "real" else gen_clips[rep["clip"]]
        (fixed,), (again,) = correct([clip], cfg, names=[rep["clip"]])
        out = RESULTS / f"physics_worst_{rep['clip']}.png"
        titles = [f"{rep['clip']} input", f"corrected ({again.attempt}, MPJPE {again.mpjpe_mm:.0f} mm)"]
        render([clip, fixed], out, titles=titles, config=RenderConfig(size=(400, 300)))
        same = abs(again.mpjpe_mm - rep["mpjpe_mm"]) < 1e-6
        print(
            f"{kind:9s} {rep['clip']:28s} {rep['label']:9s} attempt {again.attempt:8s} MPJPE {again.mpjpe_mm:6.1f} mm "
            f"(bench {rep['mpjpe_mm']:.1f}{'' if same else ', DIFFERS'}) residual {100 * again.residual_bw:4.1f} %BW "
            f"-> {out.name}"
        )
        figures.append({"kind": kind, "picture": out.name, "bench_report": rep, "again": again.to_dict(), "same": same})
    write_text(
        RESULTS / "physics_pictures.json",
        json.dumps(
            {
                "name": "physics_pictures",
                "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                "config": {"source": "bench_physics.json", "strength": cfg.strength, "assist": cfg.assist},
                "machine": machine(),
                "figures": figures,
            },
            indent=1,
        ),
    )


if __name__ == "__main__":
    main()
