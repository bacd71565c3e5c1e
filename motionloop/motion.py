"""`Motion`: the one data type that passes between stages, and its files.

A clip on disk is one `.npz` in AMASS layout: `trans (T, 3)`, `poses (T, 72)`, `betas`,
`gender`, `mocap_framerate`, plus `label` and `source`. `trans` means what it means in AMASS
and smplx: the translation applied before the pelvis joint's rest offset, so an AMASS or smplx
tool puts the body where motionloop does (the neutral body's offset, skeleton.SMPL_PELVIS_REST;
in memory `Motion.trans` is the pelvis position). Files written by motionloop carry
`motionloop_format` (1: `trans` was the pelvis position, still read as such); any other file
with `poses` and `trans` is read as AMASS (SMPL `(T, 72)` or SMPL-H `(T, 156)`).
A clip set is a directory of such files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.errors import FormatError, MotionloopError, MotionValidationError
from motionloop.io import NUMPY_READ_ERRORS, atomic_path, check_declared_sizes, numpy_error_text

FORMAT_VERSION = 2  # 2: trans in the AMASS convention; 1: trans = pelvis position
NUM_BETAS = 10
# Plausibility bounds: values past these are broken files or unit mix-ups (a clip scaled by
# 1e6 turned an FID of 104 into 1.5e12), not motion.
MAX_DISTANCE_M = 1e4  # any pelvis position, metres from the origin
FPS_RANGE = (1.0, 1e4)
MAX_ABS_BETA = 100.0


@dataclass(frozen=True, eq=False)
class Motion:
    """A clip of SMPL-24 motion in a z-up world, metres and seconds.

    Attributes:
        trans: `(T, 3)` float32 pelvis position in the world, metres.
        poses: `(T, 24, 3)` float32 axis-angle per SMPL joint; joint 0 is the global root
            orientation, the others are relative to their parent.
        fps: frames per second (> 0).
        betas: `(10,)` float32 SMPL shape; zeros = the default body.
        label: action class, or None.
        source: where the clip came from (file or dataset, "generated", "corrected").
    Arrays are read-only; derive new clips with `replace`.
    """

    trans: np.ndarray
    poses: np.ndarray
    fps: float
    betas: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(NUM_BETAS, np.float32))
    label: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        where = f" (source {self.source!r})" if self.source else ""

        def arr(name: str, value, shape: tuple) -> np.ndarray:
            try:
                a = np.array(value, dtype=np.float32)
            except (TypeError, ValueError) as e:
                raise MotionValidationError(f"Motion.{name}{where}: not a numeric array ({e})") from None
            if a.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, a.shape)):
                want = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
                raise MotionValidationError(f"Motion.{name}{where}: shape {a.shape}, expected {want}")
            if not np.all(np.isfinite(a)):
                bad = np.argwhere(~np.isfinite(a))[0]
                raise MotionValidationError(
                    f"Motion.{name}{where}: non-finite value at index {tuple(int(i) for i in bad)}"
                )
            a.setflags(write=False)
            return a

        trans = arr("trans", self.trans, (None, 3))
        poses = arr("poses", self.poses, (None, sk.NUM_JOINTS, 3))
        betas = arr("betas", self.betas, (NUM_BETAS,))
        if len(trans) != len(poses):
            raise MotionValidationError(f"Motion{where}: trans has {len(trans)} frames but poses has {len(poses)}")
        if len(trans) == 0:
            raise MotionValidationError(f"Motion{where}: zero frames")
        try:
            fps = float(self.fps)
        except (TypeError, ValueError):
            raise MotionValidationError(f"Motion.fps{where}: {self.fps!r} is not a number") from None
        if not np.isfinite(fps) or fps <= 0:
            raise MotionValidationError(f"Motion.fps{where}: must be > 0, got {self.fps}")
        if not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:
            raise MotionValidationError(
                f"Motion.fps{where}: {fps:g} is not a plausible frame rate ({FPS_RANGE[0]:g} to {FPS_RANGE[1]:g})"
            )
        far = float(np.abs(trans).max())
        if far > MAX_DISTANCE_M:
            raise MotionValidationError(
                f"Motion.trans{where}: the pelvis is {far:.3g} m from the origin (at most "
                f"{MAX_DISTANCE_M:g} m is plausible; metres expected)"
            )
        if np.abs(betas).max() > MAX_ABS_BETA:
            raise MotionValidationError(
                f"Motion.betas{where}: |beta| up to {np.abs(betas).max():.3g} (at most {MAX_ABS_BETA:g})"
            )
        label = None if self.label in (None, "") else str(self.label)
        for name, value in (("trans", trans), ("poses", poses), ("betas", betas), ("fps", fps), ("label", label)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "source", str(self.source))

    # ------------------------------------------------------------------ views
    @property
    def num_frames(self) -> int:
        return len(self.trans)

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return (self.num_frames - 1) / self.fps

    def replace(self, **changes) -> Motion:
        return dataclasses.replace(self, **changes)

    def joints(self, offsets: np.ndarray | None = None) -> np.ndarray:
        """World joint positions `(T, 24, 3)`, metres."""
        return sk.fk(self.poses, self.trans, offsets)

    def fk(self, offsets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """World joint positions `(T, 24, 3)` and global rotations `(T, 24, 3, 3)`."""
        return sk.fk_mats(rot.aa_to_mat(self.poses), self.trans, offsets)

    def slice(self, start: int, stop: int) -> Motion:
        """Frames `[start, stop)`."""
        return self.replace(trans=self.trans[start:stop], poses=self.poses[start:stop])

    def resample(self, fps: float) -> Motion:
        """The clip at `fps`, same duration: slerp for rotations, linear for translation.

        The new clip has `floor(duration * fps + 1e-6) + 1` frames, so its duration is the
        original's rounded down to a whole number of new frames (within one frame period).
        """
        fps = float(fps)
        if not np.isfinite(fps) or fps <= 0:
            raise MotionValidationError(f"resample: fps must be > 0, got {fps}")
        if abs(fps - self.fps) < 1e-9 or self.num_frames == 1:
            return self.replace(fps=fps) if self.num_frames == 1 else self
        n = int(np.floor(self.duration * fps + 1e-6)) + 1
        src = np.arange(n) / fps * self.fps  # fractional source frame of each new frame
        i0 = np.clip(np.floor(src).astype(int), 0, self.num_frames - 1)
        i1 = np.minimum(i0 + 1, self.num_frames - 1)
        t = (src - i0)[:, None]
        trans = (1 - t) * self.trans[i0] + t * self.trans[i1]
        q = rot.aa_to_quat(self.poses)
        quats = rot.quat_slerp(q[i0], q[i1], np.broadcast_to(t, (n, sk.NUM_JOINTS)))
        return self.replace(trans=trans, poses=rot.quat_to_aa(quats), fps=fps)

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the clip as an AMASS-layout `.npz` (module docstring), atomically. Returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            raise FormatError(f"{path}: clips are saved as .npz")
        with atomic_path(path) as tmp:
            np.savez(
                tmp,
                trans=self.trans - sk.SMPL_PELVIS_REST,
                poses=self.poses.reshape(self.num_frames, -1),
                betas=self.betas,
                gender=np.str_("neutral"),
                mocap_framerate=np.float64(self.fps),
                label=np.str_(self.label or ""),
                source=np.str_(self.source),
                motionloop_format=np.int64(FORMAT_VERSION),
            )
        return path

    @staticmethod
    def load(path: str | Path) -> Motion:
        """Read a clip written by `save`, or an AMASS SMPL / SMPL-H `.npz`."""
        path = Path(path)
        if not path.exists():
            raise FormatError(f"{path}: no such file")
        if path.suffix != ".npz":
            raise FormatError(f"{path}: not an .npz clip (use `motionloop data import` for other formats)")
        try:
            check_declared_sizes(path)
            with np.load(path, allow_pickle=False) as f:
                data = {k: f[k] for k in f.files}
        except NUMPY_READ_ERRORS as e:
            raise FormatError(f"{path}: unreadable npz ({numpy_error_text(e)})") from None
        for key in ("trans", "poses"):
            if key not in data:
                raise FormatError(f"{path}: missing array {key!r} (has {sorted(data)})")
        poses = data["poses"]
        if poses.ndim != 2 or poses.shape[1] < 66 or poses.shape[1] % 3:
            raise FormatError(f"{path}: poses has shape {poses.shape}, expected (T, 72) SMPL or (T, 156) SMPL-H")
        ours = "motionloop_format" in data
        version = _format_version(path, data) if ours else None
        if poses.shape[1] != 72:
            # SMPL-H / SMPL-X: the 22 body joints come first; SMPL's two hand joints stay at rest.
            body = poses[:, :66]
            poses = np.concatenate([body, np.zeros((len(body), 6), body.dtype)], axis=1)
        if len(poses) == 0:
            raise FormatError(f"{path}: the clip has no frames")
        fps = data.get("mocap_framerate", data.get("mocap_frame_rate", data.get("fps")))
        if fps is None:
            raise FormatError(f"{path}: no frame rate (mocap_framerate)")
        try:
            fps = float(np.asarray(fps).reshape(()))
            trans = np.asarray(data["trans"], dtype=np.float64)
            poses = np.asarray(poses, dtype=np.float64)
            raw_betas = np.asarray(data["betas"], dtype=np.float64).reshape(-1) if "betas" in data else None
        except (TypeError, ValueError) as e:
            raise FormatError(f"{path}: frame rate, trans, poses and betas must be numbers ({e})") from None
        if version != 1 and trans.ndim == 2:  # AMASS convention (foreign files and ours from format 2)
            trans = trans + sk.SMPL_PELVIS_REST
        betas = np.zeros(NUM_BETAS, np.float32)
        if raw_betas is not None:
            b = raw_betas[:NUM_BETAS]
            betas[: len(b)] = b
        label = str(data["label"]) if "label" in data else None
        source = str(data["source"]) if "source" in data and ours else str(path)
        try:
            return Motion(
                trans=trans,
                poses=poses.reshape(len(poses), -1, 3),
                fps=fps,
                betas=betas,
                label=label,
                source=source or str(path),
            )
        except MotionValidationError as e:
            raise MotionValidationError(f"{path}: {e}") from None


def _format_version(path: Path, data: dict) -> int:
    """The `motionloop_format` of a clip file, checked."""
    try:
        version = int(np.asarray(data["motionloop_format"]).reshape(()))
    except (TypeError, ValueError):
        raise FormatError(f"{path}: motionloop_format is not an integer") from None
    if not 1 <= version <= FORMAT_VERSION:
        raise FormatError(
            f"{path}: motionloop_format {version} (this motionloop reads 1..{FORMAT_VERSION}; "
            "a newer motionloop wrote it?)"
        )
    return version


def clip_paths(path: str | Path) -> list[Path]:
    """The `.npz` clips of a file or a clip-set directory, sorted by name."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.npz") if not p.name.startswith("."))
        if not files:
            raise FormatError(f"{path}: directory holds no .npz clips")
        return files
    if not path.exists():
        raise FormatError(f"{path}: no such file or directory")
    return [path]


def load_clips(path: str | Path) -> list[Motion]:
    """Load a single clip file or a clip-set directory."""
    return [Motion.load(p) for p in clip_paths(path)]


def load_clips_skipping(path: str | Path) -> tuple[list[Motion], list[Path], list[str]]:
    """The readable clips of a file or directory, their paths, and one message per clip that
    could not be read (each naming its file): one bad file does not sink a batch.

    Raises FormatError when `path` is missing or holds no clips at all."""
    clips, paths, problems = [], [], []
    for p in clip_paths(path):
        try:
            clips.append(Motion.load(p))
            paths.append(p)
        except MotionloopError as e:
            msg = str(e)
            problems.append(msg if str(p) in msg else f"{p}: {msg}")
    return clips, paths, problems


def save_clips(motions: list[Motion], directory: str | Path, names: list[str] | None = None) -> list[Path]:
    """Write clips into `directory` as `NAME.npz` (default `clip_0000` ...); returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if names is None:
        names = [f"clip_{i:04d}" for i in range(len(motions))]
    if len(names) != len(motions):
        raise ValueError(f"save_clips: {len(motions)} clips but {len(names)} names")
    return [m.save(directory / f"{n}.npz") for m, n in zip(motions, names)]
