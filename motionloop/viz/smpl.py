"""The SMPL / SMPL-H / SMPL-X mesh of a clip, from the user's own model files, through smplx.

Model files are looked for as `SMPL_<GENDER>`, `SMPLH_<GENDER>` or `SMPLX_<GENDER>` with
suffix `.npz` or `.pkl`, in the given directory or its `smpl/`, `smplh/`, `smplx/` folders
(smplx's layout), then as AMASS's `smplh/<gender>/model.npz`; a file path named like the
former is used as it is. Two loading details (smplx 0.1.28):
- smplx's SMPL class always unpickles a `.pkl` and ignores `ext="npz"`, so an `.npz` is read
  here and handed over as `data_struct`.
- Official SMPL `.pkl` files hold chumpy arrays, and chumpy does not install on Python 3.11 /
  numpy 2: `_ChumpyFreeUnpickler` maps chumpy's classes to a stub that keeps the array.

Skinning is smplx's `lbs` on the model's buffers with the motion's 22 body joints (SMPL also
its 2 hand joints); SMPL-H/X hands, jaw and eyes stay at zero (flat hands). Placement:
motionloop's `trans` is the pelvis position, while SMPL's `transl` is added to a body whose
pelvis rests at J0(betas); the posed pelvis of `lbs` is that J0 whatever the pose, so each
frame is shifted by `trans - J0` (skeleton.py).
"""

from __future__ import annotations

import codecs
import copyreg
import logging
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionloop import skeleton as sk
from motionloop.errors import FormatError, MotionloopError
from motionloop.io import NUMPY_READ_ERRORS, check_declared_sizes, numpy_error_text
from motionloop.motion import Motion

log = logging.getLogger(__name__)

MODEL_TYPES = ("smpl", "smplh", "smplx")
GENDERS = ("neutral", "male", "female")
SUFFIXES = (".npz", ".pkl")
# joints of a motionloop pose the models take: SMPL all 24, SMPL-H/X the 22 body joints
POSE_JOINTS = {"smpl": sk.NUM_JOINTS, "smplh": 22, "smplx": 22}
BATCH = 64  # frames per lbs call
SMPL_KEYS = ("v_template", "f", "J_regressor", "weights", "posedirs", "shapedirs", "kintree_table")


class BodyModelError(MotionloopError):
    """SMPL model files are missing, of an unknown kind, or unreadable."""


def expected_names(gender: str = "neutral") -> list[str]:
    """File names looked for, in order of preference."""
    return [f"{t.upper()}_{gender.upper()}{s}" for t in MODEL_TYPES for s in SUFFIXES]


def find_model_file(path: str | Path, gender: str = "neutral") -> tuple[Path, str]:
    """The model file and its type ("smpl", "smplh", "smplx") for a directory or file `path`."""
    if gender not in GENDERS:
        raise BodyModelError(f"body model gender {gender!r}; valid: {', '.join(GENDERS)}")
    path = Path(path)
    if path.is_file():
        stem = path.stem.upper()
        for t in sorted(MODEL_TYPES, key=len, reverse=True):
            if stem.startswith(t.upper() + "_") and path.suffix in SUFFIXES:
                return path, t
        raise BodyModelError(f"{path}: not a body model file name; expected one of {', '.join(expected_names(gender))}")
    if not path.is_dir():
        raise BodyModelError(f"--body-model {path}: no such directory")
    names = expected_names(gender)
    for folder in (path, *(path / t for t in MODEL_TYPES)):
        for name in names:
            if (folder / name).is_file():
                return folder / name, name.split("_")[0].lower()
    for t in MODEL_TYPES:  # AMASS's body model layout: smplh/neutral/model.npz
        if (path / t / gender / "model.npz").is_file():
            return path / t / gender / "model.npz", t
    raise BodyModelError(
        f"--body-model {path}: no SMPL model file; expected one of {', '.join(names)} "
        f"in {path} or its smpl/, smplh/, smplx/ folders, or AMASS's smplh/{gender}/model.npz "
        "(download them from the SMPL websites)"
    )


