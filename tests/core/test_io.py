"""Property tests of motionloop/io.py: atomic writes under failure, JSONL records (torn and
corrupt lines), numpy read errors, plain torch loading and payload digests."""

import io
import json
import os
import pickle
import re
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from motionloop.errors import CheckpointError, FormatError
from motionloop.io import (
    NUMPY_READ_ERRORS,
    append_jsonl,
    atomic_path,
    numpy_error_text,
    payload_digest,
    read_jsonl,
    torch_load_plain,
    write_text,
)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


class Boom(Exception):
    pass


# ------------------------------------------------------------------------------------ atomic
def test_atomic_path_yields_a_hidden_sibling_with_the_real_suffix_and_renames_it(tmp_path):
    path = tmp_path / "new" / "dir" / "clip.npz"  # parents are created
    with atomic_path(path) as tmp:
        assert tmp.parent == path.parent and tmp.name.startswith(".clip.") and tmp.name.endswith(".npz")
        assert tmp != path and tmp.exists() and not path.exists()
        np.savez(tmp, a=np.arange(3))  # numpy picks the format from the suffix and does not add one
    assert listing(path.parent) == ["clip.npz"]
    with np.load(path) as f:
        np.testing.assert_array_equal(f["a"], np.arange(3))


@pytest.mark.parametrize("interruption", [Boom("disk full"), KeyboardInterrupt(), SystemExit(3)], ids=repr)
def test_atomic_path_failure_leaves_the_old_content_and_no_temporary_file(tmp_path, interruption):
    path = tmp_path / "report.json"
    path.write_text("old")
    with pytest.raises(type(interruption)):
        with atomic_path(path) as tmp:
            tmp.write_text("half of the new cont")
            raise interruption
    assert path.read_text() == "old"
    assert listing(tmp_path) == ["report.json"]


def test_atomic_path_failure_without_an_old_file_leaves_nothing(tmp_path):
    with pytest.raises(Boom):
        with atomic_path(tmp_path / "x.txt") as tmp:
            tmp.write_text("partial")
            raise Boom
    assert listing(tmp_path) == []


def test_atomic_path_body_that_deletes_its_temporary_file_still_cleans_up(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "x.txt") as tmp:
            tmp.unlink()  # os.replace then fails
    assert listing(tmp_path) == []


