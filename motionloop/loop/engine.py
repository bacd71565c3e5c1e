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

Executors: "local" runs the units in this process (or `jobs` spawn processes, seeds split
between them). "ray" runs every unit as its own Ray task (one CPU, one BLAS/torch thread) on
a local Ray instance or the cluster at `address`: first one task per seed whose generation 0
is missing, then one task per unit, which runs the unit's generations in order (the motion
task's corrections run inside it: motion.workers is 1 there, the results are the same). The run
directory is the only state: a unit's task reads how far its unit got from metrics.jsonl when
it starts, so a task Ray retries after its worker or node died continues the unit (a partial
generation is redone, as on resume). Chains advance independently, so a killed run's curves
may stop at different generations; metrics.jsonl holds the same records as a local run's, in
another order. The driver holds the run directory's lock and shows the records as they land;
a task whose driver is gone (killed, or the run resumed by another) ends its process. The
directory must be storage every node sees at the same path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from motionloop import raycluster
from motionloop.errors import ConfigError, MotionloopError
from motionloop.io import append_jsonl, read_jsonl, write_text
from motionloop.loop import rundir
from motionloop.loop.config import ArmConfig, LoopConfig
from motionloop.loop.configio import apply_override, from_dict, load_config, to_dict, to_toml
from motionloop.loop.task import CorrectionContext, Stopwatch, Task, derive_seed, rng_for
from motionloop.loop.workflows import needed_sets, training_set
from motionloop.physics.executor import single_thread

log = logging.getLogger(__name__)

BASE_METRICS = "metrics.json"
TIMED = ("fit", "sample", "correct", "evaluate")
REDRAW_S = 30.0  # curves.png is redrawn after a generation at most this often (and at the end)
EXECUTORS = ("local", "ray")
RAY_RETRIES = 3  # times Ray reruns a task whose worker process or node died
RAY_TOKEN = ".ray-token"  # the driver's token: a task of an earlier (killed) driver stops writing
WATCH_S = 1.0  # how often a Ray task looks whether its driver is still there


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
        self.before_record: Any = None  # called before a record is appended (a Ray task's owner check)

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
        if self.before_record is not None:
            self.before_record()
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
        if self.before_record is not None:
            self.before_record()
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
    executor: str = "local",
    address: str | None = None,
) -> Path:
    """Run (or resume) a self-consuming loop into `out_dir`; returns the run directory.

    Args:
        config_or_name: a LoopConfig, a preset name (`motionloop.loop.preset_names()`:
            "demo", "evidence", "paper-motion", "scsc-toy", ...) or a TOML file.
        out_dir: the run directory (rundir.py describes its layout).
        resume: continue the run in `out_dir` from its last complete generations.
        overrides: `dotted.key=value` settings applied on top of the config.
        progress: show a progress bar per generation (executor "ray": one for the whole run);
            without it, log a line per record.
        jobs: processes running the seeds side by side (seeds are independent chains; each
            process runs its share of them, generation by generation). Metrics are the same
            as with one process. Only with the local executor.
        executor: "local" (this process, or `jobs` processes) or "ray": every (arm, lambda,
            seed) chain is a Ray task, run side by side on the cluster's CPUs; the metrics are
            the same as a local run's (in another line order). Needs the `ray` extra.
        address: with executor "ray", the cluster to join (`HOST:PORT` of its head, or
            "auto"); None starts a Ray instance on this machine. The run directory (and the
            config's data paths) must be at the same path on every node of the cluster, and
            motionloop installed there.
    Raises:
        ConfigError: a bad config, or a resume with a config that differs from the run's.
        MotionloopError: `out_dir` already holds a run (without resume), or a generation could
            not be written (the generations before it stay complete; fix and resume).
    """
    config = resolve_config(config_or_name, overrides)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise MotionloopError(f"jobs: must be an integer >= 1, got {jobs!r}")
    _check_executor(executor, address, jobs)
    root = Path(out_dir)
    fresh = not resume and (not root.exists() or (root.is_dir() and not any(root.iterdir())))
    with rundir.locked(root):
        try:
            return _run_locked(config, root, resume, jobs, progress, executor, address)
        except MotionloopError:
            # a new run that fails before its first record (a missing data path, an unreadable
            # evaluator) leaves nothing behind, so the corrected command is not refused as a
            # rerun; done while holding the lock, so only this process's own directory goes
            metrics = root / rundir.METRICS
            if fresh and not (metrics.exists() and metrics.stat().st_size > 0):
                shutil.rmtree(root, ignore_errors=True)
            raise


def _check_executor(executor: str, address: str | None, jobs: int) -> None:
    """One-line errors for an executor setting that cannot work (before the run directory is touched)."""
    if executor not in EXECUTORS:
        raise ConfigError(f"executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")
    if executor != "ray":
        if address is not None:
            raise ConfigError("--address: only with --executor ray")
        return
    if jobs != 1:
        raise ConfigError(
            f"--jobs {jobs}: only with --executor local; with --executor ray every chain "
            "(arm x lambda x seed) is its own task on the cluster's CPUs"
        )
    raycluster.check_address(address)
    raycluster.import_ray()


