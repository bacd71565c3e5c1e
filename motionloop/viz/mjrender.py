"""Offscreen MuJoCo pictures of clips: one panel per clip and frame.

This is the only viz module that imports mujoco; import it only after `gl.plan()` returned
"inprocess" (which set `MUJOCO_GL`). Shadows and reflections are off: on a CPU (Mesa
llvmpipe) they cost ~4x the frame time and add little to reading a motion.
"""

from __future__ import annotations

import mujoco
import numpy as np

from motionloop import body as bd
from motionloop.physics.humanoid import HumanoidSpec
from motionloop.physics.model import Humanoid
from motionloop.viz.camera import CameraConfig
from motionloop.viz.marks import BodyMarks
from motionloop.viz.scene import geom_table, render_mjcf


class MujocoPanels:
    """Renders posed humanoids; owns the model, a scratch MjData and the GL renderer.

    Args:
        size: (width, height) of a panel in pixels.
        camera: the follow camera's fixed orientation and distance.
    """

    def __init__(
        self,
        size: tuple[int, int] = (640, 480),
        camera: CameraConfig = CameraConfig(),
        spec: HumanoidSpec = HumanoidSpec(),
    ):
        self.size = (int(size[0]), int(size[1]))
        self.model = mujoco.MjModel.from_xml_string(render_mjcf(spec, self.size))
        self.data = mujoco.MjData(self.model)
        # Humanoid's qpos mapping (joint addresses) is the same for this restyled model
        self.qpos_map = Humanoid(spec)
        self.geoms = bd.geometry(spec.offsets_array())
        self.table = geom_table(self.model, spec.offsets_array())
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.camera.distance = camera.distance
        self.camera.azimuth, self.camera.elevation = camera.azimuth, camera.elevation
        self.model.vis.global_.fovy = camera.fovy
        self.renderer = mujoco.Renderer(self.model, height=self.size[1], width=self.size[0])
        self.renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
        self.renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False

    def qpos(self, motion) -> np.ndarray:
        """qpos `(T, nq)` of a clip."""
        return self.qpos_map.qpos_from_motion(motion)

    def frame(self, qpos: np.ndarray, lookat: np.ndarray, colours: np.ndarray) -> np.ndarray:
        """One picture `(H, W, 3)` uint8 of pose `qpos (nq,)` seen from `lookat (3,)`, geoms in `colours (G, 4)`."""
        self.data.qpos[:] = qpos
        # positions and orientations of bodies and geoms are all the scene needs
        mujoco.mj_kinematics(self.model, self.data)
        for ids, rgba in zip(self.table, colours):
            self.model.geom_rgba[ids] = rgba
        self.camera.lookat[:] = lookat
        self.renderer.update_scene(self.data, self.camera)
        return self.renderer.render()

    def clip_colours(self, marks: BodyMarks) -> np.ndarray:
        """Geom colours `(T, G, 4)` of a clip from its marks."""
        return marks.geom_colours(self.geoms)

    def close(self) -> None:
        self.renderer.close()

    def __enter__(self) -> MujocoPanels:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
