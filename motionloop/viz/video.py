"""Writing pictures by file suffix: `.mp4` (h264), `.gif` (looping), `.png` (one picture).

Checks come first (`check_output`), so a bad path fails before any rendering. Writes are
atomic (io.atomic_path): an interrupted render leaves no half-written video behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from motionloop.errors import MotionloopError, UnknownNameError
from motionloop.io import atomic_path

FORMATS = (".mp4", ".gif", ".png")
MP4_QUALITY = 7  # imageio's 0-10 scale (libx264 CRF ~ 20): sharp lines, small files


class OutputError(MotionloopError):
    """An output file cannot be written where asked."""


def check_output(out: str | os.PathLike) -> tuple[Path, str]:
    """The output path and its format (`".mp4"`, `".gif"` or `".png"`), or a clear error."""
    out = Path(out)
    fmt = out.suffix.lower()
    if fmt not in FORMATS:
        raise UnknownNameError("output format", fmt or f"(no suffix in {out.name!r})", FORMATS)
    if out.is_dir():
        raise OutputError(f"{out}: is a directory; give a file name ending in {fmt}")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create directory {parent} ({e.strerror or e})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: directory {parent} is not writable")
    return out, fmt


def write_png(picture: np.ndarray, out: Path) -> Path:
    """Write one picture `(H, W, 3)` uint8 as PNG."""
    with atomic_path(out) as tmp:
        Image.fromarray(picture).save(tmp, format="PNG")
    return out


def write_video(frames: Iterable[np.ndarray], out: Path, fps: float) -> Path:
    """Write frames `(H, W, 3)` uint8 (even sizes) as `.mp4` (h264, yuv420p) or `.gif` at `fps`."""
    fmt = out.suffix.lower()
    with atomic_path(out) as tmp:
        if fmt == ".mp4":
            import imageio.v2 as imageio

            writer = imageio.get_writer(
                tmp,
                format="FFMPEG",
                mode="I",
                fps=float(fps),
                codec="libx264",
                pixelformat="yuv420p",
                quality=MP4_QUALITY,
                macro_block_size=2,
            )
            try:
                for f in frames:
                    writer.append_data(f)
            finally:
                writer.close()
        elif fmt == ".gif":
            it: Iterator[np.ndarray] = iter(frames)
            first = Image.fromarray(next(it))
            # GIF delays are whole centiseconds
            first.save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=(Image.fromarray(f) for f in it),
                duration=max(20, round(100 / fps) * 10),
                loop=0,
            )
        else:
            raise UnknownNameError("video format", fmt, (".mp4", ".gif"))
    return out
