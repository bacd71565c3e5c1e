"""Pictures of clips: `render(clips, out)` writes an .mp4, .gif or .png, clips side by side.

Each clip gets a panel: the MuJoCo humanoid offscreen on the CPU (mjrender.py), or a
matplotlib stick figure (stick.py) when no OpenGL backend works here, which is logged as a
warning. A follow camera (camera.py), the floor grid, feet in contact coloured green and parts
under the floor red (marks.py), the title with label and physics metrics, and the frame
counter (overlay.py) are on every panel.

Several clips (`--compare`) are aligned first (align.py): resampled to the first clip's fps,
and the shorter ones hold their last frame to the length of the longest; both are logged and
the counter of a held clip says so. A `.png` is a contact sheet: `RenderConfig.sheet` moments
evenly spread over the clip, one row each (a single frame with `RenderConfig.frame`).

Where MUJOCO_GL is decided: gl.py. If mujoco was imported in this process before with another
GL backend, the MuJoCo pictures are rendered by a child interpreter (worker.py) instead.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
from tqdm import tqdm

from motionloop import config as cfgmod
from motionloop.errors import ConfigError, MotionloopError
from motionloop.motion import Motion
from motionloop.physics.metrics import physics_metrics
from motionloop.viz import gl
from motionloop.viz.align import align, clip_title
from motionloop.viz.camera import CameraConfig, follow_track
from motionloop.viz.marks import body_marks
from motionloop.viz.overlay import annotate, contact_sheet, side_by_side
from motionloop.viz.video import check_output, write_png, write_video

log = logging.getLogger(__name__)

Backend = Literal["auto", "mujoco", "stick"]
BACKENDS: tuple[str, ...] = get_args(Backend)
GIF_LONG = 400  # frames; Pillow keeps every frame of a GIF until the file is complete


@dataclass(frozen=True)
class RenderConfig:
    """How pictures are made.

    Attributes:
        size: (width, height) of one clip's panel in pixels; the video is N panels wide.
        camera: the follow camera.
        backend: "auto" (MuJoCo if a GL backend works, else the stick figure with a warning),
            "mujoco" (error if no GL backend works) or "stick".
        sheet: moments in a `.png` contact sheet (evenly spread, first and last included).
        frame: 0-based frame for a single-frame `.png` instead of a sheet (None: sheet).
    """

    size: tuple[int, int] = (640, 480)
    camera: CameraConfig = field(default_factory=CameraConfig)
    backend: Backend = "auto"
    sheet: int = 4
    frame: int | None = None

    def __post_init__(self) -> None:
        if len(self.size) != 2 or min(self.size) < 16 or max(self.size) > 4096:
            raise ConfigError(f"RenderConfig.size must be (width, height) in 16..4096 px, got {self.size}")
        cfgmod.check_choices(self)
        if self.sheet < 1:
            raise ConfigError(f"RenderConfig.sheet must be >= 1, got {self.sheet}")
        if self.frame is not None and self.frame < 0:
            raise ConfigError(f"RenderConfig.frame must be >= 0, got {self.frame}")


def parse_size(text: str) -> tuple[int, int]:
    """`"640x480"` -> (640, 480): a panel size as the CLI takes it."""
    parts = text.lower().replace(" ", "").split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ConfigError(f"--size {text!r}: expected WIDTHxHEIGHT in pixels, e.g. 640x480")
    return int(parts[0]), int(parts[1])


def frame_indices(num_frames: int, fmt: str, config: RenderConfig) -> list[int]:
    """The frames a file of format `fmt` shows: all for videos, one or a sheet for `.png`."""
    if fmt != ".png":
        return list(range(num_frames))
    if config.frame is not None:
        if config.frame >= num_frames:
            raise ConfigError(f"RenderConfig.frame {config.frame} is past the clip's {num_frames} frames (0-based)")
        return [config.frame]
    return sorted(set(np.linspace(0, num_frames - 1, min(config.sheet, num_frames)).round().astype(int).tolist()))


def render(
    clips: Motion | Sequence[Motion],
    out: str | os.PathLike,
    titles: Sequence[str] | None = None,
    metrics: Sequence[dict[str, float]] | None = None,
    config: RenderConfig = RenderConfig(),
) -> Path:
    """Render clips side by side to `out` (.mp4, .gif or .png, chosen by suffix). Returns `out`.

    Args:
        clips: one Motion or several (left to right).
        titles: one per clip (default: the source file's stem).
        metrics: physics metrics per clip for the titles (default: `physics_metrics` of each).
    """
    out, fmt = check_output(out)
    clips = [clips] if isinstance(clips, Motion) else list(clips)
    if not clips:
        raise MotionloopError("render: no clips given")
    titles = [clip_title(m, i) for i, m in enumerate(clips)] if titles is None else [str(t) for t in titles]
    metrics = [physics_metrics(m) for m in clips] if metrics is None else list(metrics)
    if len(titles) != len(clips) or len(metrics) != len(clips):
        raise MotionloopError(f"render: {len(clips)} clips but {len(titles)} titles and {len(metrics)} metrics")
    clips = align(clips, titles)
    frame_indices(max(m.num_frames for m in clips), fmt, config)  # a bad frame fails here, not in a child
    engine = "stick"
    if config.backend != "stick":
        how, backend = gl.plan()
        if how == "none":
            if config.backend == "mujoco":
                hint = gl.missing_packages_hint()
                raise MotionloopError(f"render: no MuJoCo offscreen GL backend works here; install {hint}")
            log.warning(
                "no OpenGL backend for MuJoCo works here (install %s): drawing a matplotlib stick figure instead",
                gl.missing_packages_hint(),
            )
        elif how == "subprocess":
            return _render_in_child(clips, out, titles, metrics, config, backend)
        else:
            engine = "mujoco"
    return render_aligned(clips, out, fmt, titles, metrics, config, engine)


def render_aligned(
    aligned: list[Motion],
    out: Path,
    fmt: str,
    titles: list[str],
    metrics: list[dict],
    config: RenderConfig,
    engine: str,
) -> Path:
    """Render clips of one fps (`align`ed) with `engine` ("mujoco" in this process, or "stick")."""
    n = max(m.num_frames for m in aligned)
    last = [m.num_frames - 1 for m in aligned]
    fps = aligned[0].fps
    indices = frame_indices(n, fmt, config)
    if engine == "mujoco":
        from motionloop.viz.mjrender import MujocoPanels

        panels = MujocoPanels(config.size, config.camera)
    else:
        from motionloop.viz.stick import StickPanels

        panels = StickPanels(config.size, config.camera)
    draws = [_clip_drawer(panels, m, engine, config.camera) for m in aligned]

    def pictures() -> Iterator[np.ndarray]:
        for t in tqdm(indices, desc=f"render {out.name}", unit="frame", disable=None, leave=False):
            row = []
            for i, (m, draw) in enumerate(zip(aligned, draws)):
                k = min(t, last[i])
                held = last[i] if last[i] < n - 1 else None
                row.append(annotate(draw(k), titles[i], m.label, metrics[i], t, n, fps, ended_at=held))
            yield side_by_side(row)

    if fmt == ".gif" and n > GIF_LONG:
        log.warning("%s: a GIF of %d frames is held in memory while it is written; .mp4 suits long clips", out, n)
    try:
        if fmt == ".png":
            write_png(contact_sheet(list(pictures())), out)
        else:
            write_video(pictures(), out, fps)
    finally:
        panels.close()
    return out


def _clip_drawer(panels, motion: Motion, engine: str, camera: CameraConfig):
    """A function frame index -> panel picture `(H, W, 3)` for one clip (its per-clip arrays precomputed)."""
    marks = body_marks(motion)
    lookat = follow_track(motion.trans, motion.fps, camera)
    if engine == "mujoco":
        qpos, colours = panels.qpos(motion), panels.clip_colours(marks)
        return lambda k: panels.frame(qpos[k], lookat[k], colours[k])
    from motionloop import body as bd

    pos, glob = motion.fk()
    soles = bd.sole_points(bd.geometry(), pos, glob).reshape(len(pos), 4, 4, 3)
    return lambda k: panels.frame(pos[k], soles[k], lookat[k], marks.contact[k], marks.under[k])


def _render_in_child(
    clips: list[Motion], out: Path, titles: list[str], metrics: list[dict], config: RenderConfig, backend: str
) -> Path:
    """Render with MuJoCo in a fresh interpreter whose MUJOCO_GL is `backend` (see gl.py)."""
    log.info(
        "mujoco was imported here with GL backend %r: rendering in a child process with MUJOCO_GL=%s",
        gl.imported_backend(),
        backend,
    )
    with tempfile.TemporaryDirectory(prefix="motionloop-render-") as tmp:
        paths = [str(m.save(Path(tmp) / f"clip_{i:03d}.npz")) for i, m in enumerate(clips)]
        spec = {
            "clips": paths,
            "out": str(out.resolve()),
            "titles": titles,
            "metrics": metrics,
            "config": dataclasses.asdict(config),
        }
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        env = {**os.environ, "MUJOCO_GL": backend}
        env.pop("PYOPENGL_PLATFORM", None)
        res = subprocess.run(
            [sys.executable, "-m", "motionloop.viz.worker", str(spec_path)], env=env, capture_output=True, text=True
        )
    if res.returncode != 0:
        tail = "\n".join(res.stderr.strip().splitlines()[-15:])
        raise MotionloopError(f"render: the child renderer failed (exit {res.returncode}):\n{tail}")
    for line in res.stderr.splitlines():
        log.debug("child renderer: %s", line)
    return out


def config_from_dict(d: dict) -> RenderConfig:
    """Inverse of `dataclasses.asdict(RenderConfig)` (JSON turns tuples into lists)."""
    return cfgmod.from_dict(RenderConfig, d, "RenderConfig")
