"""Per-frame meshes of a clip with trimesh: `export_mesh(motion, out_dir, format=...)`.

The default body is the capsule body of the physics humanoid (body.py), posed by forward
kinematics and coloured like the videos (feet in contact green, parts under the floor red,
marks.py). With `body_model` (SMPL model files of the user's), the SMPL / SMPL-H / SMPL-X mesh
instead (smpl.py). One file per frame, `frame_NNNNN.<format>`.

Axes: OBJ and PLY keep motionloop's world (z up, metres). glTF defines +y as up, so a GLB is
written in the glTF frame: (x, y, z)_glb = (x, z, -y)_world, and it stands upright in any
glTF viewer.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import trimesh

from motionloop import body as bd
from motionloop.errors import MotionloopError, UnknownNameError
from motionloop.io import atomic_path
from motionloop.motion import Motion
from motionloop.viz.marks import body_marks

FORMATS = ("obj", "ply", "glb")
CAPSULE_SEGMENTS = (10, 10)  # trimesh capsule resolution (around, along)
# world (z up) -> glTF (y up)
TO_GLTF = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


class FrameSpecError(MotionloopError):
    """A `--frames a:b:s` selection is malformed or selects no frame."""


def parse_frames(spec: str | None, num_frames: int) -> np.ndarray:
    """Frame indices `(N,)` selected by a Python-style slice `"a:b:s"` (any part optional, e.g. `"::5"`).

    A single integer `"k"` selects frame k; negative values count from the end, as in Python.
    """
    if spec is None or spec.strip() in ("", ":", "::"):
        return np.arange(num_frames)
    text = spec.strip()
    if not re.fullmatch(r"-?\d*(:-?\d*){0,2}", text):
        raise FrameSpecError(f"--frames {spec!r}: expected a:b:s with integers, e.g. 0:100:5 or ::10")
    parts = [int(p) if p else None for p in text.split(":")]
    if len(parts) == 1:
        k = parts[0]
        if not -num_frames <= k < num_frames:
            raise FrameSpecError(f"--frames {spec!r}: the clip has {num_frames} frames (0..{num_frames - 1})")
        return np.array([k % num_frames])
    if len(parts) == 3 and parts[2] == 0:
        raise FrameSpecError(f"--frames {spec!r}: step must not be 0")
    idx = np.arange(num_frames)[slice(*parts)]
    if len(idx) == 0:
        raise FrameSpecError(f"--frames {spec!r} selects no frame of the clip's {num_frames}")
    return idx


def capsule_template(offsets: np.ndarray | None = None):
    """The body's unposed pieces: local vertices `(V, 3)` in their joint's frame, the joint of each
    vertex `(V,)`, the geom of each vertex `(V,)` (index into `body.geometry`), faces `(F, 3)`."""
    verts, joints, owners, faces = [], [], [], []
    count = 0
    for g, geom in enumerate(bd.geometry(offsets)):
        if isinstance(geom, bd.Box):
            piece = trimesh.creation.box(extents=2 * np.asarray(geom.half))
            piece.apply_translation(geom.center)
        else:
            a, b = np.asarray(geom.a), np.asarray(geom.b)
            length = float(np.linalg.norm(b - a))
            if length < 1e-9:
                piece = trimesh.creation.icosphere(subdivisions=2, radius=geom.radius)
            else:
                # trimesh's capsule lies along z, centred: turn z onto a->b, move to the midpoint
                piece = trimesh.creation.capsule(height=length, radius=geom.radius, count=CAPSULE_SEGMENTS)
                turn = trimesh.geometry.align_vectors([0.0, 0.0, 1.0], (b - a) / length)
                piece.apply_transform(turn)
            piece.apply_translation((a + b) / 2)
        verts.append(piece.vertices)
        faces.append(piece.faces + count)
        joints.append(np.full(len(piece.vertices), geom.joint))
        owners.append(np.full(len(piece.vertices), g))
        count += len(piece.vertices)
    return np.concatenate(verts), np.concatenate(joints), np.concatenate(owners), np.concatenate(faces)


def capsule_vertices(motion: Motion, frames: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """World vertices `(N, V, 3)` (m) of the capsule body at frame indices `frames (N,)`."""
    local, joint, _, _ = capsule_template(offsets)
    pos, glob = motion.fk(offsets)
    pos, glob = pos[frames], glob[frames]
    # v_world = p_joint + G_joint @ v_local, for every vertex of every frame
    return pos[:, joint] + np.einsum("nvij,vj->nvi", glob[:, joint], local)


def _colours(motion: Motion, frames: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """Vertex colours `(N, V, 4)` uint8 from the clip's marks."""
    geoms = bd.geometry()
    rgba = body_marks(motion).geom_colours(geoms)[frames]  # (N, G, 4)
    return (rgba[:, owners] * 255).round().astype(np.uint8)


def export_mesh(
    motion: Motion,
    out_dir: str | os.PathLike,
    format: str = "obj",
    frames: str | None = None,
    body_model: str | os.PathLike | None = None,
    gender: str = "neutral",
) -> list[Path]:
    """Write one mesh file per selected frame into `out_dir`; returns the paths.

    Args:
        format: "obj", "ply" or "glb".
        frames: a slice `"a:b:s"` of frame indices (`parse_frames`); None = every frame.
        body_model: directory (or file) of SMPL / SMPL-H / SMPL-X model files; None = capsule body.
        gender: which model file to use with `body_model` ("neutral", "male", "female").
    """
    fmt = format.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UnknownNameError("mesh format", format, FORMATS)
    idx = parse_frames(frames, motion.num_frames)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MotionloopError(f"{out_dir}: cannot create the output directory ({e.strerror or e})") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise MotionloopError(f"{out_dir}: directory is not writable")
    if body_model is None:
        _, _, owners, faces = capsule_template()
        verts = capsule_vertices(motion, idx)
        colours = _colours(motion, idx, owners)
    else:
        from motionloop.viz.smpl import load_body_model

        model = load_body_model(body_model, gender)
        faces, verts, colours = model.faces, model.vertices(motion, idx), None
    paths = []
    for n, t in enumerate(idx):
        v = verts[n] @ TO_GLTF.T if fmt == "glb" else verts[n]
        mesh = trimesh.Trimesh(
            vertices=v, faces=faces, process=False, vertex_colors=None if colours is None else colours[n]
        )
        path = out_dir / f"frame_{int(t):05d}.{fmt}"
        with atomic_path(path) as tmp:
            mesh.export(tmp, file_type=fmt)
        paths.append(path)
    return paths