class _ChumpyArray:
    """Stands in for a chumpy `Ch` while unpickling; its pickled state holds the array as `x`."""

    def __setstate__(self, state) -> None:
        self.state = state

    def array(self) -> np.ndarray:
        s = self.state
        if isinstance(s, dict):
            if "x" in s:
                return np.asarray(s["x"])
            arrays = [v for v in s.values() if isinstance(v, np.ndarray)]
            if arrays:
                return arrays[0]
        raise FormatError("a chumpy array in the model file holds no numpy array")


class _SparseMatrix:
    """Stands in for a scipy.sparse matrix while unpickling: keeps its compressed arrays and
    makes the dense array itself, so no scipy code runs on the file's say-so."""

    def __setstate__(self, state) -> None:
        self.state = state if isinstance(state, dict) else {}

    def array(self) -> np.ndarray:
        s = self.state
        shape = s.get("_shape", s.get("shape"))
        parts = [s.get(k) for k in ("data", "indices", "indptr")]
        if shape is None or not all(isinstance(p, np.ndarray) for p in parts):
            raise FormatError("a sparse matrix in the model file holds no compressed arrays")
        import scipy.sparse

        kind = scipy.sparse.csr_matrix if self.format == "csr" else scipy.sparse.csc_matrix
        return np.asarray(kind(tuple(parts), shape=tuple(int(n) for n in shape)).todense())


class _CscMatrix(_SparseMatrix):
    format = "csc"


class _CsrMatrix(_SparseMatrix):
    format = "csr"


def _numpy_names(*names: str) -> dict[tuple[str, str], object]:
    """The numpy globals a pickled array needs, under numpy 1's and numpy 2's module paths."""
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy 1
        from numpy.core import multiarray, numeric

    out: dict[tuple[str, str], object] = {}
    for full in names:
        module, name = full.rsplit(".", 1)
        obj = getattr(multiarray if module == "multiarray" else numeric, name)
        for prefix in ("numpy.core.", "numpy._core."):
            out[(prefix + module, name)] = obj
    return out


# Everything an SMPL-family .pkl may name: numpy arrays, dtypes and scalars, chumpy arrays and
# scipy's compressed sparse matrices (both by stand-ins), the Python 2 object rebuilder those
# two use, and bytes. Anything else (os.system, builtins.eval, ...) is refused: a body model is a
# file people download, and unpickling a name runs whatever it names.
_ALLOWED = {
    **_numpy_names("multiarray._reconstruct", "multiarray.scalar", "numeric._frombuffer"),
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("copyreg", "_reconstructor"): copyreg._reconstructor,
    ("builtins", "object"): object,
    ("_codecs", "encode"): codecs.encode,  # how protocol-2 pickles of Python 3 spell bytes
}
for _mod in ("scipy.sparse.csc", "scipy.sparse._csc"):
    _ALLOWED[(_mod, "csc_matrix")] = _CscMatrix