def _run_locked(
    config: LoopConfig, root: Path, resume: bool, jobs: int, progress: bool, executor: str, address: str | None
) -> Path:
    """The run itself; the caller holds the run directory's lock."""
    from motionloop.loop.report import plot_run

    records = rundir.prepare(root, config, resume)
    done = rundir.completed(records)
    if executor == "ray":
        _run_ray(config, root, done, progress, address)
        plot_run(root)
        return root
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
    single_thread(torch_too=True)
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
            record = _step(run, unit, g)
            # one line per unit when there is no progress bar to show the same numbers
            _log_record(record, task, progress)
            bar.set_postfix(_postfix(record, task))
            bar.update()
        bar.close()
        if progress and time.perf_counter() - drawn > REDRAW_S:
            plot_curves_only(root, config)
            drawn = time.perf_counter()


def _step(run: _Run, unit: _Unit, g: int) -> dict:
    """`run.step`, with a failed write said as what to do."""
    try:
        return run.step(unit, g)
    except OSError as e:
        where = rundir.gen_dir(rundir.unit_dir(run.root, unit.arm.name, unit.lam, unit.seed), g)
        raise MotionloopError(
            f"{where}: cannot write generation {g} ({e.strerror or e}); the generations "
            f"before it are complete: free the space and rerun with --resume"
        ) from e


def _log_record(record: dict, task: Task, progress: bool) -> None:
    log.log(
        logging.DEBUG if progress else logging.INFO,
        "generation %d %s lambda=%g seed=%d: %s",
        record["generation"],
        record["arm"],
        record["lambda"],
        record["seed"],
        ", ".join(f"{k}={v}" for k, v in _postfix(record, task).items() if k != "done"),
    )


# ---------------------------------------------------------------------------- executor "ray"
def _run_ray(config: LoopConfig, root: Path, done: dict, progress: bool, address: str | None) -> None:
    """Every unfinished chain of the run as a Ray task; returns when all are complete."""
    from motionloop.loop.report import plot_curves_only

    root = root.resolve()  # the tasks' working directory is not the driver's
    # the last complete generation of every unfinished chain
    last = {
        (arm, lam, seed): g
        for seed in config.seeds
        for arm, lam in config.units()
        if (g := done.get(rundir.unit_key(arm.name, lam, seed), -1)) < config.generations
    }
    chains = list(last)
    if not chains:
        return
    ray_was_up = raycluster.import_ray().is_initialized()
    ray = raycluster.connect(address)
    token = uuid.uuid4().hex
    write_text(root / RAY_TOKEN, token)
    worker_config = config
    if config.task == "motion" and config.motion.workers != 1:
        # a task has one CPU: its corrections run in the task's own process
        worker_config = dataclasses.replace(config, motion=dataclasses.replace(config.motion, workers=1))
    # SPREAD: chains are long CPU-bound tasks; the default policy packs them on the driver's node
    # while its CPUs look free, and under load a busy head could run every chain itself
    options = dict(num_cpus=1, max_retries=RAY_RETRIES, retry_exceptions=False, scheduling_strategy="SPREAD")
    base_task = ray.remote(_ray_base).options(name="motionloop-base", **options)
    chain_task = ray.remote(_ray_chain).options(name="motionloop-chain", **options)
    bases = {
        seed: base_task.remote(worker_config, str(root), seed, token)
        for seed in sorted({c[2] for c in chains})
        if not (rundir.base_dir(root, seed) / BASE_METRICS).exists()
    }
    pending = {}
    for arm, lam, seed in chains:
        after = [bases[seed]] if seed in bases else []  # its seed's generation 0: an argument Ray resolves first
        pending[chain_task.remote(worker_config, str(root), arm, lam, seed, token, *after)] = (arm, lam, seed)
    total = sum(config.generations - g for g in last.values())
    log.info(
        "ray: %d chain(s) as tasks (%d generation(s) to run, %d generation-0 task(s)) on %g CPU(s) -> %s",
        len(chains),
        total,
        len(bases),
        ray.cluster_resources().get("CPU", 0),
        root,
    )
    task = _RecordTask(config)
    tail = _MetricsTail(root / rundir.METRICS)
    bar = tqdm(total=total, desc="generations", unit="gen", disable=not progress, leave=True)
    drawn = time.perf_counter()
    try:
        refs = list(pending)
        while refs:
            ready, refs = ray.wait(refs, num_returns=1, timeout=1.0)
            for record in tail.new():
                _log_record(record, task, progress)
                bar.set_postfix(_postfix(record, task))
                bar.update()
            for ref in ready:
                arm, lam, seed = pending[ref]
                info = _ray_result(ray, ref, f"{arm.name} (lambda {lam:g}, seed {seed})")
                log.log(
                    logging.DEBUG if progress else logging.INFO,
                    "chain %s lambda=%g seed=%d: complete through generation %d (%s on node %s%s)",
                    arm.name,
                    lam,
                    seed,
                    config.generations,
                    f"ran generations {info['first']}..{config.generations}"
                    if info["first"] <= config.generations
                    else "nothing left to run",
                    info["node"][:12],
                    f", continued after a retry from generation {info['first']}"
                    if info["first"] > last[arm, lam, seed] + 1
                    else "",
                )
            if progress and time.perf_counter() - drawn > REDRAW_S:
                plot_curves_only(root, config)
                drawn = time.perf_counter()
    except BaseException:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise
    finally:
        bar.close()
        # tasks of this driver that are still running (cancelled ones) stop before their next record
        (root / RAY_TOKEN).unlink(missing_ok=True)
        if not ray_was_up:
            raycluster.shutdown()