def test_a_failing_rename_leaves_the_old_content(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def broken_replace(src, dst):
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated crash"):
        write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old" and listing(tmp_path) == ["a.txt"]


def test_atomic_result_has_plain_open_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        write_text(tmp_path / "p.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "p.txt").stat().st_mode) == 0o640  # 0o666 & ~umask, not mkstemp's 0o600


def test_write_text_writes_and_replaces_whole_files(tmp_path):
    path = tmp_path / "t.txt"
    write_text(path, "first, longer content\n")
    write_text(str(path), "ünïcode ✓")
    assert path.read_text() == "ünïcode ✓"
    assert listing(tmp_path) == ["t.txt"]


def test_write_text_interrupted_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "t.txt"
    path.write_text("old")
    real = Path.write_text

    def torn_write(self, text, *args, **kwargs):
        real(self, text[:3], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", torn_write)
    with pytest.raises(KeyboardInterrupt):
        write_text(path, "new content")
    monkeypatch.undo()
    assert path.read_text() == "old" and listing(tmp_path) == ["t.txt"]


# ------------------------------------------------------------------------------------- JSONL
RECORDS = [
    {"gen": 0, "fid": 1.5, "name": "ünï ✓", "nested": {"b": [1, 2.25, None, True]}},
    {},
    {"z": 1, "a": -1e-300, "text": 'line\nbreak and "quotes"'},
]


def test_append_and_read_jsonl_round_trip(tmp_path):
    path = tmp_path / "m.jsonl"
    for r in RECORDS:
        append_jsonl(path, r)
    assert read_jsonl(path) == RECORDS
    lines = path.read_bytes().split(b"\n")
    assert len(lines) == len(RECORDS) + 1 and lines[-1] == b""  # one line per record, newline-terminated
    assert lines[2].startswith(b'{"a": ')  # keys sorted
    assert read_jsonl(str(path)) == RECORDS


def test_read_jsonl_of_an_empty_file(tmp_path):
    (tmp_path / "e.jsonl").write_bytes(b"")
    assert read_jsonl(tmp_path / "e.jsonl") == []


@pytest.mark.parametrize(
    "bad_line, message",
    [
        (b'{"a": 1,', r"line 2 is not JSON \(Expecting property name enclosed in double quotes\); repair or delete"),
        (b"", r"line 2 is not JSON \(Expecting value\)"),  # a blank line
        (b"[1, 2]", r"line 2 is not a JSON object"),
        (b"3.5", r"line 2 is not a JSON object"),
        (b'{"a": "\xff\xfe"}', r"line 2 is not UTF-8 text; repair or delete that line"),
    ],
    ids=["truncated", "blank", "list", "number", "latin1"],
)
def test_read_jsonl_names_the_file_and_the_corrupt_line(tmp_path, bad_line, message):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"a": 1}\n' + bad_line + b'\n{"b": 2}\n')
    with pytest.raises(FormatError) as e:
        read_jsonl(path)
    assert str(e.value).startswith(f"{path}: ")
    assert re.search(message, str(e.value)), str(e.value)


@pytest.mark.parametrize("torn", [b'{"b": 2', b"{", b'{"b": 2}'], ids=["half", "brace", "complete-json-no-newline"])
def test_read_jsonl_ignores_a_torn_last_line(tmp_path, torn):
    """Documented: a last line without its newline is a crash inside a write and is skipped,
    even when it happens to parse (a hand-written file without a final newline loses its last record)."""
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"a": 1}\n' + torn)
    assert read_jsonl(path) == [{"a": 1}]


def test_appending_after_a_torn_line_glues_the_record_onto_it_and_the_read_names_that_line(tmp_path):
    """append_jsonl does not repair a torn tail (rundir._cut_torn_line does, before resuming):
    the glued line is reported, not silently dropped."""
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": ')
    append_jsonl(path, {"c": 3})
    assert path.read_bytes() == b'{"a": 1}\n{"b": {"c": 3}\n'
    with pytest.raises(FormatError, match=r"line 2 is not JSON"):
        read_jsonl(path)


def test_append_jsonl_rejects_what_json_cannot_write(tmp_path):
    path = tmp_path / "m.jsonl"
    with pytest.raises(TypeError):
        append_jsonl(path, {"a": np.zeros(2)})
    assert not path.exists() or path.read_bytes() == b""  # nothing half written


# ------------------------------------------------------------------------------ numpy errors
def test_numpy_error_text_is_one_line_and_never_advises_pickle():
    assert numpy_error_text(ValueError("bad header\nsecond line")) == "ValueError: bad header"
    assert numpy_error_text(EOFError()) == "EOFError: "
    long = numpy_error_text(OSError("x" * 500))
    assert long == "OSError: " + "x" * 200
    for e in (
        ValueError("Object arrays cannot be loaded when allow_pickle=False"),
        ValueError("Cannot load file containing pickled data when allow_pickle=False"),
        OSError("Failed to interpret file as a PICKLE"),
    ):
        text = numpy_error_text(e)
        assert text == "not an array file (it would need pickle, which is never used to read data)"
        assert "allow_pickle" not in text


def _npz_bytes() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, trans=np.zeros((3, 3)), poses=np.ones((3, 72)), label=np.str_("walk"))
    return buf.getvalue()


def _npy_bytes() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.arange(20.0).reshape(4, 5))
    return buf.getvalue()


def _read_all(path: Path) -> None:
    with np.load(path, allow_pickle=False) as f:
        if isinstance(f, np.lib.npyio.NpzFile):
            _ = {k: f[k] for k in f.files}


def test_numpy_read_errors_cover_truncated_and_bit_flipped_files(tmp_path):
    """Every way numpy fails on a damaged .npy / .npz is in NUMPY_READ_ERRORS (seeded mutations)."""
    rng = np.random.default_rng(0)
    seen = set()
    for kind, blob in [("npz", _npz_bytes()), ("npy", _npy_bytes())]:
        variants = [blob[:n] for n in sorted(set(rng.integers(0, len(blob), 40).tolist()) | {0, 1, 6, 10})]
        for _ in range(120):
            b = bytearray(blob)
            for i in rng.integers(0, len(b), rng.integers(1, 4)):
                b[i] ^= 1 << int(rng.integers(0, 8))
            variants.append(bytes(b))
        for i, data in enumerate(variants):
            path = tmp_path / f"{kind}_{i}.{kind}"
            path.write_bytes(data)
            try:
                _read_all(path)
            except NUMPY_READ_ERRORS as e:
                seen.add(type(e).__name__)
                assert "\n" not in numpy_error_text(e)
            # any other exception type fails the test with its traceback
    # the mutations are seeded: these failure kinds are all exercised
    assert {"BadZipFile", "EOFError", "ValueError", "SyntaxError"} <= seen, seen


