"""The MuJoCo humanoid built from the skeleton and the capsule body.

Body frames are SMPL's canonical joint frames (x left, y up, z forward) in the rest pose, so
the free joint's quaternion *is* the Motion's root rotation and `trans` is the pelvis body
position. A non-root joint has up to three hinges about its frame's x, y, z axes: by default
only those the retargeted data turns (`HumanoidSpec.axes`, "data": toes, hands and head
welded, one elbow hinge, no knee twist; "full" keeps all three), listed in the order
`EULER_ORDER[joint]` (MuJoCo composes a body's hinges in the order they are listed, so
the local rotation is `R = R_a1(q1) @ R_a2(q2) @ R_a3(q3)`, an intrinsic Euler sequence). The
middle axis of each sequence is the one that moves least in human motion (twist for arms,
abduction for legs and spine), keeping the Euler singularity out of reach.

Contacts: only body-floor (no self-collision: mocap and generated clips often pass a hand
through a thigh, and tracking should not fight that). Each foot stands on 8 small spheres at
its sole corners (rear foot + toes); MuJoCo's box-plane contact alone gives 1-2 points and a
standing body slides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from xml.etree import ElementTree as ET

import numpy as np

from motionloop import body as bd
from motionloop import config as cfgmod
from motionloop import skeleton as sk

_ARM = ("collar", "shoulder", "elbow", "wrist", "hand")
EULER_ORDER: tuple[str, ...] = tuple("ZXY" if any(n.endswith(a) for a in _ARM) else "XZY" for n in sk.JOINTS)

# Torque limit per joint segment in N m (about each hinge axis), for the 70 kg body.
TORQUE_LIMIT = {
    "pelvis": 0.0,
    "hip": 300.0,
    "knee": 300.0,
    "ankle": 200.0,
    "foot": 60.0,
    "spine1": 300.0,
    "spine2": 300.0,
    "spine3": 300.0,
    "neck": 60.0,
    "head": 40.0,
    "collar": 120.0,
    "shoulder": 150.0,
    "elbow": 100.0,
    "wrist": 40.0,
    "hand": 10.0,
}

# Hinge ranges in degrees per axis (x, y, z) of the left-side or midline joint; the right
# side mirrors y and z. Generous: they stop impossible poses, not unusual ones, and they hold
# the bundled real data (its 0.5-99.5 percentiles: knee x -26..146 and z -4..36, where the
# retargeter straightens knees past 0; spine2/3 x up to 67).
JOINT_RANGE_DEG = {
    "hip": ((-160, 60), (-80, 80), (-70, 90)),
    "knee": ((-35, 170), (-40, 40), (-45, 45)),
    "ankle": ((-60, 80), (-45, 45), (-50, 50)),
    "foot": ((-60, 60), (-30, 30), (-30, 30)),
    "spine1": ((-90, 90), (-60, 60), (-60, 60)),
    "spine2": ((-60, 75), (-60, 60), (-45, 45)),
    "spine3": ((-60, 75), (-60, 60), (-45, 45)),
    "neck": ((-70, 70), (-80, 80), (-60, 60)),
    "head": ((-70, 70), (-80, 80), (-60, 60)),
    "collar": ((-60, 60), (-60, 60), (-60, 60)),
    "shoulder": ((-180, 180), (-180, 180), (-180, 180)),
    "elbow": ((-90, 90), (-170, 30), (-60, 60)),
    "wrist": ((-90, 90), (-90, 90), (-90, 90)),
    "hand": ((-90, 90), (-90, 90), (-90, 90)),
}

# Hinges per joint segment in the "data" joint space: the axes the retargeted mocap turns
# (99th percentile over the bundled set, degrees: toes, hands and head 0; elbow x 1.2 and z 6-7
# against y 125-131; knee y (twist) 3.8 against x 130 and z 20-32). A body with hinges the
# data never uses bends them when it tracks (toes curl, knees twist), and the tracked clip
# leaves the data's joint space. "full" gives every joint three hinges (AMASS-style data
# whose toes, hands and head move).
DATA_AXES = {"foot": "", "hand": "", "head": "", "elbow": "Y", "knee": "XZ"}
Axes = Literal["data", "full"]

SOLE_SPHERE_RADIUS = 0.008  # m; sole-corner contact spheres sit with their bottom on the sole


@dataclass(frozen=True)
class HumanoidSpec:
    """What the MJCF is built from.

    Attributes:
        offsets: `(24, 3)` rest offsets in metres (default skeleton if None).
        mass: total body mass in kg.
        timestep: physics step in s.
        friction: sliding friction coefficient of body-floor contacts.
        damping: joint damping in N m s / rad (implicit, so light segments stay stable).
        armature: rotor inertia added to each hinge in kg m^2 (stabilises light segments).
        axes: "data" (hinges only where the retargeted data turns, DATA_AXES) or "full"
            (three hinges at every joint).
    """

    offsets: tuple | None = None
    mass: float = bd.BODY_MASS
    timestep: float = 1.0 / 480.0
    friction: float = 1.0
    damping: float = 2.0
    armature: float = 0.02
    axes: Axes = "data"

    def __post_init__(self) -> None:
        cfgmod.check_choices(self)

    def joint_axes(self, joint: int) -> str:
        """The hinge axes of `joint` ("XYZ" letters, in EULER_ORDER)."""
        order = EULER_ORDER[joint]
        if self.axes == "full":
            return order
        keep = DATA_AXES.get(_segment(sk.JOINTS[joint]), "XYZ")
        return "".join(a for a in order if a in keep)

    def offsets_array(self) -> np.ndarray:
        return sk.REST_OFFSETS if self.offsets is None else np.asarray(self.offsets, dtype=np.float64)


def _segment(name: str) -> str:
    return name.removeprefix("left_").removeprefix("right_")


def _fmt(v) -> str:
    return " ".join(f"{float(x):.6g}" for x in np.atleast_1d(v))


def joint_range(joint: int) -> np.ndarray:
    """Hinge ranges `(3, 2)` in radians about the x, y, z axes of `joint`."""
    r = np.deg2rad(np.array(JOINT_RANGE_DEG[_segment(sk.JOINTS[joint])], dtype=np.float64))
    if sk.JOINTS[joint].startswith("right_"):
        # mirroring across the sagittal plane (x -> -x) negates rotations about y and z
        r[1:] = -r[1:, ::-1]
    return r


def build_mjcf(spec: HumanoidSpec = HumanoidSpec()) -> str:
    """The humanoid MJCF as a string."""
    off = spec.offsets_array()
    geoms = bd.geometry(off)
    root = ET.Element("mujoco", model="motionloop_humanoid")
    ET.SubElement(root, "compiler", angle="radian", autolimits="true")
    ET.SubElement(
        root,
        "option",
        timestep=f"{spec.timestep:.8g}",
        integrator="implicitfast",
        cone="pyramidal",
    )
    default = ET.SubElement(root, "default")
    ET.SubElement(
        default, "joint", type="hinge", damping=_fmt(spec.damping), armature=_fmt(spec.armature), limited="true"
    )
    # contype/conaffinity: bodies (1) collide with the floor (2) only, not with each other
    ET.SubElement(
        default,
        "geom",
        contype="1",
        conaffinity="0",
        friction=f"{spec.friction} 0.005 0.0001",
        condim="3",
        solref="0.01 1",
        solimp="0.95 0.99 0.001",
    )
    ET.SubElement(default, "motor", ctrllimited="true")
    asset = ET.SubElement(root, "asset")
    ET.SubElement(
        asset,
        "texture",
        name="grid",
        type="2d",
        builtin="checker",
        width="512",
        height="512",
        rgb1="0.35 0.38 0.42",
        rgb2="0.28 0.3 0.33",
    )
    ET.SubElement(asset, "material", name="grid", texture="grid", texrepeat="10 10", reflectance="0")
    world = ET.SubElement(root, "worldbody")
    ET.SubElement(world, "light", pos="0 0 6", dir="0 0 -1", directional="true", castshadow="false")
    ET.SubElement(
        world,
        "geom",
        name="floor",
        type="plane",
        size="0 0 0.1",
        material="grid",
        contype="2",
        conaffinity="1",
        friction=f"{spec.friction} 0.005 0.0001",
    )

    mass = {j: bd.segment_mass(j, spec.mass) for j in range(sk.NUM_JOINTS)}
    elems: dict[int, ET.Element] = {}
    actuators = ET.SubElement(root, "actuator")
    for j, name in enumerate(sk.JOINTS):
        parent = world if j == sk.PELVIS else elems[sk.PARENTS[j]]
        pos = np.array([0.0, 0.0, sk.PELVIS_HEIGHT]) if j == sk.PELVIS else off[j]
        attrs = {"name": name, "pos": _fmt(pos)}
        if j == sk.PELVIS:
            # canonical frame -> z-up world: a standing body (see skeleton.UPRIGHT)
            attrs["quat"] = "0.7071068 0.7071068 0 0"
        b = ET.SubElement(parent, "body", **attrs)
        elems[j] = b
        if j == sk.PELVIS:
            ET.SubElement(b, "freejoint", name="root")
        else:
            rng = joint_range(j)
            limit = TORQUE_LIMIT[_segment(name)]
            for axis in spec.joint_axes(j):
                k = "XYZ".index(axis)
                jname = f"{name}_{axis.lower()}"
                ET.SubElement(b, "joint", name=jname, axis=_fmt(np.eye(3)[k]), range=_fmt(rng[k]))
                ET.SubElement(actuators, "motor", name=jname, joint=jname, ctrlrange=_fmt([-limit, limit]))
        mine = [g for g in geoms if g.joint == j]
        vols = [_volume(g) for g in mine]
        for g, v in zip(mine, vols):
            m = mass[j] * v / sum(vols)
            if isinstance(g, bd.Capsule):
                if np.allclose(g.a, g.b):
                    ET.SubElement(
                        b,
                        "geom",
                        type="sphere",
                        size=_fmt(g.radius),
                        pos=_fmt(g.a),
                        mass=_fmt(m),
                        rgba="0.8 0.6 0.45 1",
                    )
                else:
                    ET.SubElement(
                        b,
                        "geom",
                        type="capsule",
                        size=_fmt(g.radius),
                        fromto=_fmt(np.r_[g.a, g.b]),
                        mass=_fmt(m),
                        rgba="0.8 0.6 0.45 1",
                    )
            else:
                # the box carries the foot's mass and looks; the sole spheres make its contacts
                ET.SubElement(
                    b,
                    "geom",
                    type="box",
                    size=_fmt(g.half),
                    pos=_fmt(g.center),
                    mass=_fmt(m),
                    contype="0",
                    conaffinity="0",
                    rgba="0.3 0.3 0.35 1",
                )
                for c in g.sole():
                    c = c + np.array([0.0, SOLE_SPHERE_RADIUS, 0.0])
                    ET.SubElement(
                        b,
                        "geom",
                        type="sphere",
                        size=_fmt(SOLE_SPHERE_RADIUS),
                        pos=_fmt(c),
                        mass="0",
                        rgba="0.3 0.3 0.35 1",
                    )
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def _volume(g: bd.Capsule | bd.Box) -> float:
    if isinstance(g, bd.Box):
        return float(8 * np.prod(g.half))
    length = float(np.linalg.norm(np.subtract(g.b, g.a)))
    return float(np.pi * g.radius**2 * length + 4.0 / 3.0 * np.pi * g.radius**3)
