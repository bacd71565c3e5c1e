"""Atomic file writes: a reader never sees a half-written file, a crash leaves none behind."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
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
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.endswith("\n"):
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise FormatError(f"{path}: line {number} is not JSON ({e.msg}); repair or delete that line") from None
            if not isinstance(record, dict):
                raise FormatError(f"{path}: line {number} is not a JSON object")
            out.append(record)
    return out
