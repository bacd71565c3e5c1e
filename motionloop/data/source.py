"""`SourceMotion`: joint positions of a foreign skeleton, the common input of retargeting.

Every importer of a non-SMPL format (BVH, DeepMimic, HumanML3D joints) produces one; the
retargeter (retarget.py) turns it into a `Motion` on the SMPL-24 skeleton.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motionloop import skeleton as sk
from motionloop.errors import RetargetError


@dataclass(frozen=True)
class SourceMotion:
    """A foreign skeleton's motion, already in motionloop's world (z-up, metres).

    Attributes:
        positions: `(T, J, 3)` world joint positions, metres, z up.
        names: the `J` source joint names.
        smpl_map: SMPL joint name -> source joint name, for the joints the rig has.
        fps: frames per second.
        source: file (and segment) it came from.
        label: action label, if known.
        meta: format-specific facts worth reporting (detected unit, up axis, rig family ...).
    """

    positions: np.ndarray
    names: tuple[str, ...]
    smpl_map: dict[str, str]
    fps: float
    source: str
    label: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        pos = np.asarray(self.positions, dtype=np.float64)
        if pos.ndim != 3 or pos.shape[2] != 3 or pos.shape[1] != len(self.names):
            raise RetargetError(f"{self.source}: positions {pos.shape} do not match {len(self.names)} joint names")
        if len(pos) == 0:
            raise RetargetError(f"{self.source}: zero frames")
        if not np.all(np.isfinite(pos)):
            raise RetargetError(f"{self.source}: non-finite joint positions")
        unknown = set(self.smpl_map) - set(sk.JOINTS)
        if unknown:
            raise RetargetError(f"{self.source}: smpl_map names unknown SMPL joints {sorted(unknown)}")
        missing = set(self.smpl_map.values()) - set(self.names)
        if missing:
            raise RetargetError(f"{self.source}: smpl_map points at joints not in the rig {sorted(missing)}")
        object.__setattr__(self, "positions", pos)

    def joint(self, smpl_name: str) -> np.ndarray:
        """World positions `(T, 3)` of the source joint mapped to `smpl_name`."""
        return self.positions[:, self.names.index(self.smpl_map[smpl_name])]
