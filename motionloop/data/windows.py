"""Fixed-length training windows and the seeded batch sampler that feeds the model.

Windows: a clip of `T >= length` frames gives the windows starting at 0, stride, 2 stride,
... that fit entirely (`(T - length) // stride + 1` of them; a tail shorter than a stride
is not used). Clips shorter than `length` are skipped, not padded: padding would teach the
model frozen poses that no real clip contains. `short_clips` lists them and
`make_windows` logs how many it skipped.

Sampler: epochs of shuffled windows; each drawn window is mirrored with probability
`p_mirror` (the on-the-fly augmentation), encoded with `motion_to_features` and optionally
normalised. Rotating the heading is not applied because the features live in the heading
frame and do not change under it (tests/data/test_augment.py checks this), so it would
only cost time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from motionloop.data.augment import mirror
from motionloop.data.features import FEATURE_DIM, LAYOUT, motion_to_features
from motionloop.data.normalize import Normalizer
from motionloop.errors import CheckpointError, ConfigError, MotionValidationError, UnknownNameError
from motionloop.motion import Motion

log = logging.getLogger(__name__)

NO_LABEL = -1  # label index of a window without a label


def _check_length_stride(length: int, stride: int) -> None:
    for name, value in (("length", length), ("stride", stride)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"windows: {name} must be an integer >= 1 (frames), got {value!r}")


def window_starts(num_frames: int, length: int, stride: int) -> list[int]:
    """First frames of the windows of a `num_frames` clip; empty if it is shorter than `length`."""
    _check_length_stride(length, stride)
    return list(range(0, num_frames - length + 1, stride))


def short_clips(motions: Sequence[Motion], length: int) -> list[int]:
    """Indices of the clips with fewer than `length` frames (the ones `make_windows` skips)."""
    return [i for i, m in enumerate(motions) if m.num_frames < length]


def make_windows(motions: Sequence[Motion], length: int, stride: int) -> list[Motion]:
    """Windows of `length` frames every `stride` frames from each clip, in clip order.

    Each window keeps its clip's label, fps and betas; its source is `"SOURCE[start:stop]"`.
    Clips shorter than `length` are skipped (logged, at info level, with the count: the
    bundled set has short clips by design, so this is expected, not a problem).
    """
    _check_length_stride(length, stride)
    out = []
    for m in motions:
        for s in window_starts(m.num_frames, length, stride):
            out.append(m.slice(s, s + length).replace(source=f"{m.source}[{s}:{s + length}]"))
    skipped = len(short_clips(motions, length))
    if skipped:
        log.info(
            "%d of %d clips are shorter than a %d-frame window and are not used as training windows",
            skipped,
            len(motions),
            length,
        )
    return out


def label_vocabulary(motions: Sequence[Motion]) -> tuple[str, ...]:
    """The sorted distinct labels of `motions` (unlabelled clips add nothing)."""
    return tuple(sorted({m.label for m in motions if m.label is not None}))


class Batch(NamedTuple):
    """One training batch: `features (B, T, FEATURE_DIM)` float32, `labels (B,)` int64 (-1: none)."""

    features: np.ndarray
    labels: np.ndarray


class WindowSampler:
    """Seeded, endless batches of augmented windows.

    Args:
        windows: equal-length clips at one fps (from `make_windows`).
        batch_size: windows per batch, B.
        seed: the whole stream (order and mirroring) is a function of it.
        labels: the label vocabulary (index = position); default `label_vocabulary(windows)`.
        normalizer: applied to the features if given.
        p_mirror: probability that a drawn window is mirrored.
        cache: keep the features of each (window, mirrored) pair once computed. Memory is at
            most `2 * len(windows) * T * FEATURE_DIM * 4` bytes; encoding costs ~10 ms per
            1000 frames, which would otherwise be paid on every draw.
    """

    def __init__(
        self,
        windows: Sequence[Motion],
        batch_size: int,
        seed: int = 0,
        labels: Sequence[str] | None = None,
        normalizer: Normalizer | None = None,
        p_mirror: float = 0.5,
        cache: bool = True,
    ):
        if len(windows) == 0:
            raise ConfigError("WindowSampler: no windows (are all clips shorter than the window length?)")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ConfigError(f"WindowSampler: batch_size must be an integer >= 1, got {batch_size!r}")
        if not 0.0 <= p_mirror <= 1.0:
            raise ConfigError(f"WindowSampler: p_mirror must be in [0, 1], got {p_mirror}")
        for w in windows:
            if w.num_frames != windows[0].num_frames or w.fps != windows[0].fps:
                raise MotionValidationError(
                    f"WindowSampler: window {w.source!r} has {w.num_frames} frames at {w.fps} fps, "
                    f"{windows[0].source!r} has {windows[0].num_frames} at {windows[0].fps}; all must match"
                )
        if normalizer is not None and normalizer.layout != LAYOUT:
            raise CheckpointError(
                f"WindowSampler: normalizer is for layout {normalizer.layout!r}, features are {LAYOUT!r}"
            )
        self.windows = list(windows)
        self.batch_size = int(batch_size)
        self.labels = tuple(label_vocabulary(windows) if labels is None else labels)
        self.normalizer = normalizer
        self.p_mirror = float(p_mirror)
        index = {name: i for i, name in enumerate(self.labels)}
        for w in windows:
            if w.label is not None and w.label not in index:
                raise UnknownNameError("label", w.label, self.labels)
        self.label_index = np.array([NO_LABEL if w.label is None else index[w.label] for w in windows], dtype=np.int64)
        self._rng = np.random.default_rng(seed)
        self._order: list[int] = []
        self._cache: dict[tuple[int, bool], np.ndarray] | None = {} if cache else None

    @property
    def length(self) -> int:
        """Frames per window, T."""
        return self.windows[0].num_frames

    @property
    def fps(self) -> float:
        return self.windows[0].fps

    @property
    def batches_per_epoch(self) -> int:
        return -(-len(self.windows) // self.batch_size)

    def _features(self, i: int, mirrored: bool) -> np.ndarray:
        key = (i, mirrored)
        if self._cache is not None and key in self._cache:
            return self._cache[key]
        w = self.windows[i]
        x = motion_to_features(mirror(w) if mirrored else w)  # (T, D)
        if self._cache is not None:
            self._cache[key] = x
        return x

    def next_batch(self) -> Batch:
        """The next `Batch`: windows in shuffled epochs, each mirrored with probability p_mirror."""
        while len(self._order) < self.batch_size:
            self._order.extend(self._rng.permutation(len(self.windows)).tolist())
        idx, self._order = self._order[: self.batch_size], self._order[self.batch_size :]
        flips = self._rng.random(self.batch_size) < self.p_mirror
        x = np.stack([self._features(i, bool(f)) for i, f in zip(idx, flips)])  # (B, T, D)
        if self.normalizer is not None:
            x = self.normalizer.normalize(x).astype(np.float32)
        assert x.shape == (self.batch_size, self.length, FEATURE_DIM)
        return Batch(features=x, labels=self.label_index[idx])

    def __iter__(self) -> Iterator[Batch]:
        while True:
            yield self.next_batch()
