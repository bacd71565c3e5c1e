"""Import any supported motion file as SMPL-24 clips: format dispatch and atomic output.

Formats (`FORMATS`) and how "auto" recognises them by file extension:
- bvh: `.bvh` (and a `.txt` that starts with "HIERARCHY") -> bvh.py -> retarget
- deepmimic: `.txt`, `.json` (DeepMimic humanoid3d JSON) -> deepmimic.py -> retarget
- amass: `.npz` (SMPL / SMPL-H parameters, or a clip written by motionloop) -> amass.py
- humanml3d: `.npy` of HumanML3D joint positions (T, 22, 3) -> humanml3d.py -> retarget
Every result is z-up, on the default skeleton, feet on the floor, at the requested frame rate.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from motionloop.data.amass import import_amass
from motionloop.data.deepmimic import deepmimic_to_source
from motionloop.data.humanml3d import humanml3d_to_source
from motionloop.data.retarget import retarget
from motionloop.errors import ConfigError, FormatError, UnknownNameError
from motionloop.motion import Motion

FORMATS: tuple[str, ...] = ("bvh", "deepmimic", "amass", "humanml3d")
EXTENSIONS: dict[str, str] = {
    ".bvh": "bvh",
    ".txt": "deepmimic",
    ".json": "deepmimic",
    ".npz": "amass",
    ".npy": "humanml3d",
}


def detect_format(path: str | Path) -> str:
    """The format name of `path` from its extension (a `.txt` BVH is recognised by its first word)."""
    path = Path(path)
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        supported = ", ".join(f"{ext} ({name})" for ext, name in EXTENSIONS.items())
        raise FormatError(
            f"{path}: unknown file extension {path.suffix!r}; supported: {supported}; "
            f"or pass format= one of {', '.join(FORMATS)}"
        )
    if path.suffix.lower() == ".txt" and path.is_file():
        with open(path, "rb") as f:
            if f.read(64).lstrip().upper().startswith(b"HIERARCHY"):
                return "bvh"
    return fmt


def import_file(
    path: str | Path,
    format: str = "auto",
    joint_map: str | Path | None = None,
    fps: float = 20.0,
    label: str | None = None,
    cycles: int = 1,
) -> list[tuple[Motion, dict]]:
    """Import one file as SMPL-24 clips.

    Args:
        path: the file.
        format: "auto" (by extension, see `detect_format`) or one of `FORMATS`.
        joint_map: TOML joint map for BVH rigs the automatic mapping gets wrong (BVH only).
        fps: output frame rate.
        label: action label to attach to the clips.
        cycles: play a looping DeepMimic clip this many times (DeepMimic only).
    Returns:
        `[(motion, report), ...]`: one entry per clip in the file (one for every format so far).
        The report is `RetargetReport.to_dict()` for retargeted formats, the foot/ground
        statistics for AMASS, plus "format" and "source".
    Raises:
        UnknownNameError: unknown `format`. FormatError: missing file, unknown extension, bad
        content. ConfigError: an option that does not apply to the format. RetargetError: a rig
        that cannot be mapped to SMPL-24.
    """
    path = Path(path)
    if format != "auto" and format not in FORMATS:
        raise UnknownNameError("format", format, ["auto", *FORMATS])
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    fmt = detect_format(path) if format == "auto" else format
    if joint_map is not None and fmt != "bvh":
        raise ConfigError(f"{path}: joint_map applies to BVH files only (this is {fmt})")
    if cycles != 1 and fmt != "deepmimic":
        raise ConfigError(f"{path}: cycles applies to looping DeepMimic clips only (this is {fmt})")
    if fmt == "amass":
        return [import_amass(path, fps, label)]
    if fmt == "bvh":
        # imported here: the BVH parser is a separate piece that other formats do not need
        from motionloop.data.bvh import bvh_to_source

        src = bvh_to_source(path, joint_map=joint_map, label=label)
    elif fmt == "deepmimic":
        src = deepmimic_to_source(path, cycles, label)
    else:
        src = humanml3d_to_source(path, label=label)
    motion, rep = retarget(src, fps)
    return [(motion, {"format": fmt, "source": str(path), **rep.to_dict()})]


def input_files(path: str | Path) -> list[Path]:
    """The importable files of a file or a directory (recursively, by extension), sorted."""
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS and not p.name.startswith(".")
        )
        if not files:
            raise FormatError(f"{path}: directory holds no importable files ({', '.join(EXTENSIONS)})")
        return files
    if not path.exists():
        raise FormatError(f"{path}: no such file or directory")
    return [path]


def _clip_names(files: list[Path], root: Path, counts: list[int]) -> list[str]:
    """Output names: the file's path below `root` joined by "_", without suffix; "_k" for several clips."""
    names = []
    for f, n in zip(files, counts):
        rel = f.relative_to(root) if root.is_dir() else Path(f.name)
        stem = "_".join(rel.with_suffix("").parts)
        names += [stem] if n == 1 else [f"{stem}_{k}" for k in range(n)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"{root}: several inputs would be written as {', '.join(d + '.npz' for d in dupes)}; import them separately"
        )
    return names


def import_to_dir(
    path: str | Path,
    out_dir: str | Path,
    format: str = "auto",
    joint_map: str | Path | None = None,
    fps: float = 20.0,
    label: str | None = None,
    cycles: int = 1,
    reports: list[dict] | None = None,
) -> list[Path]:
    """Import a file, or every importable file below a directory, into the clip set `out_dir`.

    Clips are written as `NAME.npz` (see `_clip_names`). All inputs are imported before
    anything is written; the clips are then written into a temporary directory beside
    `out_dir` and moved in, so a failure leaves `out_dir` as it was. Existing clips of the
    same name are replaced. Arguments as `import_file`; each clip's report is appended to
    `reports` when a list is given. Returns the written paths.
    """
    path, out_dir = Path(path), Path(out_dir)
    files = input_files(path)
    results = [import_file(f, format, joint_map, fps, label, cycles) for f in files]
    names = _clip_names(files, path, [len(r) for r in results])
    motions = [m for r in results for m, _ in r]
    if reports is not None:
        reports.extend(rep for r in results for _, rep in r)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        staged = [m.save(staging / f"{n}.npz") for m, n in zip(motions, names)]
        out_dir.mkdir(exist_ok=True)
        written = []
        for p in staged:
            os.replace(p, out_dir / p.name)
            written.append(out_dir / p.name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
