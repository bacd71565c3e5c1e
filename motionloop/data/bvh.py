"""BVH (Biovision hierarchy) files: the parser, forward kinematics, and import as a `SourceMotion`.

`read_bvh` returns the file as written (`BvhClip`); `BvhClip.positions` runs forward kinematics;
`bvh_to_source` adds rig recognition, unit and up-axis detection (`rigs.py`) and the conversion
to motionloop's world (z up, metres): the input of retargeting.

Conventions of the format as read here:
- Rotation channels of a joint are intrinsic rotations in the order they are listed, in
  degrees: "Zrotation Xrotation Yrotation" is `R = Rz @ Rx @ Ry` (`rotations.euler_to_mat`).
- A joint's position channels *replace* the matching components of its OFFSET (the reading of
  Blender and MotionBuilder: exporters write the full local translation there). A root whose
  first frame lies nearer zero than its non-zero OFFSET (along the OFFSET's direction) is read
  as OFFSET + channels instead, as some exporters (old Blender) write a displacement there.
- An End Site becomes an extra point named "<parent>_end" with no channels (head top, toe tip).
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data import rigs
from motionloop.data.source import SourceMotion
from motionloop.errors import FormatError, UnknownNameError

log = logging.getLogger(__name__)

_CHANNELS = {f"{a}{kind}".lower(): f"{a}{kind}" for a in "XYZ" for kind in ("position", "rotation")}
_FRAMES_RE = re.compile(r"^frames\s*:?\s*(\S+)\s*$", re.IGNORECASE)
_FRAME_TIME_RE = re.compile(r"^frame\s*time\s*:?\s*(\S+)\s*$", re.IGNORECASE)
HEAD_TOP_M = 0.14  # head joint to the top of the head when the rig has no head-top End Site (as skeleton.height_of)


@dataclass(frozen=True)
class BvhClip:
    """A BVH file as written: hierarchy and raw channel values, in the file's units and axes.

    Attributes:
        source: the file it came from.
        names: the `J` point names in file order; End Sites are points named "<parent>_end".
        parents: `J` parent indices, -1 for a root; parents come before their children.
        offsets: `(J, 3)` rest offsets from the parent, file units.
        channels: per point, its channel names in file order (e.g. "Zrotation"); () for End Sites.
        end_site: per point, True for an End Site.
        frames: `(T, C)` channel values in file order, C = total channel count; angles in degrees.
        frame_time: seconds per frame.
    """

    source: str
    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    end_site: tuple[bool, ...]
    frames: np.ndarray
    frame_time: float

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def positions(self) -> np.ndarray:
        """World positions `(T, J, 3)` of every point (End Sites included), file units and axes."""
        return _forward_kinematics(self)


# ------------------------------------------------------------------------------------ parsing
MAX_DEPTH = 200  # joint nesting accepted (recursion in the parser)


def read_bvh(path: str | Path) -> BvhClip:
    """Parse a BVH file.

    Raises:
        FormatError: missing or unreadable file, not a BVH, a malformed hierarchy, a truncated
            or corrupt MOTION section, non-numeric or non-finite values, zero frames, or a
            Frame Time <= 0; the message names the file and, where one exists, the line.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such BVH file")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise FormatError(f"{path}: cannot read BVH file ({exc.strerror})") from exc
    lines = text.splitlines()  # also splits CRLF and lone CR line ends
    motion_at = next((i for i, ln in enumerate(lines) if ln.strip().upper() == "MOTION"), None)
    hierarchy = _Hierarchy(str(path), lines[: len(lines) if motion_at is None else motion_at])
    if motion_at is None:
        raise FormatError(f"{path}: no MOTION section (file truncated after the hierarchy?)")
    frames, frame_time = _parse_motion(str(path), lines, motion_at + 1, hierarchy.num_channels)
    return BvhClip(
        source=str(path),
        names=tuple(hierarchy.names),
        parents=tuple(hierarchy.parents),
        offsets=np.array(hierarchy.offsets, dtype=np.float64).reshape(-1, 3),
        channels=tuple(hierarchy.channels),
        end_site=tuple(hierarchy.end_site),
        frames=frames,
        frame_time=frame_time,
    )


