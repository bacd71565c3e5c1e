"""The error of the evaluation stage (checkpoint problems raise `CheckpointError`)."""

from __future__ import annotations

from motionloop.errors import MotionloopError


class EvaluationError(MotionloopError):
    """Evaluation got unusable input: no clips, clips too short, n too large, bad arrays."""
