"""The self-consuming loop: generations x arms x lambdas x seeds, collapse curves.

- `config.py` / `configio.py`: the run configuration, TOML presets (motionloop/configs/),
  `key=value` overrides.
- `task.py`: the task protocol; `toy.py` (gaussian, kde), `motion_task.py` (diffusion model,
  physics corrector, evaluator); `toymath.py`, `datasets.py`: the toy tasks' pure functions.
- `workflows.py`: training sets per workflow; `engine.py`: `run_loop`, `demo`;
  `rundir.py`: the run directory and resume; `report.py`: `plot_run` (curves.png, report.html).
"""

from motionloop.loop.config import ArmConfig, GaussianConfig, KDEConfig, LoopConfig, MotionConfig
from motionloop.loop.configio import load_config, preset_names, to_toml
from motionloop.loop.engine import demo, run_loop
from motionloop.loop.report import plot_run

__all__ = [
    "ArmConfig",
    "GaussianConfig",
    "KDEConfig",
    "LoopConfig",
    "MotionConfig",
    "demo",
    "load_config",
    "plot_run",
    "preset_names",
    "run_loop",
    "to_toml",
]
