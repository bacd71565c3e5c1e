"""One rank of a distributed test run (tests/model/test_distributed.py launches it with torchrun).

    python -m torch.distributed.run --nproc-per-node 2 tests/model/ddp_worker.py SPEC.json

SPEC: {"runs": [{"out": path, "steps": n, "resume": bool, "finetune": path}, ...], "batch_size": B,
"seed": s, "report": directory}. Each run is a `train` of the tiny model on the toy clips
(conftest), or with "finetune" a `fine_tune` of that checkpoint on them, with a loss-history
entry every step. Each rank writes REPORT/rank{RANK}.json: its rank and
world size, the checkpoint writes it made, and per run the history and a digest of the weights.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import TINY_CONFIG, TINY_MODEL, toy_clip


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    train_module = importlib.import_module("motionloop.model.train")
    train_module.LOG_EVERY = 1
    saves: list[list] = []
    save = train_module.save_checkpoint

    def recording_save(ckpt, path):
        saves.append([str(path), ckpt.step])
        return save(ckpt, path)

    train_module.save_checkpoint = recording_save
    clips = [toy_clip(label, seed) for label in ("walk", "wave") for seed in range(3)]
    config = dataclasses.replace(TINY_CONFIG, batch_size=spec["batch_size"])
    runs = []
    for run in spec["runs"]:
        if "finetune" in run:
            res = train_module.fine_tune(
                run["finetune"], clips, run["steps"], run["out"], seed=spec["seed"], progress=False
            )
        else:
            res = train_module.train(
                clips,
                run["out"],
                run["steps"],
                model=TINY_MODEL,
                config=config,
                seed=spec["seed"],
                resume=run.get("resume", False),
                progress=False,
            )
        h = hashlib.sha256()
        for k, v in sorted(res.checkpoint.model.state_dict().items()):
            h.update(k.encode() + v.detach().cpu().numpy().tobytes())
        runs.append({"history": res.checkpoint.history, "weights": h.hexdigest(), "steps": res.steps})
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    report = {"rank": rank, "world": world, "saves": saves, "runs": runs}
    Path(spec["report"], f"rank{rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
