"""File helpers: atomic writes (a reader never sees a half-written file, a crash leaves none
behind), JSONL records, and what a damaged numpy or torch file can raise while being read."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import tempfile
import tokenize
import zipfile
from collections.abc import Iterator
from pathlib import Path

from motionloop.errors import FormatError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, else delete it.

    The temporary file lives in the same directory so that `os.replace` is an atomic rename
    on the same filesystem. Its name keeps the real suffix (numpy and imageio pick the
    format from it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON object as one line; the line is written with a single `write` call.

    A line is either complete or absent: readers of the file (`read_jsonl`) skip a trailing
    partial line left by a crash in the middle of a write.
    """
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(path, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read the complete lines of a JSONL file (a torn last line is ignored).

    Raises FormatError naming the file and line when a complete line is not a JSON object.
    """
    out = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise FormatError(f"{path}: line {number} is not UTF-8 text; repair or delete that line") from None
            except json.JSONDecodeError as e:
                raise FormatError(f"{path}: line {number} is not JSON ({e.msg}); repair or delete that line") from None
            if not isinstance(record, dict):
                raise FormatError(f"{path}: line {number} is not a JSON object")
            out.append(record)
    return out


# What numpy's .npy/.npz readers raise on a damaged file: header parse errors (SyntaxError,
# tokenize.TokenError from its literal_eval), bad zips, short reads, a declared shape too large
# to allocate (MemoryError), undecodable bytes, a pickle refused with allow_pickle=False.
NUMPY_READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    SyntaxError,
    tokenize.TokenError,
    zipfile.BadZipFile,
    MemoryError,
    KeyError,
    TypeError,
    UnicodeDecodeError,
    pickle.UnpicklingError,
)


def _npy_declared_bytes(f) -> int:
    """Bytes of data the .npy header read from `f` declares (shape x item size)."""
    import numpy as np

    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"not a supported .npy format version {version}")
    start = f.tell()
    length = int.from_bytes(f.read(2 if version == (1, 0) else 4), "little")
    if length > 10_000:  # numpy would read the whole claimed header first
        raise ValueError(f"an .npy header of {length} bytes")
    f.seek(start)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read_header(f, max_header_size=10_000)
    if dtype.hasobject:
        return 0  # pickled objects: never loaded (allow_pickle=False refuses them)
    count = 1
    for n in shape:
        count *= int(n)
    return count * dtype.itemsize


def check_declared_sizes(path: str | os.PathLike) -> None:
    """ValueError if an .npy file, or a member of an .npz archive, declares more data than it
    holds: numpy would allocate the declared size before finding the file short (a 100-byte
    file can ask for terabytes). Call before `np.load`; other damage is left to numpy."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with z.open(info) as f:
                    declared = _npy_declared_bytes(f)
                    header = f.tell()
                if declared > info.file_size - header:
                    raise ValueError(
                        f"member {info.filename} declares {declared} bytes of data but holds {info.file_size - header}"
                    )
    else:
        with open(path, "rb") as f:
            if f.read(6) != b"\x93NUMPY":
                return  # not an .npy: numpy's own error says so
            f.seek(0)
            declared = _npy_declared_bytes(f)
            header = f.tell()
        size = path.stat().st_size - header
        if declared > size:
            raise ValueError(f"the array declares {declared} bytes of data but the file holds {size}")


def numpy_error_text(e: BaseException) -> str:
    """One line saying why numpy could not read a file, never advising to allow pickles."""
    text = str(e).strip()
    if "pickle" in text.lower():
        return "not an array file (it would need pickle, which is never used to read data)"
    first = text.splitlines()[0][:200] if text else ""
    return f"{type(e).__name__}: {first}"


def torch_load_plain(path: Path, error: type[Exception], what: str):
    """`torch.load(path, weights_only=True)`: plain containers and tensors only, never code.

    Raises `error` with one line naming `path` when the file is damaged or holds other objects.
    """
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" in str(e).lower():  # weights_only met a class or function it does not allow
            raise error(
                f"{path}: refused: the file holds Python objects other than tensors and plain containers "
                f"(loading them could run code); not a {what}"
            ) from None
        raise error(f"{path}: corrupt or not a {what} (unreadable pickle)") from None
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise error(f"{path}: corrupt or not a {what} ({type(e).__name__}: {first[:200]})") from None


def payload_digest(obj) -> str:
    """SHA-256 of a torch file's payload: every key, scalar and tensor (names, shapes, dtypes,
    bytes) in a fixed order. torch.load does not check its archive's CRCs, so without this a
    flipped bit in a weight or an optimizer moment loads silently."""
    import numpy as np
    import torch

    h = hashlib.sha256()

    def walk(x) -> None:
        if isinstance(x, np.ndarray):
            a = np.ascontiguousarray(x)
            h.update(f"A{a.shape}{a.dtype.str};".encode())
            h.update(a.tobytes())
        elif isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous()
            h.update(f"T{tuple(t.shape)}{t.dtype};".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(x, dict):
            h.update(f"D{len(x)};".encode())
            for k in sorted(x, key=repr):
                h.update(repr(k).encode())
                walk(x[k])
        elif isinstance(x, (list, tuple)):
            h.update(f"L{len(x)};".encode())
            for v in x:
                walk(v)
        else:
            h.update(f"S{x!r};".encode())

    walk(obj)
    return h.hexdigest()
