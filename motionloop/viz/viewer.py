"""The HTML viewer: clips in 3D side by side in one self-contained page, no network.

`write_viewer(clips, out)` writes the page; `viewer_fragment(clips)` returns the same viewer
as an HTML fragment (a `<div>` and its scripts) for the loop's report.html to embed, any
number of times per page. The JavaScript (static/viewer.js, a small hand-written WebGL 1
renderer of the capsule body) is inlined, so the file works from disk and offline.

Per clip the page carries, base64-encoded: joint positions `(T, 24, 3)` float32 (m), global
joint rotations as quaternions wxyz `(T, 24, 4)` float32, the follow camera's look-at track
`(T, 3)` float32, and per-geom marks `(T, G)` uint8 (bit 0: foot in contact, bit 1: under the
floor; marks.py). Clips are aligned as in videos (first clip's fps, shorter ones hold their
last frame). About 1 KB per frame per clip.
"""

from __future__ import annotations

import base64
import functools
import html
import itertools
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from motionloop import body as bd
from motionloop import rotations as rot
from motionloop.errors import MotionloopError
from motionloop.io import write_text
from motionloop.motion import Motion
from motionloop.physics.metrics import physics_metrics
from motionloop.resources import VIEWER_STATIC
from motionloop.viz import marks as mk
from motionloop.viz.align import align, clip_title
from motionloop.viz.camera import CameraConfig, follow_track
from motionloop.viz.overlay import metrics_line

_ids = itertools.count()


@functools.lru_cache(maxsize=1)
def viewer_js() -> str:
    """The viewer's JavaScript source."""
    return (VIEWER_STATIC / "viewer.js").read_text()


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _geom_table() -> list[dict]:
    out = []
    for g in bd.geometry():
        if isinstance(g, bd.Box):
            out.append({"type": "box", "joint": g.joint, "center": list(g.center), "half": list(g.half)})
        else:
            out.append({"type": "capsule", "joint": g.joint, "a": list(g.a), "b": list(g.b), "radius": g.radius})
    return out


def viewer_data(
    clips: Sequence[Motion],
    titles: Sequence[str] | None = None,
    metrics: Sequence[dict[str, float]] | None = None,
    camera: CameraConfig = CameraConfig(),
    columns: int | None = None,
) -> dict:
    """The JSON-able data the page's script reads (see the module docstring); `columns` clips per
    row (None: all in one row)."""
    clips = list(clips)
    if not clips:
        raise MotionloopError("viewer: no clips given")
    titles = [clip_title(m, i) for i, m in enumerate(clips)] if titles is None else [str(t) for t in titles]
    metrics = [physics_metrics(m) for m in clips] if metrics is None else list(metrics)
    if len(titles) != len(clips) or len(metrics) != len(clips):
        raise MotionloopError(f"viewer: {len(clips)} clips but {len(titles)} titles and {len(metrics)} metrics")
    aligned = align(clips, titles)
    entries = []
    for m, title, met in zip(aligned, titles, metrics):
        pos, glob = m.fk()
        marks = mk.body_marks(m)
        flags = np.zeros(marks.under.shape, np.uint8)  # (T, G)
        for g, geom in enumerate(bd.geometry()):
            if geom.joint in mk.FOOT_JOINTS and isinstance(geom, bd.Box):
                flags[:, g] |= marks.contact[:, mk.FOOT_JOINTS.index(geom.joint)].astype(np.uint8)
        flags |= marks.under.astype(np.uint8) << 1
        entries.append(
            {
                "title": title,
                "label": m.label,
                "metrics": metrics_line(met),
                "frames": m.num_frames,
                "pos": _b64(pos.astype("<f4")),
                "quat": _b64(rot.mat_to_quat(glob).astype("<f4")),
                "look": _b64(follow_track(m.trans, m.fps, camera).astype("<f4")),
                "flags": _b64(flags),
            }
        )
    if columns is not None and (isinstance(columns, bool) or not isinstance(columns, int) or columns < 1):
        raise MotionloopError(f"viewer: columns must be an integer >= 1, got {columns!r}")
    return {
        "fps": aligned[0].fps,
        "frames": max(m.num_frames for m in aligned),
        "clips": entries,
        "columns": columns,
        "geoms": _geom_table(),
        "camera": {
            "azimuth": camera.azimuth,
            "elevation": camera.elevation,
            "distance": camera.distance,
            "fovy": camera.fovy,
        },
        "colours": {"skin": mk.SKIN, "foot": mk.FOOT, "contact": mk.CONTACT, "under": mk.UNDER},
    }


def _script_json(data: dict) -> str:
    # inside <script>, "</" could close the element early; "<\/" is the same string to JSON
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def viewer_fragment(
    clips: Sequence[Motion],
    titles: Sequence[str] | None = None,
    metrics: Sequence[dict[str, float]] | None = None,
    camera: CameraConfig = CameraConfig(),
    columns: int | None = None,
) -> str:
    """An HTML fragment (a `<div>` and two `<script>`s) showing `clips`; embeddable many times per page."""
    div_id = f"mlv-{os.getpid()}-{next(_ids)}"
    data = _script_json(viewer_data(clips, titles, metrics, camera, columns))
    return (
        f'<div id="{div_id}"></div>\n<script>\n{viewer_js()}\n</script>\n'
        f'<script>MotionloopViewer(document.getElementById("{div_id}"), {data});</script>\n'
    )


def write_viewer(
    clips: Sequence[Motion],
    out: str | os.PathLike,
    titles: Sequence[str] | None = None,
    metrics: Sequence[dict[str, float]] | None = None,
    camera: CameraConfig = CameraConfig(),
    columns: int | None = None,
) -> Path:
    """Write a self-contained HTML page showing `clips` side by side; returns its path.

    Args:
        clips: the clips, left to right (row by row with `columns`).
        titles: one per clip (default: the source file's stem).
        metrics: physics metrics per clip (default: `physics_metrics` of each).
        columns: clips per row (default: all in one row).
    """
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise MotionloopError(f"{out}: the viewer is an HTML page; give a name ending in .html")
    names = [clip_title(m, i) for i, m in enumerate(clips)] if titles is None else list(titles)
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(' | '.join(map(str, names)))} - motionloop viewer</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<style>body{margin:12px;background:#f4f6f8}</style></head><body>\n"
        f"{viewer_fragment(clips, titles, metrics, camera, columns)}</body></html>\n"
    )
    try:
        write_text(out, page)
    except OSError as e:
        raise MotionloopError(f"{out}: cannot write the viewer page ({e.strerror or e})") from None
    return out