class _Hierarchy:
    """Recursive-descent parser of the HIERARCHY section; fills the per-point lists."""

    def __init__(self, source: str, lines: list[str]):
        self.source = source
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[list[float]] = []
        self.channels: list[tuple[str, ...]] = []
        self.end_site: list[bool] = []
        self.num_channels = 0
        self._toks = list(_tokenize(lines))
        self._i = 0
        first = self._peek()
        if first is None or first[0].upper() != "HIERARCHY":
            where = "an empty file" if first is None else f"{first[0][:40]!r} on line {first[1]}"
            raise FormatError(f"{source}: not a BVH file (expected HIERARCHY, found {where})")
        self._i += 1
        while (tok := self._peek()) is not None and tok[0].upper() == "ROOT":
            self._i += 1
            self._joint(-1)
        if tok is not None:
            self._fail(f"expected ROOT, found {tok[0]!r}", tok[1])
        if not self.names:
            self._fail("no ROOT joint in the hierarchy", None)

    def _peek(self) -> tuple[str, int] | None:
        return self._toks[self._i] if self._i < len(self._toks) else None

    def _next(self, what: str) -> tuple[str, int]:
        tok = self._peek()
        if tok is None:
            self._fail(f"hierarchy ends where {what} was expected (missing MOTION or truncated file)", None)
        self._i += 1
        return tok

    def _expect(self, word: str) -> None:
        tok, line = self._next(repr(word))
        if tok.upper() != word.upper():
            self._fail(f"expected {word!r}, found {tok!r}", line)

    def _number(self, what: str) -> float:
        tok, line = self._next(what)
        try:
            value = float(tok)
        except ValueError:
            self._fail(f"{what} is not a number: {tok!r}", line)
        if not np.isfinite(value):
            self._fail(f"{what} is not finite: {tok!r}", line)
        return value

    def _fail(self, message: str, line: int | None):
        where = f"{self.source}:{line}" if line is not None else self.source
        raise FormatError(f"{where}: {message}")

    def _add(self, name: str, parent: int, line: int, end: bool) -> int:
        if name in self.names:
            self._fail(f"duplicate joint name {name!r}", line)
        self.names.append(name)
        self.parents.append(parent)
        self.offsets.append([0.0, 0.0, 0.0])
        self.channels.append(())
        self.end_site.append(end)
        return len(self.names) - 1

    def _offset(self, j: int) -> None:
        self.offsets[j] = [self._number(f"OFFSET of {self.names[j]!r}") for _ in range(3)]

    def _joint(self, parent: int, depth: int = 0) -> None:
        name, line = self._next("a joint name")
        if not name:
            self._fail("joint without a name", line)
        if depth > MAX_DEPTH:
            self._fail(f"joints nested more than {MAX_DEPTH} deep (a human rig has under 30 levels)", line)
        j = self._add(name, parent, line, end=False)
        self._expect("{")
        while True:
            tok, line = self._next(f"'}}' closing joint {name!r}")
            word = tok.upper()
            if word == "OFFSET":
                self._offset(j)
            elif word == "CHANNELS":
                self._channels(j)
            elif word == "JOINT":
                self._joint(j, depth + 1)
            elif word == "END":
                self._expect("Site")
                end_name = f"{name}_end"
                while end_name in self.names:  # a second End Site, or a joint already so named
                    end_name += "_"
                e = self._add(end_name, j, line, end=True)
                self._expect("{")
                self._expect("OFFSET")
                self._offset(e)
                self._expect("}")
            elif tok == "}":
                return
            else:
                self._fail(f"unexpected {tok!r} in joint {name!r}", line)

    def _channels(self, j: int) -> None:
        count, line = self._next("the channel count")
        if not count.isdigit():
            self._fail(f"channel count of {self.names[j]!r} is not a whole number: {count!r}", line)
        names = []
        for _ in range(int(count)):
            tok, line = self._next("a channel name")
            if tok.lower() not in _CHANNELS:
                valid = ", ".join(_CHANNELS.values())
                self._fail(f"unknown channel {tok!r} of {self.names[j]!r}; valid: {valid}", line)
            names.append(_CHANNELS[tok.lower()])
        if len(set(names)) != len(names):
            self._fail(f"repeated channel in {self.names[j]!r}: {' '.join(names)}", line)
        self.num_channels += len(names) - len(self.channels[j])
        self.channels[j] = tuple(names)


