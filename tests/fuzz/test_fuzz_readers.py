"""Fuzz every reader: mutated copies of valid files give a one-line error naming the file, or load.

For each reader a valid file is built, then mutated (seeded): bytes truncated, bits flipped,
random bytes inserted or overwritten, and for structured formats fields made strings, NaN,
empty or of the wrong shape, a line dropped or a number blown up. Every mutant must either
read (the mutation was harmless) or raise a MotionloopError whose message is one line and
names the file; any other exception fails the test with the mutation that caused it. A
pickled object planted in a file must never run (it would create a marker file).

Every read also runs under two bounds: a watchdog (`HANG_S` seconds of wall time, SIGALRM: a
hang fails the test instead of stalling CI) and an allocation bound (`PEAK_BYTES` of Python and
numpy memory at any moment, measured by tracemalloc, which sees numpy's buffers but not
torch's). With MOTIONLOOP_FUZZ_TALLY=FILE the outcomes per reader (loaded, clear error) are
written there as JSON (benchmarks/bench_fuzz.py runs the suite that way).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import tracemalloc
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from clips import random_motion

from motionloop import skeleton as sk
from motionloop.errors import MotionloopError

MUTANTS = 24  # byte-level mutants per reader
HANG_S = 60  # a read that takes longer is a hang (the slowest mutant reads in well under 1 s)
PEAK_BYTES = 256 * 2**20  # the valid files are < 100 kB; no mutant may make a reader allocate more

TALLY: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))


def _write_tally() -> None:
    out = os.environ.get("MOTIONLOOP_FUZZ_TALLY")
    if out and TALLY:
        Path(out).write_text(json.dumps({k: dict(v) for k, v in sorted(TALLY.items())}, indent=1) + "\n")


atexit.register(_write_tally)


class _Planted:
    """Pickles as `func(*args)`: what a crafted file does to run code."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def byte_mutants(data: bytes, rng: np.random.Generator, count: int = MUTANTS) -> list[tuple[str, bytes]]:
    """(description, bytes) of truncations, bit flips, insertions and overwrites of `data`."""
    out = []
    for i in range(count):
        b = bytearray(data)
        kind = ("truncate", "flip", "insert", "overwrite")[i % 4]
        at = int(rng.integers(len(b)))
        if kind == "truncate":
            b = b[:at]
        elif kind == "flip":
            for _ in range(int(rng.integers(1, 9))):
                b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        elif kind == "insert":
            b[at:at] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        else:
            n = int(rng.integers(1, 64))
            b[at : at + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        out.append((f"{kind} at {at}", bytes(b)))
    return out


def npz_field_mutants(arrays: dict[str, np.ndarray], rng: np.random.Generator) -> list[tuple[str, dict]]:
    """(description, arrays) with one field made a string, NaN, empty, the wrong shape, or dropped."""
    out = []
    for key in sorted(arrays):
        a = np.asarray(arrays[key])
        variants = {
            "string": np.str_("abc"),
            "empty": np.zeros((0,) + a.shape[1:], a.dtype) if a.ndim else np.zeros(0),
            "wrong shape": np.zeros((3, 5, 7)),
            "dropped": None,
        }
        if a.dtype.kind == "f":
            b = a.astype(np.float64).copy()
            b.reshape(-1)[int(rng.integers(max(b.size, 1)))] = np.nan if b.size else 0
            variants["nan"] = b
            variants["huge"] = a.astype(np.float64) * 1e30
        for what, value in variants.items():
            changed = dict(arrays)
            if value is None:
                del changed[key]
            else:
                changed[key] = value
            out.append((f"{key}: {what}", changed))
    return out


def text_mutants(text: str, rng: np.random.Generator, count: int = 12) -> list[tuple[str, str]]:
    """(description, text) with a line dropped or duplicated, or a number made huge, NaN or a word."""
    lines = text.splitlines(keepends=True)
    out = []
    for i in range(count):
        at = int(rng.integers(len(lines)))
        m = list(lines)
        kind = ("drop line", "duplicate line", "huge number", "nan", "word")[i % 5]
        if kind == "drop line":
            del m[at]
        elif kind == "duplicate line":
            m.insert(at, m[at])
        else:
            words = m[at].split(" ")
            k = int(rng.integers(len(words)))
            words[k] = {"huge number": "1e308", "nan": "nan", "word": "abc"}[kind] + (
                "\n" if words[k].endswith("\n") else ""
            )
            m[at] = " ".join(words)
        out.append((f"{kind} at line {at + 1}", "".join(m)))
    return out


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


def bounded(read, path: Path) -> int:
    """Run `read(path)` under the watchdog; return the peak of traced memory in bytes (if it
    returns; an exception propagates, the peak is then in `bounded.peak`)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_S)
    tracemalloc.start()
    try:
        read(path)
    finally:
        bounded.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return bounded.peak


def assert_clean(read, path: Path, what: str) -> None:
    """`read(path)` loads, or raises a one-line MotionloopError naming the file; within the bounds."""
    reader = what.split(" ")[0]
    try:
        bounded(read, path)
        outcome = "loaded"
    except MotionloopError as e:
        msg = str(e).strip()
        assert "\n" not in msg, f"{what}: a multi-line message: {msg!r}"
        assert path.name in msg, f"{what}: the message does not name {path.name}: {msg!r}"
        outcome = "clear error"
    except _Hang:
        pytest.fail(f"{what}: no answer within {HANG_S} s")
    except Exception as e:
        pytest.fail(f"{what}: {type(e).__name__} escaped: {e}")
    peak = bounded.peak
    assert peak <= PEAK_BYTES, f"{what}: allocated {peak / 2**20:.0f} MiB (bound {PEAK_BYTES / 2**20:.0f} MiB)"
    TALLY[reader][outcome] += 1


def check_all(read, mutants, path_of, label: str) -> None:
    """Write each `(what, content)` mutant (bytes or str) to `path_of(i)` and `assert_clean` it."""
    for i, (what, content) in enumerate(mutants):
        path = path_of(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        assert_clean(read, path, f"{label} {what}")


# ---------------------------------------------------------------------------------- valid files
def clip_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    m = random_motion(np.random.default_rng(seed), T=30)
    return {
        "trans": m.trans,
        "poses": m.poses.reshape(len(m.trans), -1),
        "betas": m.betas,
        "mocap_framerate": np.float64(20.0),
        "label": np.str_("walk"),
        "source": np.str_("x"),
        "motionloop_format": np.int64(2),
    }


def amass_arrays(seed: int = 1) -> dict[str, np.ndarray]:
    m = random_motion(np.random.default_rng(seed), T=60, offset=False)
    poses = np.concatenate([m.poses.reshape(60, -1)[:, :66], np.zeros((60, 90))], axis=1)
    return {
        "trans": m.trans - sk.SMPL_PELVIS_REST,
        "poses": poses,
        "betas": np.zeros(16),
        "gender": np.str_("neutral"),
        "mocap_framerate": np.float64(60.0),
    }


def read_clip(path: Path):
    from motionloop.motion import Motion

    return Motion.load(path)


def read_import(path: Path):
    from motionloop.data.importers import import_file

    return import_file(path)


# ---------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("kind", ["clip", "amass"])
def test_npz_clips(tmp_path, kind):
    rng = np.random.default_rng(0)
    arrays = clip_arrays() if kind == "clip" else amass_arrays()
    read = read_clip if kind == "clip" else read_import
    valid = tmp_path / "valid.npz"
    np.savez(valid, **arrays)
    read(valid)  # the unmutated file reads
    for i, (what, changed) in enumerate(npz_field_mutants(arrays, rng)):
        path = tmp_path / f"m{i}.npz"
        np.savez(path, **changed)
        assert_clean(read, path, f"{kind} {what}")
    check_all(read, byte_mutants(valid.read_bytes(), rng), lambda i: tmp_path / f"b{i}.npz", kind)


def test_npz_with_a_planted_object_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    arrays = clip_arrays()
    planted = np.empty(1, dtype=object)
    planted[0] = _Planted(os.system, f"touch {marker}")
    for key in ("poses", "betas", "label"):
        path = tmp_path / f"planted_{key}.npz"
        np.savez(path, **{**arrays, key: planted})
        assert_clean(read_clip, path, f"planted object in {key}")
        assert_clean(read_import, path, f"planted object in {key} (import)")
    assert not marker.exists()


def test_bvh(tmp_path):
    from motionloop.export.bvh_export import write_bvh

    rng = np.random.default_rng(1)
    valid = write_bvh(random_motion(np.random.default_rng(2), T=20), tmp_path / "valid.bvh")
    read_import(valid)
    check_all(read_import, text_mutants(valid.read_text(), rng, 30), lambda i: tmp_path / f"t{i}.bvh", "bvh")
    check_all(read_import, byte_mutants(valid.read_bytes(), rng), lambda i: tmp_path / f"b{i}.bvh", "bvh")


def test_deepmimic(tmp_path):
    rng = np.random.default_rng(3)
    ident = [1.0, 0.0, 0.0, 0.0]
    frame = [
        1 / 30,
        0.0,
        0.88,
        0.0,
        *ident,
        *ident,
        *ident,
        *ident,
        0.0,
        *ident,
        *ident,
        0.0,
        *ident,
        0.0,
        *ident,
        *ident,
        0.0,
    ]
    doc = {"Loop": "wrap", "Frames": [list(frame) for _ in range(10)]}
    valid = tmp_path / "valid.txt"
    valid.write_text(json.dumps(doc, indent=0))
    read_import(valid)
    variants = [
        ("frames not a list", {**doc, "Frames": 3}),
        ("short frame", {**doc, "Frames": [frame[:10]] * 10}),
        ("string in a frame", {**doc, "Frames": [frame[:5] + ["x"] + frame[6:]] * 10}),
        ("no frames", {**doc, "Frames": []}),
        ("not an object", [1, 2]),
        ("nan", {**doc, "Frames": [frame[:5] + [float("nan")] + frame[6:]] * 10}),
    ]
    check_all(read_import, [(w, json.dumps(d)) for w, d in variants], lambda i: tmp_path / f"v{i}.txt", "deepmimic")
    check_all(read_import, text_mutants(valid.read_text(), rng, 20), lambda i: tmp_path / f"t{i}.txt", "deepmimic")
    check_all(read_import, byte_mutants(valid.read_bytes(), rng), lambda i: tmp_path / f"b{i}.txt", "deepmimic")


def test_humanml3d(tmp_path):
    from motionloop.data import humanml3d

    rng = np.random.default_rng(4)
    m = random_motion(np.random.default_rng(5), T=30, offset=False)
    joints = (m.joints()[:, : humanml3d.NUM_JOINTS] @ humanml3d.Y_TO_Z).astype(np.float32)
    valid = tmp_path / "000001.npy"
    np.save(valid, joints)
    variants = [
        ("nan", np.where(rng.random(joints.shape) < 0.01, np.nan, joints)),
        ("2-D", joints[:, 0]),
        ("one frame", joints[:1]),
        ("strings", np.array(["a"] * 10)),
        ("huge", joints * 1e30),
        ("empty", joints[:0]),
    ]
    for i, (what, a) in enumerate(variants):
        path = tmp_path / f"{i:06d}.npy"
        np.save(path, a)
        assert_clean(read_import, path, f"humanml3d {what}")
    check_all(read_import, byte_mutants(valid.read_bytes(), rng), lambda i: tmp_path / f"b{i:05d}.npy", "humanml3d")
    planted = tmp_path / "p00001.npy"
    with open(planted, "wb") as f:
        np.save(f, np.array([_Planted(os.system, f"touch {tmp_path / 'ran'}")], dtype=object), allow_pickle=True)
    assert_clean(read_import, planted, "humanml3d planted object")
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("which", ["checkpoint", "evaluator"])
def test_weights(tmp_path, which):
    from motionloop.eval.evaluator import Evaluator
    from motionloop.model.checkpoint import load_checkpoint, save_checkpoint
    from motionloop.resources import BASE_MODEL

    rng = np.random.default_rng(6)
    if which == "checkpoint":
        valid = save_checkpoint(load_checkpoint(BASE_MODEL), tmp_path / "valid.pt")  # with its checksum
        read = load_checkpoint
    else:
        valid = Evaluator.load().save(tmp_path / "valid.pt")
        read = Evaluator.load
    check_all(read, byte_mutants(valid.read_bytes(), rng, 12), lambda i: tmp_path / f"b{i}.pt", which)
    # a torch file whose pickle would call os.system: weights_only refuses it
    import torch

    marker = tmp_path / "ran"
    torch.save({"format": "x", "evil": _Planted(os.system, f"touch {marker}")}, tmp_path / "planted.pt")
    assert_clean(read, tmp_path / "planted.pt", f"{which} planted object")
    assert not marker.exists()


def test_toml_configs(tmp_path):
    from motionloop.loop.configio import load_config

    rng = np.random.default_rng(7)
    valid = tmp_path / "valid.toml"
    valid.write_text(
        'name = "t"\ntask = "gaussian"\ngenerations = 3\nn = 10\nseeds = [0, 1]\nlambdas = [1.0]\n\n'
        '[[arms]]\nname = "replace"\nworkflow = "replace"\n\n[[arms]]\nname = "acc"\nworkflow = "accumulate"\n'
        'correction = "ideal"\ngamma = 1.0\n\n[gaussian]\ndim = 2\n'
    )
    load_config(str(valid))
    read = lambda p: load_config(str(p))  # noqa: E731
    check_all(read, text_mutants(valid.read_text(), rng, 30), lambda i: tmp_path / f"t{i}.toml", "toml")
    check_all(read, byte_mutants(valid.read_bytes(), rng), lambda i: tmp_path / f"b{i}.toml", "toml")


def test_metrics_jsonl(tmp_path):
    from motionloop.io import read_jsonl

    rng = np.random.default_rng(8)
    rows = [{"arm": "a", "lambda": 1.0, "seed": 0, "generation": g, "w2": 0.1 * g} for g in range(6)]
    valid = tmp_path / "metrics.jsonl"
    valid.write_text("".join(json.dumps(r) + "\n" for r in rows))
    check_all(read_jsonl, byte_mutants(valid.read_bytes(), rng), lambda i: tmp_path / f"m{i}.jsonl", "jsonl")


def test_smpl_model_files(tmp_path):
    pytest.importorskip("smplx", reason="the SMPL reader builds the model with smplx (dev extra)")
    from viz.test_viz_smpl import synthetic_smpl

    from motionloop.viz.smpl import load_body_model

    rng = np.random.default_rng(9)
    arrays = synthetic_smpl()
    d = tmp_path / "valid"
    d.mkdir()
    np.savez(d / "SMPL_NEUTRAL.npz", **arrays)
    load_body_model(d / "SMPL_NEUTRAL.npz")
    for i, (what, changed) in enumerate(npz_field_mutants(arrays, rng)):
        path = tmp_path / f"m{i}" / "SMPL_NEUTRAL.npz"
        path.parent.mkdir()
        np.savez(path, **changed)
        assert_clean(load_body_model, path, f"smpl {what}")
    check_all(
        load_body_model,
        byte_mutants((d / "SMPL_NEUTRAL.npz").read_bytes(), rng, 12),
        lambda i: tmp_path / f"b{i}" / "SMPL_NEUTRAL.npz",
        "smpl",
    )


def test_zip_bomb_like_npz_is_not_expanded(tmp_path):
    """An npz whose member claims a huge array is refused by the clip reader, not allocated."""
    path = tmp_path / "bomb.npz"
    big = np.lib.format.header_data_from_array_1_0(np.zeros((1, 72)))
    big["shape"] = (10**12, 72)
    with zipfile.ZipFile(path, "w") as z:
        with z.open("poses.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, big)
        with z.open("trans.npy", "w") as f:
            np.lib.format.write_array(f, np.zeros((2, 3)))
    assert_clean(read_clip, path, "huge declared shape")


def test_a_planted_torch_object_is_refused_by_name(tmp_path):
    import torch

    from motionloop.errors import CheckpointError
    from motionloop.model.checkpoint import load_checkpoint

    torch.save({"format": "x", "evil": _Planted(os.system, "true")}, tmp_path / "planted.pt")
    with pytest.raises(CheckpointError, match=r"planted.pt: refused: the file holds Python objects .*could run code"):
        load_checkpoint(tmp_path / "planted.pt")


@pytest.mark.parametrize("which", ["checkpoint", "evaluator"])
def test_the_shipped_weights_carry_their_checksum(tmp_path, which):
    """The base model and the evaluator in the package are checked like any file written today:
    one weight changed by 1e-3 is refused."""
    import torch

    from motionloop.eval.evaluator import Evaluator
    from motionloop.io import payload_digest
    from motionloop.model.checkpoint import load_checkpoint
    from motionloop.resources import BASE_MODEL, EVALUATOR

    path, key, read = {
        "checkpoint": (BASE_MODEL, "model", load_checkpoint),
        "evaluator": (EVALUATOR, "state_dict", Evaluator.load),
    }[which]
    d = torch.load(path, map_location="cpu", weights_only=True)
    stored = d.pop("sha256")
    assert stored == payload_digest(d)
    read(path)
    name = sorted(d[key])[0]
    d[key][name] = d[key][name] + 1e-3
    d["sha256"] = stored
    torch.save(d, tmp_path / "edited.pt")
    with pytest.raises(MotionloopError, match="edited.pt: contents do not match their SHA-256 checksum"):
        read(tmp_path / "edited.pt")
