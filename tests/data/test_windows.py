"""Windows: counts, shapes, skipped short clips; the seeded sampler and its augmentation."""

import logging

import numpy as np
import pytest
from clips import random_motion as _random_motion

from motionloop.data.augment import mirror
from motionloop.data.features import FEATURE_DIM, LAYOUT, motion_to_features
from motionloop.data.normalize import Normalizer
from motionloop.data.windows import (
    NO_LABEL,
    WindowSampler,
    label_vocabulary,
    make_windows,
    short_clips,
    window_starts,
)
from motionloop.errors import CheckpointError, ConfigError, MotionValidationError, UnknownNameError


def random_motion(rng, T, label=None, fps=20.0, source="clip"):
    return _random_motion(rng, T, fps, label=label, source=source, offset=False)


@pytest.mark.parametrize(
    "T, L, S, expected",
    [(100, 30, 10, [0, 10, 20, 30, 40, 50, 60, 70]), (30, 30, 5, [0]), (29, 30, 5, []), (35, 10, 20, [0, 20])],
)
def test_window_starts(T, L, S, expected):
    assert window_starts(T, L, S) == expected


@pytest.mark.parametrize("length, stride", [(0, 1), (10, 0), (2.5, 1), (10, -3)])
def test_bad_length_or_stride(length, stride):
    with pytest.raises(ConfigError, match="length|stride"):
        make_windows([], length, stride)


def test_make_windows_counts_shapes_and_content(caplog):
    rng = np.random.default_rng(0)
    spec = [(50, "walk"), (12, "run"), (33, None), (20, "jump")]
    clips = [random_motion(rng, T, label=lab, source=f"c{i}") for i, (T, lab) in enumerate(spec)]
    with caplog.at_level(logging.INFO, logger="motionloop.data.windows"):
        wins = make_windows(clips, length=20, stride=8)
    # 50 -> starts 0, 8, 16, 24 ; 12 -> skipped ; 33 -> 0, 8 ; 20 -> 0
    assert len(wins) == 4 + 0 + 2 + 1
    assert short_clips(clips, 20) == [1]
    assert "1 of 4 clips are shorter than a 20-frame window" in caplog.text
    assert all(w.num_frames == 20 and w.fps == 20.0 for w in wins)
    assert [w.label for w in wins] == ["walk"] * 4 + [None] * 2 + ["jump"]
    assert wins[2].source == "c0[16:36]"
    assert np.array_equal(wins[2].trans, clips[0].trans[16:36]) and np.array_equal(wins[2].poses, clips[0].poses[16:36])


def test_label_vocabulary_is_sorted_and_skips_none():
    rng = np.random.default_rng(1)
    clips = [random_motion(rng, 5, label=lab) for lab in ("walk", None, "jump", "walk")]
    assert label_vocabulary(clips) == ("jump", "walk")


def _windows(n=6, T=16, seed=2):
    rng = np.random.default_rng(seed)
    labels = ["walk", "jump", None]
    return [random_motion(rng, T, label=labels[i % 3], source=f"w{i}") for i in range(n)]


def test_sampler_batch_shapes_labels_and_epoch_coverage():
    wins = _windows()
    s = WindowSampler(wins, batch_size=3, seed=0, p_mirror=0.0)
    assert s.labels == ("jump", "walk") and s.length == 16 and s.fps == 20.0 and s.batches_per_epoch == 2
    ref = np.stack([motion_to_features(w) for w in wins])  # (6, T, D)
    seen = []
    for _ in range(2):  # one epoch
        b = s.next_batch()
        assert b.features.shape == (3, 16, FEATURE_DIM) and b.features.dtype == np.float32
        assert b.labels.shape == (3,) and b.labels.dtype == np.int64
        for x, lab in zip(b.features, b.labels):
            i = int(np.argmin(np.abs(ref - x).reshape(len(wins), -1).max(1)))
            assert np.array_equal(ref[i], x)
            expected = NO_LABEL if wins[i].label is None else s.labels.index(wins[i].label)
            assert lab == expected
            seen.append(i)
    assert sorted(seen) == list(range(len(wins)))


def test_sampler_is_seeded():
    wins = _windows()
    a, b, c = (WindowSampler(wins, batch_size=4, seed=sd) for sd in (7, 7, 8))
    ba, bb, bc = ([s.next_batch() for _ in range(5)] for s in (a, b, c))
    assert all(np.array_equal(x.features, y.features) and np.array_equal(x.labels, y.labels) for x, y in zip(ba, bb))
    assert not all(np.array_equal(x.features, y.features) for x, y in zip(ba, bc))


def test_sampler_mirrors_on_the_fly():
    wins = _windows(n=4)
    always = WindowSampler(wins, batch_size=4, seed=0, p_mirror=1.0)
    mirrored = np.stack([motion_to_features(mirror(w)) for w in wins])
    plain = np.stack([motion_to_features(w) for w in wins])
    for x in always.next_batch().features:
        assert np.any(np.all(mirrored == x, axis=(1, 2)))
        assert not np.any(np.all(plain == x, axis=(1, 2)))
    half = WindowSampler(wins, batch_size=4, seed=0, p_mirror=0.5)
    flips = [bool(np.any(np.all(mirrored == x, axis=(1, 2)))) for _ in range(100) for x in half.next_batch().features]
    assert 0.4 < np.mean(flips) < 0.6  # 400 draws, sd 0.025


def test_sampler_cache_does_not_change_the_stream_and_normalizer_applies():
    wins = _windows()
    norm = Normalizer.fit([motion_to_features(w) for w in wins])
    cached = WindowSampler(wins, batch_size=5, seed=3, normalizer=norm)
    fresh = WindowSampler(wins, batch_size=5, seed=3, normalizer=norm, cache=False)
    raw = WindowSampler(wins, batch_size=5, seed=3)
    for _ in range(4):
        x, y, r = cached.next_batch(), fresh.next_batch(), raw.next_batch()
        assert np.array_equal(x.features, y.features)
        assert x.features.dtype == np.float32
        assert np.allclose(x.features, norm.normalize(r.features), atol=1e-6)
    batches = iter(cached)
    assert next(batches).features.shape == (5, 16, FEATURE_DIM)


def test_sampler_errors():
    wins = _windows()
    with pytest.raises(ConfigError, match="no windows"):
        WindowSampler([], batch_size=2)
    with pytest.raises(ConfigError, match="batch_size"):
        WindowSampler(wins, batch_size=0)
    with pytest.raises(ConfigError, match="p_mirror"):
        WindowSampler(wins, batch_size=2, p_mirror=1.5)
    with pytest.raises(UnknownNameError, match="valid: run"):
        WindowSampler(wins, batch_size=2, labels=["run"])
    odd = wins + [random_motion(np.random.default_rng(0), 17, source="long")]
    with pytest.raises(MotionValidationError, match="'long' has 17 frames"):
        WindowSampler(odd, batch_size=2)
    slow = wins + [wins[0].replace(fps=30.0, source="fast")]
    with pytest.raises(MotionValidationError, match="'fast'.*30.0 fps"):
        WindowSampler(slow, batch_size=2)
    other = Normalizer(np.zeros(3), np.ones(3), layout="other-v0")
    with pytest.raises(CheckpointError, match=f"other-v0.*{LAYOUT}"):
        WindowSampler(wins, batch_size=2, normalizer=other)
