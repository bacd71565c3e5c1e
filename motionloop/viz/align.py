"""Clips shown together: names, and one frame rate for all (videos and the viewer alike).

Clips of different fps are resampled to the first clip's fps (`Motion.resample`); a shorter
clip is not stretched but holds its last frame while the longer ones play on. Both are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from motionloop.motion import Motion

log = logging.getLogger(__name__)


def clip_title(motion: Motion, index: int) -> str:
    """A short name for a clip: the stem of its source file, else its source, else `clip N`."""
    if motion.source:
        stem = Path(motion.source).stem
        return stem or motion.source
    return f"clip {index + 1}"


def align(clips: Sequence[Motion], titles: Sequence[str]) -> list[Motion]:
    """The clips at the first clip's fps; logs what was resampled and which clips will be held."""
    fps = clips[0].fps
    out = []
    for m, name in zip(clips, titles):
        if abs(m.fps - fps) > 1e-9:
            log.info("%s: %g fps resampled to %g fps (the first clip's) to compare", name, m.fps, fps)
            m = m.resample(fps)
        out.append(m)
    n = max(m.num_frames for m in out)
    for m, name in zip(out, titles):
        if m.num_frames < n:
            log.info("%s: %d frames, the longest has %d: its last frame is held to the end", name, m.num_frames, n)
    return out