def _tokenize(lines: list[str]):
    """Yield `(token, line number)`; a ROOT/JOINT name is one token even if it holds spaces."""
    for n, raw in enumerate(lines, start=1):
        s = raw.strip()
        if not s:
            continue
        head = s.split(None, 1)
        if head[0].upper() in ("ROOT", "JOINT"):
            name = head[1].strip() if len(head) > 1 else ""
            brace = name.endswith("{")
            yield head[0], n
            yield name.rstrip("{").strip(), n
            if brace:
                yield "{", n
            continue
        for tok in s.replace("{", " { ").replace("}", " } ").split():
            yield tok, n


def _parse_motion(source: str, lines: list[str], start: int, num_channels: int) -> tuple[np.ndarray, float]:
    """Frames `(T, C)` and the frame time from the lines after MOTION (`start` is 0-based)."""
    rest = [(n, ln.strip()) for n, ln in enumerate(lines[start:], start=start + 1) if ln.strip()]
    if len(rest) < 2:
        raise FormatError(f"{source}: MOTION section lacks its 'Frames:' and 'Frame Time:' lines")
    (n_f, frames_line), (n_t, time_line) = rest[0], rest[1]
    m_frames, m_time = _FRAMES_RE.match(frames_line), _FRAME_TIME_RE.match(time_line)
    if m_frames is None:
        raise FormatError(f"{source}:{n_f}: expected 'Frames: N', found {frames_line[:40]!r}")
    if m_time is None:
        raise FormatError(f"{source}:{n_t}: expected 'Frame Time: SECONDS', found {time_line[:40]!r}")
    try:
        count = int(float(m_frames.group(1)))
        frame_time = float(m_time.group(1))
    except ValueError:
        raise FormatError(f"{source}:{n_f}-{n_t}: frame count or frame time is not a number") from None
    if count <= 0:
        raise FormatError(f"{source}:{n_f}: zero frames ('Frames: {m_frames.group(1)}')")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise FormatError(f"{source}:{n_t}: Frame Time must be > 0 seconds, got {m_time.group(1)}")
    if num_channels == 0:
        raise FormatError(f"{source}: the hierarchy declares no CHANNELS, so there is no motion to read")
    data = rest[2:]
    if len(data) < count:
        last = f" (the last is line {data[-1][0]})" if data else ""
        raise FormatError(f"{source}: truncated MOTION section: 'Frames: {count}' but {len(data)} frame lines{last}")
    if len(data) > count:
        log.warning("%s: %d extra line(s) after the %d declared frames ignored", source, len(data) - count, count)
        data = data[:count]
    rows = [ln.split() for _, ln in data]
    bad = next((k for k, r in enumerate(rows) if len(r) != num_channels), None)
    if bad is not None:
        raise FormatError(
            f"{source}:{data[bad][0]}: frame {bad} has {len(rows[bad])} values, expected {num_channels} "
            "(truncated or corrupt line)"
        )
    try:
        flat = np.array(list(itertools.chain.from_iterable(rows)), dtype=np.float64)
    except ValueError:
        k, tok = _first_non_number(rows)
        raise FormatError(f"{source}:{data[k][0]}: frame {k} holds a non-numeric value {tok!r}") from None
    frames = flat.reshape(count, num_channels)
    finite = np.isfinite(frames).all(axis=1)
    if not finite.all():
        k = int(np.argmin(finite))
        raise FormatError(f"{source}:{data[k][0]}: frame {k} holds NaN or infinite values")
    return frames, frame_time


def _first_non_number(rows: list[list[str]]) -> tuple[int, str]:
    for k, row in enumerate(rows):
        for tok in row:
            try:
                float(tok)
            except ValueError:
                return k, tok
    raise AssertionError("unreachable: every value parsed")


