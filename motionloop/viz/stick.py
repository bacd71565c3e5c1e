"""The fallback picture when no OpenGL backend works: a matplotlib stick figure.

Same camera (camera.project is MuJoCo's free-camera pinhole), floor grid and marks as the
MuJoCo panels, drawn with matplotlib's Agg backend: bones as lines, feet as their sole
quads (green in contact), parts under the floor red.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure

from motionloop import body as bd
from motionloop import skeleton as sk
from motionloop.viz import marks as mk
from motionloop.viz.camera import CameraConfig, project

GRID_HALF = 8  # grid lines within this many metres of the look-at point
GRID_SAMPLES = 33  # points per grid line, so lines crossing behind the eye are cut, not skewed
BACKGROUND = (0.86, 0.89, 0.93)
GRID_COLOUR = (0.55, 0.58, 0.62)


class StickPanels:
    """Stick-figure panels of `size` (width, height) px seen by `camera`."""

    def __init__(self, size: tuple[int, int] = (640, 480), camera: CameraConfig = CameraConfig()):
        self.size = (int(size[0]), int(size[1]))
        self.camera = camera
        w, h = self.size
        self.fig = Figure(figsize=(w / 100, h / 100), dpi=100, facecolor=BACKGROUND)
        self.canvas = FigureCanvasAgg(self.fig)
        ax = self.fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        ax.set_axis_off()
        self.grid = LineCollection([], colors=[GRID_COLOUR], linewidths=0.8)
        self.bones = LineCollection([], linewidths=4, capstyle="round")
        self.soles = PolyCollection([], closed=True)
        for artist in (self.grid, self.soles, self.bones):
            ax.add_collection(artist)
        geoms = bd.geometry()
        self.geom_joint = np.array([g.joint for g in geoms])
        # the box geom of each foot segment, in marks.FOOT_JOINTS order
        boxes = {g.joint: i for i, g in enumerate(geoms) if isinstance(g, bd.Box)}
        self.foot_geom = [boxes[j] for j in mk.FOOT_JOINTS]
        # joint of each bone's owning segment (the parent): its geoms' marks colour the bone
        self.bone_child = np.array([j for j in range(sk.NUM_JOINTS) if sk.PARENTS[j] >= 0])
        self.bone_owner = np.array([sk.PARENTS[j] for j in self.bone_child])

    def _grid_segments(self, lookat: np.ndarray) -> list[np.ndarray]:
        cx, cy = np.round(lookat[:2])
        ticks = np.arange(-GRID_HALF, GRID_HALF + 1)
        along = np.linspace(-GRID_HALF, GRID_HALF, GRID_SAMPLES)
        lines = []
        for k in ticks:
            lines.append(np.stack([np.full_like(along, cx + k), cy + along, np.zeros_like(along)], -1))
            lines.append(np.stack([cx + along, np.full_like(along, cy + k), np.zeros_like(along)], -1))
        return [project(line, lookat, self.camera, self.size) for line in lines]

    def frame(
        self, joints: np.ndarray, soles: np.ndarray, lookat: np.ndarray, contact: np.ndarray, under: np.ndarray
    ) -> np.ndarray:
        """One picture `(H, W, 3)` uint8.

        Args:
            joints: `(24, 3)` world joint positions, m. soles: `(4, 4, 3)` sole corners of the
            foot segments (marks.FOOT_JOINTS order). lookat: `(3,)` m. contact: `(4,)` bool per
            foot segment; under: `(G,)` bool per geom of `body.geometry()` (marks.BodyMarks).
        """
        px = project(joints, lookat, self.camera, self.size)  # (24, 2)
        owner_under = np.zeros(sk.NUM_JOINTS, dtype=bool)
        np.logical_or.at(owner_under, self.geom_joint, under)
        bone_rgba = np.where(owner_under[self.bone_owner, None], mk.UNDER, mk.SKIN) * [0.85, 0.85, 0.85, 1.0]
        foot_rgba = [mk.UNDER if under[g] else mk.CONTACT if c else mk.FOOT for g, c in zip(self.foot_geom, contact)]
        quads = project(soles[:, [0, 1, 3, 2]], lookat, self.camera, self.size)  # corners in ring order
        self.grid.set_segments(self._grid_segments(lookat))
        self.bones.set_segments([px[[p, c]] for p, c in zip(self.bone_owner, self.bone_child)])
        self.bones.set_color(bone_rgba)
        self.soles.set_verts(list(quads))
        self.soles.set_facecolor(foot_rgba)
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        self.fig.clear()