def test_numpy_pickle_refusal_is_reported_without_pickle_advice(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(NUMPY_READ_ERRORS) as e:
        np.load(tmp_path / "obj.npy", allow_pickle=False)
    assert numpy_error_text(e.value).startswith("not an array file")


# ------------------------------------------------------------------------------------- torch
class LoadError(Exception):
    pass


def test_torch_load_plain_reads_tensors_and_plain_containers(tmp_path):
    payload = {"w": torch.arange(6.0).reshape(2, 3), "n": 3, "x": 0.5, "s": "text", "l": [1, (2, None)], "b": True}
    torch.save(payload, tmp_path / "ok.pt")
    back = torch_load_plain(tmp_path / "ok.pt", LoadError, "checkpoint")
    assert set(back) == set(payload)
    assert torch.equal(back["w"], payload["w"])
    assert {k: back[k] for k in ("n", "x", "s", "l", "b")} == {k: payload[k] for k in ("n", "x", "s", "l", "b")}


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch, on the bare pickle
@pytest.mark.parametrize(
    "damage", ["truncated", "text", "empty", "zip-without-data", "missing", "raw-pickle", "pickle-garbage"]
)
@pytest.mark.parametrize("error", [LoadError, CheckpointError])
def test_torch_load_plain_raises_the_given_error_naming_the_file(tmp_path, damage, error):
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(100)}, good)
    path = tmp_path / "bad.pt"
    blob = good.read_bytes()
    if damage == "truncated":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "text":
        path.write_text("hello\n")
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "raw-pickle":  # not torch's format: a bare protocol-4 pickle
        path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=4))
    elif damage == "pickle-garbage":
        path.write_bytes(b"\x80\x02" + b"garbage" * 3)
    elif damage == "zip-without-data":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/readme.txt", "no data.pkl here")
    with pytest.raises(error) as e:
        torch_load_plain(path, error, "weights file")
    assert type(e.value) is error
    msg = str(e.value)
    assert msg.startswith(f"{path}: corrupt or not a weights file"), msg
    assert "\n" not in msg and len(msg) < len(str(path)) + 300


@pytest.mark.parametrize(
    "obj", [Path("/etc/passwd"), np.zeros(3), LoadError("x")], ids=["path", "numpy-array", "exception-instance"]
)
def test_torch_load_plain_refuses_python_objects(tmp_path, obj):
    torch.save({"w": torch.ones(2), "extra": obj}, tmp_path / "obj.pt")
    with pytest.raises(LoadError) as e:
        torch_load_plain(tmp_path / "obj.pt", LoadError, "checkpoint")
    assert str(e.value).startswith(f"{tmp_path / 'obj.pt'}: refused: the file holds Python objects")
    assert str(e.value).endswith("not a checkpoint")


# ------------------------------------------------------------------------------------ digest
def _payload() -> dict:
    g = torch.Generator().manual_seed(0)
    return {
        "model": {"w": torch.randn(3, 4, generator=g), "b": torch.zeros(4, dtype=torch.float64)},
        "step": 7,
        "lr": 1e-3,
        "labels": ["walk", "run"],
        "empty": torch.empty(0, 3),
        "ints": torch.arange(5, dtype=torch.int32),
        "flag": None,
    }


def test_payload_digest_is_a_stable_sha256():
    d = payload_digest(_payload())
    assert len(d) == 64 and int(d, 16) >= 0
    assert payload_digest(_payload()) == d  # same content, new objects
    assert payload_digest(_payload()) == payload_digest(_payload())


def test_payload_digest_survives_a_torch_save_load_round_trip(tmp_path):
    torch.save(_payload(), tmp_path / "p.pt")
    assert payload_digest(torch_load_plain(tmp_path / "p.pt", LoadError, "x")) == payload_digest(_payload())


def test_payload_digest_ignores_dict_order_and_memory_layout():
    p = _payload()
    reordered = dict(reversed(list(p.items())))
    assert payload_digest(reordered) == payload_digest(p)
    t = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    assert payload_digest({"w": t.t()}) == payload_digest({"w": t.t().contiguous()})