# --------------------------------------------------------------------------- forward kinematics
def _forward_kinematics(clip: BvhClip) -> np.ndarray:
    """World positions `(T, J, 3)` in file units: `p_j = p_parent + G_parent @ t_j`, `G_j = G_parent @ R_j`."""
    T, J = clip.num_frames, len(clip.names)
    pos = np.empty((T, J, 3))
    glob = np.empty((T, J, 3, 3))
    col = 0
    for j in range(J):
        chans = clip.channels[j]
        values = clip.frames[:, col : col + len(chans)]  # (T, len(chans))
        col += len(chans)
        trans = _local_translation(clip.offsets[j], chans, values, is_root=clip.parents[j] < 0)
        axes = "".join(c[0] for c in chans if c.endswith("rotation"))
        angles = values[:, [k for k, c in enumerate(chans) if c.endswith("rotation")]]
        p = clip.parents[j]
        if p < 0:
            pos[:, j] = trans
            glob[:, j] = _rotation(axes, angles, T)
        else:
            pos[:, j] = pos[:, p] + np.einsum("tab,tb->ta", glob[:, p], trans)
            glob[:, j] = glob[:, p] @ _rotation(axes, angles, T)
    return pos


def _local_translation(offset: np.ndarray, chans: tuple[str, ...], values: np.ndarray, is_root: bool) -> np.ndarray:
    """Translation `(T, 3)` of a point from its parent (or the world origin, for a root)."""
    trans = np.repeat(offset[None, :], len(values), axis=0)
    idx = [(k, "XYZ".index(c[0])) for k, c in enumerate(chans) if c.endswith("position")]
    if not idx:
        return trans
    cols, axes = [k for k, _ in idx], [a for _, a in idx]
    moved = values[:, cols]
    if is_root and _root_is_displacement(offset[axes], moved):
        trans[:, axes] += moved
    else:
        trans[:, axes] = moved
    return trans


def _root_is_displacement(offset: np.ndarray, moved: np.ndarray) -> bool:
    """True if the root's position channels are displacements from its OFFSET, not positions.

    Exporters that write positions set the OFFSET to the first frame's (or the rest) position,
    so the first frame lies, along the OFFSET's direction, nearer to it than to zero. Only the
    first frame is used: over a whole clip the actor may walk anywhere.
    """
    norm2 = float(offset @ offset)
    if norm2 == 0.0:
        return False
    return float(moved[0] @ offset) < 0.5 * norm2


def _rotation(axes: str, angles_deg: np.ndarray, T: int) -> np.ndarray:
    """Local rotations `(T, 3, 3)` of intrinsic rotations about `axes` (any count, file order)."""
    if len(axes) == 3:
        return rot.euler_to_mat(angles_deg, axes)
    out = np.broadcast_to(np.eye(3), (T, 3, 3)).copy()
    for k, a in enumerate(axes):
        out = out @ rot.axis_rotation(a, np.deg2rad(angles_deg[:, k]))
    return out


