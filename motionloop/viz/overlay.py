"""Text drawn on the pictures (PIL) and panels put side by side.

Each panel carries its title (the clip's name), its label and its physics metrics at the top,
and the frame counter at the bottom; a clip padded to the length of a longer one says so.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

METRIC_SHORT = (("penetrate_mm", "pen"), ("float_mm", "float"), ("skate_mm", "skate"), ("phys_err_mm", "err"))
TEXT = (20, 22, 26)
SHADE = (255, 255, 255, 170)  # translucent band behind text so it reads on floor and sky


@functools.lru_cache(maxsize=8)
def font(size: int) -> ImageFont.ImageFont:
    """Pillow's bundled FreeType font at `size` px (no system fonts needed)."""
    return ImageFont.load_default(size=size)


def metrics_line(metrics: dict[str, float] | None) -> str:
    """`pen 1.2  float 0.0  skate 8.4  err 9.6 mm` (keys that are missing are left out)."""
    if not metrics:
        return ""
    parts = [f"{short} {metrics[key]:.1f}" for key, short in METRIC_SHORT if key in metrics]
    return "  ".join(parts) + " mm" if parts else ""


def _band(img: Image.Image, lines: list[str], top: bool, size: int) -> None:
    lines = [s for s in lines if s]
    if not lines:
        return
    f = font(size)
    line_h = int(size * 1.3)
    h = line_h * len(lines) + 6
    y0 = 0 if top else img.height - h
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).rectangle((0, y0, img.width, y0 + h), fill=SHADE)
    img.alpha_composite(overlay)
    draw = ImageDraw.Draw(img)
    for i, s in enumerate(lines):
        draw.text((8, y0 + 3 + i * line_h), s, font=f, fill=TEXT)


def annotate(
    panel: np.ndarray,
    title: str,
    label: str | None,
    metrics: dict[str, float] | None,
    frame: int,
    num_frames: int,
    fps: float,
    ended_at: int | None = None,
) -> np.ndarray:
    """The panel `(H, W, 3)` uint8 with its title band and frame counter drawn on.

    `frame` is 0-based; `ended_at` (0-based) marks a clip shown past its end (its last frame held).
    """
    img = Image.fromarray(panel).convert("RGBA")
    size = max(11, img.height // 32)
    head = [title, (f"label: {label}" if label else "") + ("   " if label else "") + metrics_line(metrics)]
    counter = f"frame {frame + 1}/{num_frames}   {frame / fps:.2f} s   {fps:g} fps"
    if ended_at is not None and frame > ended_at:
        counter += f"   (clip ended at frame {ended_at + 1}: last frame held)"
    _band(img, head, top=True, size=size)
    _band(img, [counter], top=False, size=size)
    return np.asarray(img.convert("RGB"))


def side_by_side(panels: list[np.ndarray]) -> np.ndarray:
    """Panels `(H, W_i, 3)` joined left to right, padded to even width and height (h264 needs them)."""
    out = np.concatenate(panels, axis=1)
    pad_h, pad_w = out.shape[0] % 2, out.shape[1] % 2
    if pad_h or pad_w:
        out = np.pad(out, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return out


def contact_sheet(rows: list[np.ndarray]) -> np.ndarray:
    """Pictures `(H, W, 3)` of equal size stacked top to bottom with a 4 px white gap."""
    gap = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for r in rows:
        parts += [r, gap]
    return np.concatenate(parts[:-1], axis=0)
