"""`run_loop`: the self-consuming loop over generations, arms, lambdas and seeds.

Per (arm, lambda, seed) "unit" and generation g >= 1, with m = round(lambda * n):
    train_g = workflow(real, S_1 .. S_g)              workflows.py
    M_g     = fit(train_g, M_{g-1} or scratch)        task.fit
    metrics = evaluate(M_g)                           task.evaluate
    S_{g+1} = correct(sample(M_g, m))                 (also after the last generation)
Generation 0 (M_0 fit on the real data, and its evaluation) is shared by every arm of a seed
and computed once (rundir.base_dir). Generations run in order and every unit finishes a
generation before any starts the next, so a killed run stops with all curves at about the
same length. Random draws come from (seed, generation, stage) only (task.derive_seed): a
resumed run repeats exactly what an uninterrupted one does.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from motionloop.errors import MotionloopError
from motionloop.io import append_jsonl, write_text
from motionloop.loop import rundir
from motionloop.loop.config import ArmConfig, LoopConfig
from motionloop.loop.configio import apply_override, from_dict, load_config, to_dict
from motionloop.loop.task import CorrectionContext, Stopwatch, Task, derive_seed, rng_for
from motionloop.loop.workflows import needed_sets, training_set

log = logging.getLogger(__name__)

BASE_METRICS = "metrics.json"
TIMED = ("fit", "sample", "correct", "evaluate")
REDRAW_S = 30.0  # curves.png is redrawn after a generation at most this often (and at the end)


def make_task(config: LoopConfig) -> Task:
    """The task object of `config.task` (the motion task loads data, evaluator and model here)."""
    if config.task == "gaussian":
        from motionloop.loop.toy import GaussianTask

        return GaussianTask(config)
    if config.task == "kde":
        from motionloop.loop.toy import KDETask

        return KDETask(config)
    from motionloop.loop.motion_task import MotionTask

    return MotionTask(config)


def resolve_config(config_or_name: LoopConfig | str | Path, overrides: list[str] | tuple[str, ...] = ()) -> LoopConfig:
    """A LoopConfig from a config, a preset name or a TOML file, with `key=value` overrides."""
    if isinstance(config_or_name, LoopConfig):
        if not overrides:
            return config_or_name
        raw = to_dict(config_or_name)
        for item in overrides:
            apply_override(raw, item)
        return from_dict(raw, "config")
    return load_config(config_or_name, list(overrides))


def _clean(value):
    """JSON-safe: non-finite floats become None (plots and tables skip them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class _Unit:
    arm: ArmConfig
    lam: float
    seed: int
    model: Any = None
    synthetic: list[Any] = field(default_factory=list)  # S_1 .. S_g, as far as the workflow needs
    loaded_through: int = -1  # generation whose model and sets are in memory


class _Run:
    def __init__(self, config: LoopConfig, root: Path, task: Task):
        self.config, self.root, self.task = config, root, task
        self.real: dict[int, Any] = {}
        self.base: dict[int, tuple[Any, dict]] = {}

    # ---------------------------------------------------------------- generation 0
    def real_data(self, seed: int) -> Any:
        if seed not in self.real:
            self.real[seed] = self.task.real(seed)
        return self.real[seed]

    def base_model(self, seed: int, watch: Stopwatch) -> tuple[Any, dict]:
        """Generation 0's model and metrics for `seed`: from memory, from disk, or fitted now."""
        if seed in self.base:
            return self.base[seed]
        bdir = rundir.base_dir(self.root, seed)
        done = bdir / BASE_METRICS
        if done.exists():
            self.base[seed] = (self.task.load_model(bdir), json.loads(done.read_text()))
            return self.base[seed]
        if bdir.exists():
            shutil.rmtree(bdir)
        bdir.mkdir(parents=True)
        with watch("fit"):
            model, extra = self.task.fit(self.real_data(seed), None, bdir, derive_seed(seed, 0, "fit"), watch)
        metrics = {**self.task.evaluate(model, bdir, seed, watch), **extra}
        metrics = {k: _clean(v) for k, v in metrics.items()}
        write_text(done, json.dumps(metrics, sort_keys=True))
        self.base[seed] = (model, metrics)
        return self.base[seed]

    # ---------------------------------------------------------------- state of a unit
    def gen_path(self, unit: _Unit, generation: int) -> Path:
        return rundir.gen_dir(rundir.unit_dir(self.root, unit.arm.name, unit.lam, unit.seed), generation)

    def set_path(self, unit: _Unit, generation: int, kind: str) -> Path:
        """Where generation `generation` keeps the synthetic set it drew ("samples") or corrected."""
        return self.gen_path(unit, generation) / f"{kind}{self.task.data_suffix}"

    def corrects(self, arm: ArmConfig) -> bool:
        return arm.correction != "none" and not (arm.correction == "ideal" and arm.gamma == 0)

    def save_set(self, data: Any, path: Path) -> None:
        """Write a data set under a temporary name, then rename: a set on disk is always whole."""
        tmp = path.with_name(f".{path.name}.partial")
        if tmp.is_dir():
            shutil.rmtree(tmp)
        self.task.save_data(data, tmp)
        tmp.replace(path)

    def next_set(self, unit: _Unit, g: int, model: Any, watch: Stopwatch) -> tuple[Any, dict]:
        """S_{g+1}: m samples of generation g's model, corrected by the unit's arm, written to disk."""
        m = self.config.synthetic_count(unit.lam)
        with watch("sample"):
            extra = (unit.arm,) if self.config.task == "motion" else ()
            data = self.task.sample(model, m, derive_seed(unit.seed, g, "sample"), *extra)
        self.save_set(data, self.set_path(unit, g, "samples"))
        fields: dict = {}
        if self.corrects(unit.arm):
            with watch("correct"):
                ctx = CorrectionContext(unit.seed, lambda k, s: self.task.sample(model, k, s, *extra))
                args = (ctx,) if self.config.task == "motion" else ()
                data, reports, fields = self.task.correct(data, unit.arm, derive_seed(unit.seed, g, "correct"), *args)
            for r in reports:
                append_jsonl(self.gen_path(unit, g) / rundir.REPORTS, r)
            self.save_set(data, self.set_path(unit, g, "corrected"))
        return data, fields

    def restore(self, unit: _Unit, through: int) -> None:
        """Load the model and synthetic sets of a unit whose generation `through` is complete."""
        if unit.loaded_through == through:
            return
        if through == 0:
            unit.model = self.base_model(unit.seed, Stopwatch())[0]
        else:
            unit.model = self.task.load_model(self.gen_path(unit, through))
        unit.synthetic = []
        if self.config.synthetic_count(unit.lam) > 0:
            kind = "corrected" if self.corrects(unit.arm) else "samples"
            first = 0 if needed_sets(self.config.workflow_of(unit.arm)) == "all" else through
            unit.synthetic = [self.task.load_data(self.set_path(unit, k, kind)) for k in range(first, through + 1)]
        unit.loaded_through = through

    # ---------------------------------------------------------------- one generation of one unit
    def step(self, unit: _Unit, g: int) -> dict:
        t0, watch, cfg, task = time.perf_counter(), Stopwatch(), self.config, self.task
        gdir = self.gen_path(unit, g)
        if gdir.exists():
            shutil.rmtree(gdir)  # a partial generation from a killed run: redo it whole
        gdir.mkdir(parents=True)
        workflow, m = cfg.workflow_of(unit.arm), cfg.synthetic_count(unit.lam)
        if g == 0:
            model, metrics = self.base_model(unit.seed, watch)
            train_size = task.size(self.real_data(unit.seed))
        else:
            self.restore(unit, g - 1)
            train = training_set(
                task, workflow, self.real_data(unit.seed), unit.synthetic, cfg.n, rng_for(unit.seed, g, "subsample")
            )
            train_size = task.size(train)
            prev = unit.model if cfg.training == "finetune" else None
            with watch("fit"):
                model, extra = task.fit(train, prev, gdir, derive_seed(unit.seed, g, "fit"), watch)
            metrics = {**task.evaluate(model, gdir, unit.seed, watch), **extra}
        new_set, fields = None, {}
        if m > 0:  # drawn after the last generation too: its correction stats, and a run can be extended
            new_set, fields = self.next_set(unit, g, model, watch)
        record = {
            "generation": g,
            "arm": unit.arm.name,
            "workflow": workflow,
            "lambda": unit.lam,
            "seed": unit.seed,
            "correction": unit.arm.correction,
            "n": cfg.n,
            "synthetic": m,
            "train_size": train_size,
        }
        if unit.arm.correction == "physics":
            record["strength"] = unit.arm.strength
        if unit.arm.correction in ("ideal", "oracle"):
            record["gamma"] = unit.arm.gamma
        if unit.arm.filter:
            record["filter"] = True
        record.update(metrics)
        record.update(fields)
        record.update({f"{s}_s": round(watch.seconds.get(s, 0.0), 4) for s in TIMED})
        record["wall_s"] = round(time.perf_counter() - t0, 4)
        record = {k: _clean(v) for k, v in record.items()}
        append_jsonl(self.root / rundir.METRICS, record)
        # the generation is complete: advance the in-memory state
        if new_set is not None:
            keep = needed_sets(workflow) == "all"
            unit.synthetic = (unit.synthetic if keep else []) + [new_set]
        unit.model, unit.loaded_through = model, g
        if cfg.keep_checkpoints == "last" and g >= 2:
            for p in task.model_files(self.gen_path(unit, g - 1)):
                p.unlink(missing_ok=True)
        return record


def _postfix(record: dict, task: Task) -> dict:
    out = {"done": f"{record['arm']} (lambda {record['lambda']:g}, seed {record['seed']})"}
    for k in task.summary_metrics:
        v = record.get(k)
        if isinstance(v, (int, float)):
            out[k] = f"{v:.4g}"
    return out


def run_loop(
    config_or_name: LoopConfig | str | Path,
    out_dir: str | Path,
    resume: bool = False,
    overrides: list[str] | tuple[str, ...] = (),
    progress: bool = True,
    jobs: int = 1,
) -> Path:
    """Run (or resume) a self-consuming loop into `out_dir`; returns the run directory.

    Args:
        config_or_name: a LoopConfig, a preset name (`motionloop.loop.preset_names()`:
            "demo", "evidence", "paper-motion", "scsc-toy", ...) or a TOML file.
        out_dir: the run directory (rundir.py describes its layout).
        resume: continue the run in `out_dir` from its last complete generations.
        overrides: `dotted.key=value` settings applied on top of the config.
        progress: show a progress bar per generation.
        jobs: processes running the seeds side by side (seeds are independent chains; each
            process runs its share of them, generation by generation). Metrics are the same
            as with one process.
    Raises:
        ConfigError: a bad config, or a resume with a config that differs from the run's.
        MotionloopError: `out_dir` already holds a run (without resume), or a generation could
            not be written (the generations before it stay complete; fix and resume).
    """
    config = resolve_config(config_or_name, overrides)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise MotionloopError(f"jobs: must be an integer >= 1, got {jobs!r}")
    root = Path(out_dir)
    fresh = not resume and (not root.exists() or (root.is_dir() and not any(root.iterdir())))
    with rundir.locked(root):
        try:
            return _run_locked(config, root, resume, jobs, progress)
        except MotionloopError:
            # a new run that fails before its first record (a missing data path, an unreadable
            # evaluator) leaves nothing behind, so the corrected command is not refused as a
            # rerun; done while holding the lock, so only this process's own directory goes
            metrics = root / rundir.METRICS
            if fresh and not (metrics.exists() and metrics.stat().st_size > 0):
                shutil.rmtree(root, ignore_errors=True)
            raise


def _run_locked(config: LoopConfig, root: Path, resume: bool, jobs: int, progress: bool) -> Path:
    """The run itself; the caller holds the run directory's lock."""
    from motionloop.loop.report import plot_run

    records = rundir.prepare(root, config, resume)
    done = rundir.completed(records)
    jobs = min(jobs, len(config.seeds))
    log.info(
        "run %s (%s): %d generations x %d units, %d process(es) -> %s",
        config.name,
        config.task,
        config.generations,
        len(config.seeds) * len(config.units()),
        jobs,
        root,
    )
    if jobs == 1:
        _run_seeds(config, root, config.seeds, done, progress)
    else:
        import concurrent.futures as cf
        import multiprocessing

        groups = [config.seeds[i::jobs] for i in range(jobs)]
        # spawn: a forked child would inherit the parent's torch and BLAS thread pools
        with cf.ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_single_thread_worker
        ) as pool:
            futures = [pool.submit(_run_seeds, config, root, group, done, False) for group in groups]
            for f in futures:
                f.result()
    plot_run(root)
    return root