def test_payload_digest_changes_with_every_tensor_byte():
    base = _payload()
    ref = payload_digest(base)
    for key in ("w", "b"):
        flat = base["model"][key].reshape(-1).view(torch.uint8)
        for i in range(flat.numel()):
            p = _payload()
            bytes_ = p["model"][key].reshape(-1).view(torch.uint8)
            bytes_[i] ^= 1
            assert payload_digest(p) != ref, (key, i)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(step=8),
        lambda p: p.update(lr=1e-3 + 1e-18),
        lambda p: p.update(flag=False),
        lambda p: p["labels"].append("jump"),
        lambda p: p["labels"].__setitem__(0, "walK"),
        lambda p: p.__setitem__("Step", p.pop("step")),
        lambda p: p["model"].__setitem__("w2", p["model"].pop("w")),
        lambda p: p.update(extra=0),
        lambda p: p["model"].__setitem__("w", p["model"]["w"].reshape(4, 3)),  # same bytes, other shape
        lambda p: p["model"].__setitem__("b", p["model"]["b"].view(torch.int64)),  # same bytes, other dtype
        lambda p: p.update(step=7.0),  # 7 and 7.0 are different payloads
        lambda p: p.update(empty=torch.empty(0, 4)),
    ],
    ids=[
        "int",
        "float-ulp",
        "none-vs-false",
        "list-item",
        "string",
        "key",
        "nested-key",
        "new-key",
        "shape",
        "dtype",
        "int-vs-float",
        "empty-shape",
    ],
)
def test_payload_digest_changes_with_any_key_value_shape_or_dtype(mutate):
    p = _payload()
    mutate(p)
    assert payload_digest(p) != payload_digest(_payload())


@pytest.mark.parametrize("change", ["middle-of-big-array", "1e-12"])
def test_payload_digest_changes_with_every_numpy_array_byte(change):
    a = np.zeros(5000) if change == "middle-of-big-array" else np.ones(3)
    b = a.copy()
    if change == "middle-of-big-array":
        b[2500] = 1.0
    else:
        b[0] += 1e-12
    assert payload_digest({"a": a}) != payload_digest({"a": b})


def test_payload_digest_json_like_values_are_distinguished_from_their_strings():
    assert payload_digest({"a": 1}) != payload_digest({"a": "1"})
    assert payload_digest({1: "a"}) != payload_digest({"1": "a"})
    assert payload_digest([1, [2]]) != payload_digest([[1], 2])
    assert payload_digest({"a": json.dumps([1])}) != payload_digest({"a": [1]})


# ---------------------------------------------------------------------------------- declared sizes
def test_check_declared_sizes_refuses_arrays_that_claim_more_than_they_hold(tmp_path):
    import zipfile

    from motionloop.io import check_declared_sizes

    good = tmp_path / "good.npz"
    np.savez(good, a=np.zeros((4, 3)), b=np.arange(5))
    check_declared_sizes(good)  # whole members pass
    np.savez_compressed(tmp_path / "c.npz", a=np.zeros((1000, 3)))
    check_declared_sizes(tmp_path / "c.npz")  # compressed: judged by the uncompressed size
    np.save(tmp_path / "g.npy", np.ones(7))
    check_declared_sizes(tmp_path / "g.npy")

    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 72)))
    header["shape"] = (10**12, 72)
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w") as z, z.open("poses.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, header)
    with pytest.raises(ValueError, match="member poses.npy declares 576000000000000 bytes of data but holds 0"):
        check_declared_sizes(bomb)
    short = tmp_path / "short.npy"
    short.write_bytes((tmp_path / "g.npy").read_bytes()[:-8])  # one float64 missing
    with pytest.raises(ValueError, match="declares 56 bytes of data but the file holds 48"):
        check_declared_sizes(short)
    odd = bytearray((tmp_path / "g.npy").read_bytes())
    odd[6] = 65  # format version 65.0
    (tmp_path / "v.npy").write_bytes(bytes(odd))
    with pytest.raises(ValueError, match=r"version \(65, 0\)"):
        check_declared_sizes(tmp_path / "v.npy")
    (tmp_path / "text.npy").write_text("not numpy")
    check_declared_sizes(tmp_path / "text.npy")  # not ours to judge: numpy's own error follows
