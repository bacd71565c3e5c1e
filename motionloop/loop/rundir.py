"""The run directory: layout, the metrics file, and what a resume may continue.

```
RUN/
  config.toml                  the resolved configuration
  metrics.jsonl                one object per (arm, lambda, seed, generation)
  base/seed_S/                 generation 0's model (fit on real data only; shared by all arms),
                               metrics.json (its evaluation), probe clips
  ARM_lamL/seed_S/gen_KKK/     checkpoint.pt (model.npz for toy tasks), samples/ (drawn from
                               this generation's model for the next), corrected/, reports.jsonl
  curves.png, report.html
```
A (arm, lambda, seed) generation is complete when its metrics line exists; everything of a
later generation on disk is partial and is redone. The line is appended last, with one write.
One process owns a run directory at a time: `locked` holds an exclusive lock on `RUN/.lock`
for the whole run, and a second `motionloop loop` on the same directory is refused. The Ray
tasks of a run write into it while their driver holds the lock, and stop when `held` says
nobody does (the driver was killed).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from motionloop.errors import ConfigError, MotionloopError
from motionloop.io import read_jsonl, write_text
from motionloop.loop.config import LoopConfig
from motionloop.loop.configio import diff, load_config, to_toml

CONFIG = "config.toml"
METRICS = "metrics.jsonl"
CURVES = "curves.png"
REPORT = "report.html"
REPORTS = "reports.jsonl"  # correction reports of a generation
LOCK = ".lock"
PROBE_TRIES = 5  # attempts of `locked` 50 ms apart, so that a `held` probe is never taken for a run
# settings a resume may change: they extend the run or change only its speed
RESUME_FREE = ("generations", "motion.workers")


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold the run directory `root` (created if missing) for this process, or refuse.

    The lock is the kernel's (flock on `root/.lock`): it goes with the process, so a killed
    run leaves nothing stale behind. Raises MotionloopError naming the holder's pid."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        for attempt in range(PROBE_TRIES):  # a task's `held` probe holds it for a moment
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt + 1 < PROBE_TRIES:
                    time.sleep(0.05)
        else:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise MotionloopError(
                f"{root}: in use by another motionloop process (pid {holder}); wait for it to "
                "finish or stop it before resuming"
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def held(root: Path) -> bool:
    """Whether a process holds `root`'s lock (a Ray task asks: is my run's driver alive?).

    Probes with a shared lock that it drops at once; True when it cannot tell."""
    try:
        fd = os.open(root / LOCK, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:  # held (BlockingIOError), or no locks here
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def unit_dir(root: Path, arm: str, lam: float, seed: int) -> Path:
    return root / f"{arm}_lam{lam:g}" / f"seed_{seed}"


def gen_dir(unit: Path, generation: int) -> Path:
    return unit / f"gen_{generation:03d}"


def base_dir(root: Path, seed: int) -> Path:
    return root / "base" / f"seed_{seed}"


def unit_key(arm: str, lam: float, seed: int) -> tuple[str, float, int]:
    return (arm, float(lam), int(seed))


def _cut_torn_line(path: Path) -> None:
    """Drop a partial last line (a crash inside a write) so that later appends stay whole lines."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data[: data.rfind(b"\n") + 1]
        with open(path, "r+b") as f:
            f.truncate(len(keep))
            f.flush()
            os.fsync(f.fileno())


def prepare(root: Path, config: LoopConfig, resume: bool) -> list[dict]:
    """Create or reopen the run at `root`; return its complete metrics records.

    A new run refuses a directory that already holds one; a resume refuses a config that
    differs from the stored one in anything but RESUME_FREE (the message lists the keys).
    """
    cfg_path, metrics = root / CONFIG, root / METRICS
    if not resume:
        if cfg_path.exists():
            raise MotionloopError(
                f"{root}: already holds a run ({CONFIG}); pass --resume to continue it, or choose another --out"
            )
        root.mkdir(parents=True, exist_ok=True)
        write_text(cfg_path, to_toml(config))
        metrics.touch()
        return []
    if not cfg_path.exists():
        raise MotionloopError(f"{root}: nothing to resume (no {CONFIG}); start the run without --resume")
    try:
        stored = load_config(cfg_path)
    except ConfigError as e:
        raise MotionloopError(f"{root}: cannot resume: the stored config is invalid ({e})") from None
    changes = [c for c in diff(stored, config) if c.split(":")[0] not in RESUME_FREE]
    if changes:
        raise ConfigError(
            f"{root}: cannot resume with a different config ({'; '.join(changes)}); "
            "use the run's own config.toml, or start a new run in another directory"
        )
    write_text(cfg_path, to_toml(config))
    if not metrics.exists():
        metrics.touch()
    _cut_torn_line(metrics)
    return read_jsonl(metrics)


def completed(records: list[dict]) -> dict[tuple[str, float, int], int]:
    """The last complete generation of every (arm, lambda, seed) that has one."""
    out: dict[tuple[str, float, int], int] = {}
    for r in records:
        key = unit_key(r["arm"], r["lambda"], r["seed"])
        out[key] = max(out.get(key, -1), int(r["generation"]))
    return out