def _single_thread_worker() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    logging.basicConfig(level=logging.INFO, format="%(message)s")


def _run_seeds(config: LoopConfig, root: Path, seeds: tuple[int, ...], done: dict, progress: bool) -> None:
    """Every generation of every unit of `seeds`, generation by generation."""
    from motionloop.loop.report import plot_curves_only

    task = make_task(config)
    run = _Run(config, root, task)
    units = [_Unit(arm, lam, seed) for seed in seeds for arm, lam in config.units()]
    drawn = time.perf_counter()
    for g in range(config.generations + 1):
        todo = [u for u in units if done.get(rundir.unit_key(u.arm.name, u.lam, u.seed), -1) < g]
        if not todo:
            continue
        bar = tqdm(
            total=len(units),
            initial=len(units) - len(todo),
            desc=f"generation {g}/{config.generations}",
            unit="arm",
            disable=not progress,
            leave=True,
        )
        for unit in todo:
            try:
                record = run.step(unit, g)
            except OSError as e:
                where = rundir.gen_dir(rundir.unit_dir(root, unit.arm.name, unit.lam, unit.seed), g)
                raise MotionloopError(
                    f"{where}: cannot write generation {g} ({e.strerror or e}); the generations "
                    f"before it are complete: free the space and rerun with --resume"
                ) from e
            # one line per unit when there is no progress bar to show the same numbers
            log.log(
                logging.DEBUG if progress else logging.INFO,
                "generation %d %s lambda=%g seed=%d: %s",
                g,
                unit.arm.name,
                unit.lam,
                unit.seed,
                ", ".join(f"{k}={v}" for k, v in _postfix(record, task).items() if k != "done"),
            )
            bar.set_postfix(_postfix(record, task))
            bar.update()
        bar.close()
        if progress and time.perf_counter() - drawn > REDRAW_S:
            plot_curves_only(root, config)
            drawn = time.perf_counter()


def demo(out_dir: str | Path = "runs/demo", progress: bool = True) -> Path:
    """Run the `demo` preset into `out_dir` (continuing it if `out_dir` already holds it)."""
    root = Path(out_dir)
    return run_loop("demo", root, resume=(root / rundir.CONFIG).exists(), progress=progress)
