"""The humanoid dressed for the camera: physics' MJCF with a grid floor, sky and picture size.

The bodies and geoms are physics/humanoid.py's, unchanged (so the picture shows exactly
the body the metrics and the tracker use); only looks are edited: a 0.5 m checker floor with
1 m grid lines, a gradient sky, a head light, and an offscreen buffer as large as the
picture. `geom_table` maps each geom of `body.geometry()` to its MuJoCo geoms so that the
marks (marks.py) can recolour them per frame.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

import numpy as np

from motionloop import body as bd
from motionloop import skeleton as sk
from motionloop.physics.humanoid import HumanoidSpec, build_mjcf

FLOOR_RGB = ("0.42 0.45 0.49", "0.36 0.39 0.43")  # checker colours
GRID_RGB = "0.75 0.77 0.8"  # 1 m lines
SKY_RGB = ("0.72 0.80 0.90", "0.95 0.96 0.98")


def render_mjcf(spec: HumanoidSpec = HumanoidSpec(), size: tuple[int, int] = (640, 480)) -> str:
    """The humanoid MJCF of `spec` restyled for rendering pictures of `size` (width, height) px."""
    root = ET.fromstring(build_mjcf(spec))
    asset = root.find("asset")
    for el in list(asset):
        if el.get("name") == "grid":
            asset.remove(el)
    # texuniform: texrepeat counts repeats per metre. The checker texture holds 2x2 cells and
    # repeats once per metre (0.5 m cells); the line texture is a flat square whose edge is
    # marked, repeated once per metre (a line every metre).
    ET.SubElement(
        asset,
        "texture",
        name="grid",
        type="2d",
        builtin="checker",
        width="256",
        height="256",
        rgb1=FLOOR_RGB[0],
        rgb2=FLOOR_RGB[1],
        mark="edge",
        markrgb=GRID_RGB,
    )
    # opaque: a see-through floor would show parts under it, but costs ~30% of the frame rate
    ET.SubElement(asset, "material", name="grid", texture="grid", texrepeat="1 1", texuniform="true", reflectance="0")
    ET.SubElement(
        asset,
        "texture",
        name="sky",
        type="skybox",
        builtin="gradient",
        width="64",
        height="64",
        rgb1=SKY_RGB[0],
        rgb2=SKY_RGB[1],
    )
    visual = root.find("visual")
    if visual is None:
        visual = ET.Element("visual")
        root.insert(1, visual)
    ET.SubElement(visual, "global", offwidth=str(int(size[0])), offheight=str(int(size[1])))
    ET.SubElement(visual, "headlight", ambient="0.45 0.45 0.45", diffuse="0.55 0.55 0.55", specular="0.1 0.1 0.1")
    ET.SubElement(visual, "rgba", haze="0.85 0.88 0.92 1")
    return ET.tostring(root, encoding="unicode")


def geom_table(model, offsets: np.ndarray | None = None) -> list[np.ndarray]:
    """MuJoCo geom ids of each geom of `body.geometry(offsets)`, in its order.

    build_mjcf writes a body's geoms in `body.geometry` order, each box followed by the
    small spheres at its sole corners; those belong to the box (they take its colour).
    """
    import mujoco

    geoms = bd.geometry(offsets)
    queue = {j: list(np.flatnonzero(model.geom_bodyid == model.body(sk.JOINTS[j]).id)) for j in range(sk.NUM_JOINTS)}
    table: list[np.ndarray] = []
    for g in geoms:
        n = 1 + (len(g.sole()) if isinstance(g, bd.Box) else 0)
        mine, queue[g.joint] = queue[g.joint][:n], queue[g.joint][n:]
        want = mujoco.mjtGeom.mjGEOM_BOX if isinstance(g, bd.Box) else None
        if len(mine) != n or (want is not None and model.geom_type[mine[0]] != want):
            raise RuntimeError(f"geom layout of body {sk.JOINTS[g.joint]!r} does not follow body.geometry()")
        table.append(np.array(mine))
    if any(queue.values()):
        raise RuntimeError("the humanoid has geoms that body.geometry() does not list")
    return table
