"""The one exception hierarchy of motionloop.

Every error a user can cause (bad file, bad shape, unknown name, bad config) is a
`MotionloopError` whose message says what was wrong and where. The CLI prints the message
on one line and exits non-zero; nothing else should reach the user as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


class MotionloopError(Exception):
    """Base class of every error motionloop raises on purpose."""


class MotionValidationError(MotionloopError):
    """A Motion field has the wrong shape, dtype, or non-finite values."""


class FormatError(MotionloopError):
    """A file could not be read: missing, truncated, unknown extension or corrupt content."""


class RetargetError(MotionloopError):
    """A foreign skeleton could not be mapped to SMPL-24."""


class ConfigError(MotionloopError):
    """A configuration key or value is invalid."""


class CheckpointError(MotionloopError):
    """A checkpoint is corrupt or does not fit the current code or data."""


class UnknownNameError(MotionloopError, KeyError):
    """A name (label, preset, format, ...) is not one of the valid choices."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return self.args[0]
