"""Offscreen rendering speed on this CPU.

    python benchmarks/bench_render.py [--frames 100] [--clip dm_walk]

Measures, on a bundled clip: frames per second of MuJoCo offscreen rendering of one 640x480
panel (render only: pose, update the scene, read the pixels), the same for the stick-figure
fallback, and the wall time of `render()` for a 5-second clip to MP4 (one panel, and two side
by side as in `--compare`), including metrics, text, encoding. Writes
benchmarks/results/bench_render.json. The 1-minute load average is recorded, as other work
on the machine slows software GL down.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from motionloop.bench import write_result
from motionloop.data.bundled import list_bundled
from motionloop.motion import Motion
from motionloop.viz import gl
from motionloop.viz.camera import CameraConfig, follow_track
from motionloop.viz.marks import body_marks
from motionloop.viz.render import RenderConfig, render

SIZE = (640, 480)


def panel_fps(engine: str, clip: Motion, frames: int) -> float:
    """Frames per second of drawing one panel with `engine` ("mujoco" or "stick")."""
    cam = CameraConfig()
    look = follow_track(clip.trans, clip.fps, cam)
    marks = body_marks(clip)
    if engine == "mujoco":
        from motionloop.viz.mjrender import MujocoPanels

        panels = MujocoPanels(SIZE, cam)
        qpos, colours = panels.qpos(clip), panels.clip_colours(marks)

        def draw(k):
            return panels.frame(qpos[k], look[k], colours[k])
    else:
        from motionloop import body as bd
        from motionloop.viz.stick import StickPanels

        panels = StickPanels(SIZE, cam)
        pos, glob = clip.fk()
        soles = bd.sole_points(bd.geometry(), pos, glob).reshape(len(pos), 4, 4, 3)

        def draw(k):
            return panels.frame(pos[k], soles[k], look[k], marks.contact[k], marks.under[k])

    for k in range(3):  # warm up (shader compilation, first buffers)
        draw(k)
    t0 = time.perf_counter()
    for i in range(frames):
        draw(i % clip.num_frames)
    fps = frames / (time.perf_counter() - t0)
    panels.close()
    return fps


def five_seconds(clip: Motion) -> Motion:
    """The first 5 s of `clip` (a shorter clip is repeated up to 5 s)."""
    n = round(5 * clip.fps) + 1
    reps = -(-n // clip.num_frames)
    return clip.replace(trans=np.tile(clip.trans, (reps, 1))[:n], poses=np.tile(clip.poses, (reps, 1, 1))[:n])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=100, help="panels drawn per fps measurement")
    ap.add_argument("--clip", default="dm_walk", help="bundled clip id")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_render.json"))
    args = ap.parse_args()
    how, backend = gl.plan()  # before anything imports mujoco
    clips = {c.id: c for c in list_bundled()}
    clip = Motion.load(clips[args.clip].path)
    five = five_seconds(clip)
    config = {
        "gl_backend": backend,
        "gl_plan": how,
        "size": list(SIZE),
        "clip": args.clip,
        "clip_5s_frames": five.num_frames,
        "clip_fps": clip.fps,
    }
    result = {"loadavg_1min_at_start": os.getloadavg()[0]}
    if how == "inprocess":
        result["mujoco_panel_fps"] = round(panel_fps("mujoco", clip, args.frames), 2)
    result["stick_panel_fps"] = round(panel_fps("stick", clip, args.frames // 2), 2)
    with tempfile.TemporaryDirectory() as tmp:
        for name, clips_in in (("mp4_5s_one_panel_s", [five]), ("mp4_5s_two_panels_s", [five, five])):
            t0 = time.perf_counter()
            render(clips_in, Path(tmp) / f"{name}.mp4", config=RenderConfig(size=SIZE))
            result[name] = round(time.perf_counter() - t0, 2)
    write_result(args.out, "bench_render", config, result)


if __name__ == "__main__":
    main()
