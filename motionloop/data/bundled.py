"""The bundled real-mocap dataset: assets/data/ (built by scripts/build_dataset.py).

The directory holds one AMASS-layout `.npz` per clip (SMPL-24, z up, metres, 20 fps),
`index.json` (per clip: id, label, frames, seconds, source package/file/segment, licence,
retarget numbers; totals), `PROVENANCE.md` and `LICENSES/`. This module reads the index and
the clips; it never rebuilds them.

Labels ending in `_object` (`OBJECT_LABELS`) are clips that interact with objects (climbing
onto or hanging from playground equipment): a physics benchmark on a flat floor should leave
them out (`load_bundled(exclude_labels=OBJECT_LABELS)`).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from motionloop.errors import FormatError, UnknownNameError
from motionloop.motion import Motion, load_clips

ENV_VAR = "MOTIONLOOP_DATA_DIR"  # overrides where the bundled set is looked for
INDEX = "index.json"
OBJECT_SUFFIX = "_object"
OBJECT_LABELS: frozenset[str] = frozenset({"climb_object", "hang_object", "sit_object", "hold_object", "push_object"})


@dataclass(frozen=True)
class BundledClip:
    """One clip of the bundled set, as listed in index.json.

    Attributes:
        id: clip name (the file is `<id>.npz`).
        label: action label (lowercase word; `*_object` = object interaction).
        frames: number of frames; seconds: frames / fps (s).
        source: where it came from: "package==version:path [start-end s] xN" (N = loop cycles).
        path: absolute path of the `.npz`.
        licence: licence of the source data (SPDX id or "CMU-MoCap"); licence_file: its text.
        bone_dir_err_deg: mean angle between the clip's bones and the source's, degrees.
        foot_ground_share: share of frames with a foot within 2 cm of the floor.
        planted_foot_speed_mps: mean horizontal speed of feet within 2 cm of the floor, m/s.
        note: what the clip shows, how it was cut.
    """

    id: str
    label: str
    frames: int
    seconds: float
    source: str
    path: Path
    licence: str
    licence_file: Path
    bone_dir_err_deg: float
    foot_ground_share: float
    planted_foot_speed_mps: float
    note: str

    @property
    def is_object(self) -> bool:
        """True for clips that interact with objects (see `OBJECT_LABELS`)."""
        return is_object_label(self.label)


def is_object_label(label: str | None) -> bool:
    """True for labels of object interaction (`OBJECT_LABELS`, or any label ending in "_object")."""
    return label is not None and (label in OBJECT_LABELS or label.endswith(OBJECT_SUFFIX))


def _candidates() -> list[Path]:
    from motionloop.resources import BUNDLED_DATA

    return [BUNDLED_DATA]


def bundled_dir() -> Path:
    """The directory of the bundled dataset: `$MOTIONLOOP_DATA_DIR` if set (and then only it),
    else the package's assets/data (resources.BUNDLED_DATA) if it holds an index.json.

    Raises:
        FormatError: no index.json there (the message names every place looked at and how to get one).
    """
    env = os.environ.get(ENV_VAR)
    if env:
        d = Path(env).expanduser()
        if not (d / INDEX).is_file():
            raise FormatError(f"${ENV_VAR}={env}: no {INDEX} in {d} (the bundled dataset directory)")
        return d
    tried = _candidates()
    for d in tried:
        if (d / INDEX).is_file():
            return d
    raise FormatError(
        f"bundled dataset not found: no {INDEX} in {' or '.join(str(d) for d in tried)}; "
        f"it ships in a source checkout of motionloop (assets/data), is built by scripts/build_dataset.py, "
        f"and ${ENV_VAR} can point to a copy"
    )


def _read_index(directory: Path) -> dict:
    path = directory / INDEX
    try:
        index = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise FormatError(f"{path}: unreadable bundled-dataset index ({e})") from None
    if not isinstance(index, dict) or not isinstance(index.get("clips"), list):
        raise FormatError(f"{path}: no 'clips' list")
    return index


def _clip(entry: dict, directory: Path, where: Path) -> BundledClip:
    try:
        report = entry["retarget"]
        return BundledClip(
            id=str(entry["id"]),
            label=str(entry["label"]),
            frames=int(entry["frames"]),
            seconds=float(entry["seconds"]),
            source=str(entry["origin"]),
            path=directory / entry["file"],
            licence=str(entry["licence"]),
            licence_file=directory / entry["licence_file"],
            bone_dir_err_deg=float(report["bone_dir_err_deg"]),
            foot_ground_share=float(report["foot_ground_share"]),
            planted_foot_speed_mps=float(report["planted_foot_speed_mps"]),
            note=str(entry.get("note", "")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(
            f"{where}: clip entry {entry.get('id', '?') if isinstance(entry, dict) else entry!r} is malformed ({e!r})"
        ) from None


def list_bundled(directory: str | Path | None = None) -> list[BundledClip]:
    """The clips of the bundled set in index order (`directory` defaults to `bundled_dir()`)."""
    directory = bundled_dir() if directory is None else Path(directory)
    index = _read_index(directory)
    return [_clip(e, directory, directory / INDEX) for e in index["clips"]]


def labels(directory: str | Path | None = None) -> list[str]:
    """The distinct labels of the bundled set, sorted."""
    return sorted({c.label for c in list_bundled(directory)})


def _check_labels(names: Iterable[str] | None, valid: list[str], kind: str) -> set[str] | None:
    if names is None:
        return None
    names = {names} if isinstance(names, str) else set(names)
    for n in sorted(names):
        # object labels may be excluded even where the set has none of them
        if n not in valid and not (kind == "exclude_labels" and is_object_label(n)):
            raise UnknownNameError(f"bundled label ({kind})", n, valid)
    return names


def load_bundled(
    labels: Iterable[str] | None = None,
    exclude_labels: Iterable[str] | None = None,
    directory: str | Path | None = None,
) -> list[Motion]:
    """Load bundled clips as Motions (20 fps; label and source as in `list_bundled`).

    Args:
        labels: keep only these labels (None = all).
        exclude_labels: drop these labels, e.g. `OBJECT_LABELS` for physics on a flat floor.
        directory: the dataset directory (default `bundled_dir()`).
    Raises:
        UnknownNameError: a label that is not in the set (the message lists the valid ones).
        FormatError: the set or a clip file is missing or unreadable.
    """
    clips = list_bundled(directory)
    valid = sorted({c.label for c in clips})
    keep = _check_labels(labels, valid, "labels")
    drop = _check_labels(exclude_labels, valid, "exclude_labels") or set()
    out = []
    for c in clips:
        if (keep is None or c.label in keep) and c.label not in drop:
            out.append(Motion.load(c.path))
    return out


def load_clips_or_bundled(spec: str | Path) -> list[Motion]:
    """The clips a spec names: `"bundled"` is the shipped set without object interaction (what
    models train and the physics runs on, on a flat floor); anything else a clip file or a
    clip-set directory."""
    return load_bundled(exclude_labels=OBJECT_LABELS) if str(spec) == "bundled" else load_clips(spec)


def list_as_dict(directory: str | Path | None = None) -> dict:
    """The set as one JSON-ready object (what `motionloop data list --json` prints).

    `{"directory": str, "clips": [{id, label, frames, seconds, source, path, licence,
    bone_dir_err_deg, foot_ground_share, planted_foot_speed_mps, object}, ...],
    "totals": {"clips", "frames", "seconds", "labels": {label: count}, "object_clips"}}`.
    """
    directory = bundled_dir() if directory is None else Path(directory)
    clips = list_bundled(directory)
    rows = [
        {
            "id": c.id,
            "label": c.label,
            "frames": c.frames,
            "seconds": c.seconds,
            "source": c.source,
            "path": str(c.path),
            "licence": c.licence,
            "bone_dir_err_deg": c.bone_dir_err_deg,
            "foot_ground_share": c.foot_ground_share,
            "planted_foot_speed_mps": c.planted_foot_speed_mps,
            "object": c.is_object,
        }
        for c in clips
    ]
    return {
        "directory": str(directory),
        "clips": rows,
        "totals": {
            "clips": len(clips),
            "frames": sum(c.frames for c in clips),
            "seconds": round(sum(c.seconds for c in clips), 2),
            "labels": dict(sorted(Counter(c.label for c in clips).items())),
            "object_clips": sum(c.is_object for c in clips),
        },
    }


def list_as_table(directory: str | Path | None = None) -> str:
    """The set as aligned text (what `motionloop data list` prints): one line per clip with id,
    label, frames, seconds, source and path, then a totals line."""
    d = list_as_dict(directory)
    cols = ("id", "label", "frames", "seconds", "source", "path")
    rows = [cols] + [tuple(f"{r[c]:.2f}" if c == "seconds" else str(r[c]) for c in cols) for r in d["clips"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols) - 1)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows]
    t = d["totals"]
    lines.append(
        f"{t['clips']} clips, {t['frames']} frames, {t['seconds']:.1f} s ({t['seconds'] / 60:.1f} min), "
        f"{len(t['labels'])} labels, {t['object_clips']} with objects; in {d['directory']}"
    )
    return "\n".join(lines)
