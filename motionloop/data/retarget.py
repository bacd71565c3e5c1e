"""Retargeting: a foreign skeleton's joint positions (`SourceMotion`) to an SMPL-24 `Motion`.

One retargeter serves every positions format (BVH, DeepMimic, HumanML3D joints):
1. Scale: the source is scaled about the world origin by the ratio of the default skeleton's
   leg length (hip -> knee -> ankle) to the source's (median over frames, mean of both legs),
   so stride lengths and root travel scale with the body.
2. Bone directions (directions.py): every joint's global rotation points its rest bone along
   the source's bone, with twist from hinge planes; joints the source lacks are filled by the
   rules listed there (`RetargetReport.missing_joints` names them).
3. Leg IK (ik.py): hips and knees turn so that our ankles land exactly on the scaled source
   ankles, keeping each knee in the source's knee plane; then the feet get their rotations.
4. Grounding (ground.py): stance detection on the body's soles, one vertical offset so stance
   soles are at z = 0, per-frame IK corrections on stance frames, nothing below the floor; a
   swing foot keeps at least the source's clearance (`foot_clearance`), so our foot, longer
   than many rigs' (DeepMimic's is 0.18 m, ours 0.255 m), does not scrape the floor mid-swing.
5. Resampling to `fps` (`Motion.resample`), then a last lift of any frame the interpolation
   put below the floor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from motionloop import ik
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.data import directions, stats
from motionloop.data.ground import GroundConfig, ground
from motionloop.data.source import SourceMotion
from motionloop.errors import RetargetError
from motionloop.motion import Motion

REQUIRED: tuple[str, ...] = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
REQUIRED_ANY: tuple[str, ...] = ("neck", "head")


@dataclass(frozen=True)
class RetargetReport:
    """How well a retargeted clip follows its source.

    Attributes:
        bone_dir_err_deg: mean angle (degrees) between our bone directions and the source's,
            over the measured bones and all source frames (before resampling). Measured
            bones: each mapped joint with its nearest mapped ancestor, plus the hips line; the
            pelvis and the collars are left out (rigs place them differently: DeepMimic's root
            is level with the hips, CMU's collars start on the spine), so a shoulder is
            measured from the chest; so are source bones shorter than 1 cm.
        bone_dir_err_max_deg: the largest such angle.
        foot_ground_share: share of output frames with a foot within 2 cm of the floor.
        planted_foot_speed_mps: mean horizontal speed (m/s) of feet within 2 cm of the floor.
        scale: factor applied to the source's positions (our leg length / the source's).
        frames: output frames; fps: output frame rate.
        missing_joints: SMPL joints the source lacks, filled by rule (see directions.py).
    """

    bone_dir_err_deg: float
    bone_dir_err_max_deg: float
    foot_ground_share: float
    planted_foot_speed_mps: float
    scale: float
    frames: int
    fps: float
    missing_joints: tuple[str, ...]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["missing_joints"] = list(self.missing_joints)
        return d


def check_source(src: SourceMotion) -> None:
    """Raise `RetargetError` naming the missing joints if `src` cannot be retargeted."""
    missing = [n for n in REQUIRED if n not in src.smpl_map]
    if not any(n in src.smpl_map for n in REQUIRED_ANY):
        missing.append(" or ".join(REQUIRED_ANY))
    if missing:
        raise RetargetError(
            f"{src.source}: cannot retarget without SMPL joints {', '.join(missing)}; "
            f"mapped: {', '.join(sorted(src.smpl_map)) or 'none'}"
        )


def leg_length(src: SourceMotion) -> float:
    """The source's leg length (hip -> knee -> ankle), metres: median over frames, mean of both legs."""
    legs = [
        np.median(
            np.linalg.norm(src.joint(f"{s}_hip") - src.joint(f"{s}_knee"), axis=-1)
            + np.linalg.norm(src.joint(f"{s}_knee") - src.joint(f"{s}_ankle"), axis=-1)
        )
        for s in ("left", "right")
    ]
    return float(np.mean(legs))


def _reference_leg() -> float:
    return float(np.linalg.norm(sk.REST_OFFSETS[sk.LEFT_KNEE]) + np.linalg.norm(sk.REST_OFFSETS[sk.LEFT_ANKLE]))


# Joints whose place is a rig convention (a "collar" may sit on the spine, mid-clavicle or at
# the shoulder): left out of the error, so a shoulder is measured from the chest.
_RIG_CONVENTION = (sk.LEFT_COLLAR, sk.RIGHT_COLLAR)


def measured_bones(smpl_map: dict[str, str]) -> list[tuple[int, int]]:
    """(ancestor, joint) index pairs the bone-direction error is measured on (see `RetargetReport`)."""
    mapped = {sk.JOINTS.index(n) for n in smpl_map} - set(_RIG_CONVENTION)
    pairs = [(sk.RIGHT_HIP, sk.LEFT_HIP)]  # the hips line
    for j in sorted(mapped):
        a = sk.PARENTS[j]
        while a >= 0 and a not in mapped:
            a = sk.PARENTS[a]
        if a > 0:
            pairs.append((a, j))
    return pairs