def _ray_result(ray, ref, what: str) -> dict:
    """A finished task's return value; its error as a MotionloopError (one line)."""
    from ray import exceptions as rex

    try:
        return ray.get(ref)
    except rex.RayTaskError as e:
        cause = e.cause if isinstance(e.cause, BaseException) else None
        if isinstance(cause, MotionloopError):
            raise cause from None
        first = (str(cause) if cause is not None else str(e)).strip().splitlines()
        raise MotionloopError(f"chain {what}: {first[-1] if first else type(e).__name__}") from None
    except rex.RayError as e:  # its worker or node died RAY_RETRIES + 1 times, out of memory, ...
        line = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise MotionloopError(
            f"chain {what}: the Ray task did not complete ({type(e).__name__}: {line}); "
            "the complete generations are kept: rerun with --resume"
        ) from None


class _RecordTask:
    """What `_postfix` needs of a task, without building one (the motion task loads models)."""

    def __init__(self, config: LoopConfig):
        from motionloop.loop import toy

        names = {"gaussian": "GaussianTask", "kde": "KDETask"}
        if config.task in names:
            self.summary_metrics = getattr(toy, names[config.task]).summary_metrics
        else:
            from motionloop.loop.motion_task import MotionTask

            self.summary_metrics = MotionTask.summary_metrics


class _MetricsTail:
    """The records appended to metrics.jsonl since the last look (complete lines only)."""

    def __init__(self, path: Path):
        self.path, self.offset = path, path.stat().st_size

    def new(self) -> list[dict]:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        out = []
        for raw in data[:end].splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
        return out


_WORKER_TASKS: dict[str, Task] = {}  # a Ray worker process keeps its task object between chains


def _ray_worker_run(config: LoopConfig, root: Path, token: str) -> _Run:
    """A _Run in a Ray worker: one thread for torch and BLAS, the task built once per process."""
    single_thread(torch_too=config.task == "motion")
    key = to_toml(config)
    if key not in _WORKER_TASKS:
        _WORKER_TASKS.clear()
        _WORKER_TASKS[key] = make_task(config)
    run = _Run(config, root, _WORKER_TASKS[key])
    run.before_record = lambda: _exit_if_driver_gone(root, token)
    return run


def _exit_if_driver_gone(root: Path, token: str) -> None:
    """End this worker process when the driver that started its task no longer runs the run."""
    if not _driver_alive(root, token):
        log.error("%s: the driver of this run is gone (killed, or the run was resumed); stopping", root)
        os._exit(75)


def _driver_alive(root: Path, token: str) -> bool:
    """Whether the driver that started a task still runs the run: it holds the run directory's
    lock (rundir.held) and the token it wrote is still there (not a later driver's)."""
    try:
        current = (root / RAY_TOKEN).read_text().strip()
    except OSError:
        current = ""
    return current == token and rundir.held(root)


@contextlib.contextmanager
def _driver_watch(root: Path, token: str) -> Iterator[None]:
    """While a task runs: end its process when its driver is gone. A killed driver's Ray
    instance may die without stopping the workers it started; this one then stops within
    WATCH_S instead of writing into a run directory that a resumed run now owns."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(WATCH_S):
            _exit_if_driver_gone(root, token)

    thread = threading.Thread(target=watch, name="motionloop-driver-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _ray_base(config: LoopConfig, root: str, seed: int, token: str) -> int:
    """Generation 0 of `seed` (model and metrics in base/seed_S), shared by the seed's chains."""
    with _driver_watch(Path(root), token):
        run = _ray_worker_run(config, Path(root), token)
        run.base_model(seed, Stopwatch())
    return seed


def _ray_chain(config: LoopConfig, root: str, arm: ArmConfig, lam: float, seed: int, token: str, *after) -> dict:
    """Every generation of one chain that metrics.jsonl does not hold yet, in order."""
    import ray

    with _driver_watch(Path(root), token):
        run = _ray_worker_run(config, Path(root), token)
        unit = _Unit(arm, lam, seed)
        key = rundir.unit_key(arm.name, lam, seed)
        first = rundir.completed(read_jsonl(run.root / rundir.METRICS)).get(key, -1) + 1  # a retry continues here
        for g in range(first, config.generations + 1):
            _step(run, unit, g)
    return {"first": first, "node": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}


def demo(out_dir: str | Path = "runs/demo", progress: bool = True) -> Path:
    """Run the `demo` preset into `out_dir` (continuing it if `out_dir` already holds it)."""
    root = Path(out_dir)
    return run_loop("demo", root, resume=(root / rundir.CONFIG).exists(), progress=progress)