for _mod in ("scipy.sparse.csr", "scipy.sparse._csr"):
    _ALLOWED[(_mod, "csr_matrix")] = _CsrMatrix


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles only the names in `_ALLOWED` (and any chumpy class, as `_ChumpyArray`)."""

    def find_class(self, module: str, name: str):
        if module.split(".")[0] == "chumpy":
            return _ChumpyArray
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (a body model holds only arrays)")


def _plain(value):
    if isinstance(value, (_ChumpyArray, _SparseMatrix)):
        return value.array()
    return value


def read_model_data(path: Path) -> dict:
    """The arrays of an SMPL-layout `.npz` or `.pkl` (chumpy arrays and sparse matrices made plain).

    Never runs code from the file: a `.pkl` is unpickled with an allow-list of array types, an
    `.npz` is read without pickle (its entries holding Python objects, such as SMPL-X's
    name tables, are left out; no model array is one).
    """
    try:
        if path.suffix == ".npz":
            data = {}
            check_declared_sizes(path)
            with np.load(path, allow_pickle=False) as f:
                for k in f.files:
                    try:
                        data[k] = f[k]
                    except ValueError as e:
                        if "allow_pickle" not in str(e):
                            raise
                        log.info("%s: skipping %s (holds Python objects)", path, k)
        else:
            with open(path, "rb") as fh:
                data = _SafeUnpickler(fh, encoding="latin1").load()
    except (*NUMPY_READ_ERRORS, AttributeError, ImportError, IndexError, FormatError) as e:
        raise BodyModelError(f"{path}: unreadable body model file ({numpy_error_text(e)})") from None
    if not isinstance(data, dict):
        raise BodyModelError(f"{path}: not an SMPL model (expected a dict of arrays, got {type(data).__name__})")
    try:
        return {k: _plain(v) for k, v in data.items()}
    except (FormatError, ValueError, TypeError) as e:
        raise BodyModelError(f"{path}: unreadable body model file ({e})") from None


@dataclass
class BodyModel:
    """A loaded SMPL-family model.

    Attributes:
        module: the smplx module (holds v_template, shapedirs, posedirs, J_regressor, parents, lbs_weights).
        kind: "smpl", "smplh" or "smplx".
        faces: `(F, 3)` int triangle indices.
        path: the model file.
    """

    module: object
    kind: str
    faces: np.ndarray
    path: Path

    def vertices(self, motion: Motion, frames: np.ndarray) -> np.ndarray:
        """World vertices `(N, V, 3)` in metres of `motion` at frame indices `frames (N,)`."""
        import torch
        from smplx.lbs import lbs

        m = self.module
        n_joints = int(m.J_regressor.shape[0])
        k = POSE_JOINTS[self.kind]
        n_betas = int(m.shapedirs.shape[-1])
        betas = torch.zeros(1, n_betas)
        nb = min(n_betas, len(motion.betas))
        betas[0, :nb] = torch.tensor(motion.betas[:nb])  # a copy: Motion arrays are read-only
        out = []
        for start in range(0, len(frames), BATCH):
            idx = np.asarray(frames[start : start + BATCH])
            pose = torch.zeros(len(idx), n_joints, 3)
            pose[:, :k] = torch.tensor(motion.poses[idx, :k])
            with torch.no_grad():
                verts, joints = lbs(
                    betas.expand(len(idx), -1),
                    pose.reshape(len(idx), -1),
                    m.v_template,
                    m.shapedirs,
                    m.posedirs,
                    m.J_regressor,
                    m.parents,
                    m.lbs_weights,
                )
            # move the posed pelvis (J0 of these betas) onto motionloop's pelvis position
            shift = torch.tensor(motion.trans[idx], dtype=verts.dtype) - joints[:, 0]
            out.append((verts + shift[:, None]).numpy())
        return np.concatenate(out, axis=0).astype(np.float64)


def load_body_model(path: str | Path, gender: str = "neutral") -> BodyModel:
    """Load the SMPL / SMPL-H / SMPL-X model found at `path` (a directory or a model file)."""
    import smplx
    from smplx.utils import Struct

    file, kind = find_model_file(path, gender)
    try:
        data = read_model_data(file)
        missing = [k for k in SMPL_KEYS if k not in data]
        if missing:
            raise BodyModelError(f"{file}: not an SMPL model file, missing {', '.join(missing)}")
        if kind == "smplx":
            # SMPLX takes no data_struct and unpickles its file itself: hand it a copy that holds
            # only the arrays read above, which its loader can open without running anything
            with tempfile.TemporaryDirectory() as tmp:
                clean = Path(tmp) / "SMPLX_NEUTRAL.npz"
                np.savez(clean, **{k: v for k, v in data.items() if np.asarray(v).dtype != object})
                module = smplx.SMPLX(str(clean), ext="npz", use_pca=False, flat_hand_mean=True)
        else:
            cls = smplx.SMPL if kind == "smpl" else smplx.SMPLH
            extra = {} if kind == "smpl" else {"use_pca": False, "flat_hand_mean": True}
            module = cls(str(file.parent), data_struct=Struct(**data), **extra)
    except BodyModelError:
        raise
    except (KeyError, ValueError, AttributeError, IndexError, RuntimeError, AssertionError) as e:
        raise BodyModelError(f"{file}: cannot build the {kind.upper()} model ({type(e).__name__}: {e})") from None
    return BodyModel(module=module, kind=kind, faces=np.asarray(module.faces, dtype=np.int64), path=file)
