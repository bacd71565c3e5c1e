"""AMASS `.npz` clips (SMPL `(T, 72)` or SMPL-H `(T, 156)` body parameters) as grounded `Motion`s.

`Motion.load` already reads the file (and converts AMASS' `trans` to the pelvis position); the
importer resamples to the target frame rate and grounds the clip on the default skeleton's
capsule body (ground.py): one vertical shift so the stance soles sit at z = 0, small leg-IK
corrections on stance frames, nothing below the floor. Body shape (`betas`) is kept in the
file but not used for the geometry: without SMPL model files the default skeleton stands in.
"""

from __future__ import annotations

from pathlib import Path

from motionloop.data import stats
from motionloop.data.ground import GroundConfig, ground_motion
from motionloop.motion import Motion


def import_amass(
    path: str | Path, fps: float = 20.0, label: str | None = None, ground_config: GroundConfig = GroundConfig()
) -> tuple[Motion, dict]:
    """Load, resample to `fps` and ground an AMASS clip.

    Returns:
        the clip and a report: `stats.foot_ground_stats` of the result plus format, source,
        offset_m (the vertical shift applied), lift_max_m and stance_share (ground.py).
    Raises:
        FormatError / MotionValidationError: the file is missing or not an AMASS clip.
    """
    motion = Motion.load(path).resample(fps)
    if label is not None:
        motion = motion.replace(label=label)
    motion, info = ground_motion(motion, ground_config)
    return motion, {"format": "amass", "source": str(path), **info, **stats.foot_ground_stats(motion)}