# ------------------------------------------------------------------------------- to SourceMotion
def bvh_to_source(
    path: str | Path,
    joint_map: str | Path | None = None,
    unit: str = "auto",
    up: str = "auto",
    label: str | None = None,
) -> SourceMotion:
    """Read a BVH file as world joint positions (z up, metres) with their SMPL joint mapping.

    Args:
        path: the .bvh file.
        joint_map: optional TOML joint map (`[joints] smpl_name = "bvh joint"`) overriding and
            extending the automatic mapping (see `rigs.load_joint_map`).
        unit: "auto" (from the leg length) or a key of `rigs.UNITS` ("m", "cm", "mm", "inch",
            "cmu" = the CMU ASF unit 1/0.45 inch, "ft").
        up: "auto" (feet -> head direction over the clip) or the file's up axis, "+y", "z", "-x" ...
        label: action label to attach.
    Returns:
        `SourceMotion` with positions `(T, J, 3)` of every BVH point (End Sites included), metres,
        z up, turned by a proper rotation (det +1); forward lies wherever the file had it. `meta`
        holds format, family, joint_map, unit, unit_detected, scale (metres per file unit), up,
        up_detected, up_alignment (mean cosine of the body axis with it), leg_length_m,
        height_m (standing height estimate), floor_z (median lowest point, metres), unmapped
        (SMPL joints without a rig joint, for the retargeter to fill), frames, fps.
    Raises:
        FormatError: the file cannot be parsed (see `read_bvh`), or the joint map cannot be read.
        RetargetError: the joints retargeting needs cannot all be mapped (lists what is missing
            and the rig's joints). UnknownNameError: a bad `unit`, `up`, or joint map name.
    """
    if unit != "auto" and unit not in rigs.UNITS:
        raise UnknownNameError("unit", unit, ["auto", *rigs.UNITS])
    up_axis = up.lower() if up == "auto" or up[:1] in "+-" else "+" + up.lower()
    if up_axis != "auto" and up_axis not in rigs.UP_AXES:
        raise UnknownNameError("up axis", up, ["auto", *rigs.UP_AXES])
    clip = read_bvh(path)
    pos = clip.positions()  # (T, J, 3) file units and axes
    parents = np.array([max(p, 0) for p in clip.parents])
    bones = np.median(np.linalg.norm(pos - pos[:, parents], axis=-1), axis=0)  # (J,)
    match = rigs.auto_map(clip.names, clip.parents, clip.end_site, bones)
    smpl_map = match.smpl_map
    if joint_map is not None:
        smpl_map = rigs.apply_joint_map(
            smpl_map, rigs.load_joint_map(joint_map), clip.names, f"{joint_map} (for {clip.source})"
        )
    rigs.check_required(smpl_map, clip.names, clip.source)

    def at(smpl: str) -> np.ndarray:  # (T, 3)
        return pos[:, clip.names.index(smpl_map[smpl])]

    def dist(a: str, b: str) -> np.ndarray:  # (T,)
        return np.linalg.norm(at(a) - at(b), axis=-1)

    leg = np.mean([np.median(dist(s + "hip", s + "knee") + dist(s + "knee", s + "ankle")) for s in ("left_", "right_")])
    unit_name = rigs.detect_unit(float(leg)) if unit == "auto" else unit
    scale = rigs.UNITS[unit_name]
    top = "head" if "head" in smpl_map else "neck"
    alignment = None
    if up_axis == "auto":
        up_axis, alignment = rigs.detect_up(at(top), np.stack([at("left_ankle"), at("right_ankle")], axis=1))
        if alignment < 0.7:
            log.warning("%s: up axis %s uncertain (alignment %.2f); pass up= if wrong", clip.source, up_axis, alignment)
    world = (pos * scale) @ rigs.up_rotation(up_axis).T  # (T, J, 3) metres, z up
    lowest = world[..., 2].min(axis=1)  # (T,)
    meta = {
        "format": "bvh",
        "family": match.family,
        "joint_map": None if joint_map is None else str(joint_map),
        "unit": unit_name,
        "unit_detected": unit == "auto",
        "scale": scale,
        "up": up_axis,
        "up_detected": alignment is not None,
        "up_alignment": alignment,
        "leg_length_m": float(leg * scale),
        "height_m": _standing_height(world, clip, smpl_map[top], lowest),
        "floor_z": float(np.median(lowest)),
        "unmapped": [k for k in sk.JOINTS if k not in smpl_map],
        "frames": clip.num_frames,
        "fps": clip.fps,
    }
    return SourceMotion(world, clip.names, smpl_map, clip.fps, clip.source, label, meta)


def _standing_height(world: np.ndarray, clip: BvhClip, top: str, lowest: np.ndarray) -> float:
    """Head top above the lowest point, metres, 90th percentile over frames (standing frames)."""
    j = clip.names.index(top)
    head_z = world[:, j, 2]
    ends = [c for c, p in enumerate(clip.parents) if p == j and (clip.end_site[c] or "top" in clip.names[c].lower())]
    # an End Site (or "HeadTop" joint) well above the head joint is the head top; else add a typical head
    tops = [world[:, c, 2] for c in ends if np.median(world[:, c, 2] - head_z) > 0.05]
    top_z = tops[0] if tops else head_z + HEAD_TOP_M
    return float(np.percentile(top_z - lowest, 90))