def bone_direction_errors(ours: np.ndarray, target: dict[int, np.ndarray], pairs: list[tuple[int, int]]) -> np.ndarray:
    """Angles `(T, P)` in degrees between our bones `ours (T, 24, 3)` and the target's, per pair."""
    out = []
    for a, b in pairs:
        u = ours[:, b] - ours[:, a]
        v = target[b] - target[a]
        cos = np.sum(u * v, -1) / np.maximum(np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1), 1e-12)
        out.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.stack(out, axis=-1)


def foot_clearance(q: dict[int, np.ndarray], fps: float, percentile: float = 5.0) -> np.ndarray:
    """How far each source foot in swing is off the floor `(T, 2)`, metres (left, right).

    The lower of its ankle's and ball's heights above their own stance height (a low
    percentile of that joint's height over the clip), so it depends neither on the source's
    sole geometry nor on its floor level. It counts only while the foot swings: weighted by
    the ankle's horizontal speed, from 0 at 0.5 m/s to 1 at 1 m/s. (A foot rolling onto its
    toes lifts both joints while its toes still touch the floor: slowly.)
    """
    out = []
    for side in ("left", "right"):
        joints = [sk.JOINTS.index(f"{side}_{n}") for n in ("ankle", "foot")]
        rise = np.min([q[j][:, 2] - np.percentile(q[j][:, 2], percentile) for j in joints if j in q], axis=0)
        ankle = q[joints[0]][:, :2]
        speed = np.linalg.norm(np.diff(ankle, axis=0), axis=-1) * fps if len(ankle) > 1 else np.zeros(0)
        speed = np.concatenate([speed, speed[-1:]]) if len(speed) else np.zeros(1)
        out.append(rise * np.clip((speed - 0.5) / 0.5, 0.0, 1.0))
    return np.stack(out, axis=-1)


def retarget(
    src: SourceMotion, fps: float = 20.0, ground_config: GroundConfig = GroundConfig()
) -> tuple[Motion, RetargetReport]:
    """Retarget a source clip to the default SMPL-24 skeleton (see the module docstring).

    Args:
        src: joint positions `(T, J, 3)` of any rig, z-up metres, with its SMPL joint map.
        fps: output frame rate.
        ground_config: stance detection and grounding settings.
    Returns:
        the `Motion` (z-up, feet on the floor, `fps`, label and source carried over) and its
        `RetargetReport`.
    Raises:
        RetargetError: the source lacks hips, knees, ankles, or both neck and head, or has a
            zero-length leg.
    """
    check_source(src)
    src_leg = leg_length(src)
    if not src_leg > 1e-6:
        raise RetargetError(f"{src.source}: the source's legs have zero length")
    scale = _reference_leg() / src_leg
    q = {sk.JOINTS.index(n): scale * src.joint(n) for n in src.smpl_map}  # (T, 3) each

    glob, trans = directions.solve_directions(q)
    pos, _ = sk.fk_mats(sk.local_rotations(glob), trans)
    for leg in ik.LEGS:
        glob = ik.reach(glob, pos, leg, q[leg[2]])
    directions.solve_feet(glob, q)
    clearance = foot_clearance(q, src.fps) if ground_config.swing_clearance else None
    glob, trans, _ = ground(glob, trans, src.fps, None, ground_config, clearance)

    pos, _ = sk.fk_mats(sk.local_rotations(glob), trans)
    # directions only (grounding moved our clip vertically, not the source), at the source's
    # frame rate; a source "bone" shorter than 1 cm (two joints at one place) has no direction
    pairs = [(a, b) for a, b in measured_bones(src.smpl_map) if np.median(np.linalg.norm(q[b] - q[a], axis=-1)) > 0.01]
    errors = bone_direction_errors(pos, q, pairs)

    motion = Motion(
        trans=trans,
        poses=rot.mat_to_aa(sk.local_rotations(glob)),
        fps=src.fps,
        label=src.label,
        source=src.source,
    ).resample(fps)
    motion = lift_above_floor(motion)
    foot = stats.foot_ground_stats(motion)
    report = RetargetReport(
        bone_dir_err_deg=float(errors.mean()),
        bone_dir_err_max_deg=float(errors.max()),
        foot_ground_share=foot["foot_ground_share"],
        planted_foot_speed_mps=foot["planted_foot_speed_mps"],
        scale=float(scale),
        frames=motion.num_frames,
        fps=float(motion.fps),
        missing_joints=tuple(n for n in sk.JOINTS if n not in src.smpl_map),
    )
    return motion, report


def lift_above_floor(motion: Motion) -> Motion:
    """The clip with every frame whose body dips below z = 0 raised by exactly its penetration."""
    pos, glob = motion.fk()
    lift = np.maximum(0.0, -stats.lowest_points(pos, glob))
    if not lift.any():
        return motion
    return motion.replace(trans=motion.trans + lift[:, None] * np.array([0.0, 0.0, 1.0]))
