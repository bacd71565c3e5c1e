"""Choosing MuJoCo's offscreen OpenGL backend, which must happen before `import mujoco`.

MuJoCo picks its GL context class from `MUJOCO_GL` once, when the `mujoco` package is first
imported in a process; PyOpenGL likewise fixes its platform on first import. So:

- `probe()` tries each candidate (`$MUJOCO_GL` if the user set it, else `egl` then `osmesa`)
  in a short-lived child interpreter, which cannot spoil this one: a missing libosmesa6 makes
  even `import mujoco` fail while `MUJOCO_GL=osmesa` is set. The answer is cached per process.
- `plan()` says how this process can render with that backend:
  `"inprocess"` if mujoco is not imported yet (then `MUJOCO_GL` is set here, right before
  viz/mjrender.py, the only viz module that imports mujoco, is imported) or was imported with
  the same backend; `"subprocess"` if mujoco was already imported with another one (for example
  the physics stage imported it without `MUJOCO_GL`, which means GLFW and needs a display):
  render.py then renders in a child interpreter, so the picture is the same either way;
  `"none"` if no backend works: render.py falls back to the stick figure.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
from typing import Literal

log = logging.getLogger(__name__)

CANDIDATES = ("egl", "osmesa")
# Debian packages each backend needs (what CI installs).
PACKAGES = {
    "egl": ("libegl1", "libegl-mesa0", "libgl1-mesa-dri", "libopengl0"),
    "osmesa": ("libosmesa6",),
}
_PROBE = "import mujoco\nc = mujoco.GLContext(16, 16)\nc.make_current()\nc.free()\n"
PROBE_TIMEOUT_S = 60.0

Plan = Literal["inprocess", "subprocess", "none"]


def _works(backend: str) -> bool:
    env = {**os.environ, "MUJOCO_GL": backend}
    env.pop("PYOPENGL_PLATFORM", None)  # mujoco sets it to match MUJOCO_GL
    try:
        res = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.debug("MUJOCO_GL=%s probe failed: %s", backend, e)
        return False
    if res.returncode != 0:
        log.debug("MUJOCO_GL=%s does not work here: %s", backend, res.stderr.decode(errors="replace")[-400:])
    return res.returncode == 0


@functools.lru_cache(maxsize=1)
def probe() -> str | None:
    """The first working offscreen backend (`"egl"`, `"osmesa"` or the user's `$MUJOCO_GL`), or None."""
    user = os.environ.get("MUJOCO_GL", "").strip().lower()
    for backend in (user,) if user else CANDIDATES:
        if _works(backend):
            return backend
    return None


def imported_backend() -> str | None:
    """The GL backend of an already imported mujoco (`"egl"`, `"osmesa"`, `"glfw"`, ...), else None."""
    mj = sys.modules.get("mujoco")
    if mj is None:
        return None
    ctx = getattr(mj, "GLContext", None)
    module = getattr(ctx, "__module__", "") or ""
    return module.rsplit(".", 1)[-1] if module.startswith("mujoco.") else "unavailable"


def plan() -> tuple[Plan, str | None]:
    """How to render in this process, and with which backend (see the module docstring)."""
    backend = probe()
    if backend is None:
        return "none", None
    if "mujoco" not in sys.modules:
        os.environ["MUJOCO_GL"] = backend
        # PyOpenGL (imported by mujoco's EGL/OSMesa context) logs at INFO on every run that its
        # optional C accelerator is missing: noise in the CLI's INFO output
        logging.getLogger("OpenGL.acceleratesupport").setLevel(logging.WARNING)
        return "inprocess", backend
    return ("inprocess" if imported_backend() == backend else "subprocess"), backend


def missing_packages_hint() -> str:
    """What to install for offscreen rendering, for messages."""
    return ", ".join(PACKAGES["egl"]) + " (EGL) or " + ", ".join(PACKAGES["osmesa"]) + " (OSMesa)"
