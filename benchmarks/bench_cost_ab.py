"""Correction cost of two checkouts, paired clip by clip: is one of them really cheaper?

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_cost_ab.py --base REV [--new DIR] [--rounds 2] [--clips N]
        [--new-set FIELD=VALUE ...]

These machines' speed drifts by tens of percent within minutes, so two bench_physics runs
cannot show a 10 % change in cost. This benchmark starts one worker process per checkout,
each importing motionloop from its own tree, and sends both the same clip in turn,
alternating which goes first, so that drift hits both alike. It sums each side's `cpu_s`
(the correction's CPU seconds: repair and every tracking attempt, as bench_physics counts
cost) over the 47 bundled real clips without objects, `--rounds` times, and reports CPU
seconds per motion-second for each and their ratio (new / base), with whether each clip's
output is bit for bit the same (a digest of its poses and translation, and the attempt it
came from).

`--base` is a git revision of this repository (checked out to a temporary worktree) or a
directory holding a checkout; `--new` defaults to this checkout. `--new-set FIELD=VALUE`
(repeatable; VALUE in JSON, e.g. `unbalanced=true`, or `repair.step_feet=true` for a field
of a nested config) changes a CorrectionConfig field on the new side only: with `--base
HEAD` it prices an option against the default. Single-threaded workers (OMP_NUM_THREADS=1),
one correction at a time (bench_quality_ab drives the same workers side by side, over
perturbed draws, for the figures rather than the cost). Writes
benchmarks/results/bench_cost_ab.json (`--out` elsewhere).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# m/s or rad/s per velocity component: the start-state noise of bench_free_rungs and of
# bench_quality_ab's perturbed draws (StartPerturbation)
START_NOISE = 0.02
# what a worker reports of each correction (TrackingReport fields; None where a checkout lacks one)
REPORT_FIELDS = ("cpu_s", "attempt", "success", "success_free", "verified", "mpjpe_mm", "residual_bw", "resets")


class StartPerturbation:
    """Wraps `set_state` where tracker.py and search.py call it (so it needs a checkout that
    has it): every tracking attempt of this process then starts with its velocity plus N(0,
    START_NOISE) per component, seeded by the clip `name` and the `draw` set on this object
    (the same noise for every attempt on the clip); draw 0: unperturbed."""

    def __init__(self) -> None:
        from motionloop.physics import search, tracker

        self.name, self.draw = "", 0
        self._plain = tracker.set_state
        tracker.set_state = search.set_state = self.set_state

    def set_state(self, h, d, ref, k, soles) -> None:
        import zlib

        import mujoco
        import numpy as np

        self._plain(h, d, ref, k, soles)
        if k == 0 and self.draw:
            rng = np.random.default_rng([zlib.crc32(self.name.encode()), self.draw])
            d.qvel[:] += rng.normal(0.0, START_NOISE, len(d.qvel))
            mujoco.mj_forward(h.model, d)


def worker(tree: str, changes: dict) -> None:
    """Serve jobs from stdin, one JSON object per line (`name`, `path` of a clip file, `draw`):
    correct each with the default config (and `changes`), the start state perturbed by `draw`
    (StartPerturbation), and print a JSON object: REPORT_FIELDS, `phys_err_mm` after, and
    `digest` (of the output's poses and translation, and the attempt it came from)."""
    sys.path.insert(0, tree)
    import motionloop

    if not Path(motionloop.__file__).resolve().is_relative_to(Path(tree).resolve()):
        raise SystemExit(f"worker for {tree} imported motionloop from {motionloop.__file__}")
    from motionloop.motion import Motion
    from motionloop.physics.correct import CorrectionConfig, correct_one

    cfg = with_changes(CorrectionConfig(workers=1), changes)
    starts = StartPerturbation()
    print("ready", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        starts.name, starts.draw = job["name"], int(job.get("draw", 0))
        out, report = correct_one((job["name"], Motion.load(job["path"]), cfg))
        digest = hashlib.sha1(out.poses.tobytes() + out.trans.tobytes()).hexdigest()[:16]
        reply = {f: getattr(report, f, None) for f in REPORT_FIELDS}
        reply["phys_err_mm"] = report.after.get("phys_err_mm") if report.after else None
        reply["digest"] = f"{digest} {report.attempt}"
        print(json.dumps(reply), flush=True)


def with_changes(cfg, changes: dict):
    """The dataclass `cfg` with `changes` applied: a key `FIELD` sets a field of it, a key
    `FIELD.SUB` (any depth) a field of the dataclass in its field `FIELD`."""
    flat, nested = {}, {}
    for key, value in changes.items():
        head, dot, rest = key.partition(".")
        if dot:
            nested.setdefault(head, {})[rest] = value
        else:
            flat[head] = value
    for head, sub in nested.items():
        flat[head] = with_changes(flat.get(head, getattr(cfg, head)), sub)
    return dataclasses.replace(cfg, **flat)


def start(tree: str, changes: dict) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker", tree, "--worker-set", json.dumps(changes)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),  # not a directory that holds another motionloop
    )
    if p.stdout.readline().strip() != "ready":
        raise SystemExit(f"the worker for {tree} did not start")
    return p


def send(p: subprocess.Popen, name: str, path: str, draw: int = 0) -> None:
    p.stdin.write(json.dumps({"name": name, "path": str(path), "draw": draw}) + "\n")
    p.stdin.flush()


def receive(p: subprocess.Popen, name: str) -> dict:
    line = p.stdout.readline()
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        raise SystemExit(f"a worker failed on {name}") from None


def ask(p: subprocess.Popen, name: str, path: str, draw: int = 0) -> dict:
    send(p, name, path, draw)
    return receive(p, name)


def checkout(rev_or_dir: str, tmp: str) -> str:
    """A directory holding `rev_or_dir`: the directory itself, or a worktree of the revision."""
    if Path(rev_or_dir).is_dir():
        return str(Path(rev_or_dir).resolve())
    path = str(Path(tmp) / "base")
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", path, rev_or_dir], check=True)
    return path


@contextlib.contextmanager
def side_by_side(base: str, new: str, changes: dict, tmp: str):
    """Worker processes `[base, new]` for the checkout `base` (a revision, checked out to a
    worktree in `tmp`, or a directory) and the checkout directory `new` (with CorrectionConfig
    `changes`); closes them after, and removes the worktree."""
    trees = [checkout(base, tmp), str(Path(new).resolve())]
    try:
        procs = [start(t, c) for t, c in zip(trees, ({}, changes))]
        yield procs
        for p in procs:
            p.stdin.close()
            p.wait()
    finally:
        if not Path(base).is_dir():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", trees[0]], check=False)


def parse_changes(ap: argparse.ArgumentParser, items: list[str]) -> dict:
    """CorrectionConfig changes from `--new-set FIELD=VALUE` items (VALUE in JSON)."""
    changes = {}
    for item in items:
        field, sep, value = item.partition("=")
        try:
            changes[field] = json.loads(value)
        except json.JSONDecodeError:
            sep = ""
        if not sep or not field:
            ap.error(f'--new-set {item!r}: expected FIELD=VALUE with VALUE in JSON (true, 0.5, "text")')
    return changes


def revision(tree: str, rev: str = "HEAD") -> str:
    """The short hash of `rev` in the git checkout `tree`."""
    return subprocess.run(
        ["git", "-C", tree, "rev-parse", "--short", rev], capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", help="git revision or checkout directory to compare against")
    ap.add_argument("--new", default=str(ROOT), help="checkout directory (default: this one)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clips", type=int, default=0, help="only the first N clips (a smoke run; 0: all)")
    ap.add_argument(
        "--new-set", action="append", default=[], metavar="FIELD=VALUE", help="CorrectionConfig change, new side"
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-set", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_cost_ab.json"))
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, json.loads(args.worker_set))
        return
    if not args.base:
        ap.error("--base is required")
    changes = parse_changes(ap, args.new_set)

    from motionloop.bench import write_result
    from motionloop.data.bundled import OBJECT_LABELS, list_bundled
    from motionloop.motion import Motion

    entries = [c for c in list_bundled() if c.label not in OBJECT_LABELS]
    entries = entries[: args.clips] if args.clips > 0 else entries
    seconds = sum(Motion.load(c.path).duration for c in entries)
    with tempfile.TemporaryDirectory() as tmp:
        base_rev, new_rev = revision(str(ROOT), args.base), revision(args.new)
        with side_by_side(args.base, args.new, changes, tmp) as procs:
            cpu, same = [0.0, 0.0], 0
            for r in range(args.rounds):
                for i, c in enumerate(entries):
                    replies = {}
                    for side in (0, 1) if (i + r) % 2 == 0 else (1, 0):
                        replies[side] = ask(procs[side], c.id, c.path)
                    for side in (0, 1):
                        cpu[side] += replies[side]["cpu_s"]
                    same += replies[0]["digest"] == replies[1]["digest"]
                print(f"round {r + 1}: base {cpu[0]:.1f} s, new {cpu[1]:.1f} s (so far)", flush=True)
    total = seconds * args.rounds
    write_result(
        args.out,
        "bench_cost_ab",
        {
            "base": args.base,
            "base_rev": base_rev,
            "new": args.new,
            "new_head": new_rev,  # the checkout's HEAD; its working tree may hold more
            "new_set": changes,  # CorrectionConfig changes on the new side
            "rounds": args.rounds,
            "clips": len(entries),
        },
        {
            "motion_seconds": seconds,
            "base_cpu_s_per_motion_s": cpu[0] / total,
            "new_cpu_s_per_motion_s": cpu[1] / total,
            "ratio_new_to_base": cpu[1] / cpu[0],
            "identical_outputs": same,
            "corrections_per_side": len(entries) * args.rounds,
        },
    )


if __name__ == "__main__":
    main()
