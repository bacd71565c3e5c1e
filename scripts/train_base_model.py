"""Train the shipped base model: `cpu-small` on the bundled dataset -> assets/models/base_cpu_small.pt.

    OMP_WAIT_POLICY=PASSIVE python scripts/train_base_model.py [--steps N] [--batch B] [--seed S] [--resume]

Clips of object interaction (`bundled.OBJECT_LABELS`) are left out: the physics correction
of the loop works on a flat floor. Writes the checkpoint and, beside it, base_cpu_small.json:
the settings, the wall time, the final loss (mean of the last 100 steps), the loss history
and the machine. The numbers of the shipped file are in that JSON; on the 2-core
development machine the default run was sized to take 20-30 minutes. `--resume` continues
an interrupted run from the checkpoint.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must precede torch's OpenMP start-up

import argparse
import dataclasses
import json
import logging
import platform
import sys
from pathlib import Path

import torch

from motionloop.data.bundled import OBJECT_LABELS, load_bundled
from motionloop.io import write_text
from motionloop.model.config import TrainConfig
from motionloop.model.train import train

OUT = Path(__file__).resolve().parent.parent / "assets" / "models" / "base_cpu_small.pt"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=8000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(os.cpu_count() or 1)

    # object interaction (climbing, hanging) cannot be tracked on the flat floor the loop corrects on
    clips = load_bundled(exclude_labels=OBJECT_LABELS)
    # the bundled clips are short (many 2-4 s): overlapping windows every 2 frames use them all
    config = dataclasses.replace(TrainConfig(), batch_size=args.batch, stride=2)
    result = train(clips, args.out, args.steps, model="cpu-small", config=config, seed=args.seed, resume=args.resume)
    ckpt = result.checkpoint
    record = {
        "checkpoint": args.out.name,
        "command": "OMP_WAIT_POLICY=PASSIVE python scripts/train_base_model.py " + " ".join(sys.argv[1:]),
        "preset": "cpu-small",
        "parameters": ckpt.model.num_parameters(),
        "steps": ckpt.step,
        "seed": args.seed,
        "train_config": ckpt.config.to_dict(),
        "clips": len(clips),
        "excluded_labels": sorted(OBJECT_LABELS),
        "minutes_of_data": round(sum(m.duration for m in clips) / 60, 2),
        "labels": dict(zip(ckpt.labels, ckpt.label_counts)),
        "wall_seconds_this_run": round(result.seconds, 1),
        "steps_this_run": result.steps,
        "final_loss": round(result.final_loss, 5),
        "loss_history": [[s, round(v, 5)] for s, v in ckpt.history],
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch": str(torch.__version__),
            "torch_threads": torch.get_num_threads(),
            "loadavg_end": os.getloadavg(),
        },
        "checkpoint_bytes": args.out.stat().st_size,
    }
    write_text(args.out.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "loss_history"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
