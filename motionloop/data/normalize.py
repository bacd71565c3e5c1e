"""Per-dimension normalisation of features, carried inside checkpoints.

`normalize(x) = (x - mean) / std`. Statistics are taken over every frame of every clip;
`std` is floored at `eps` so that dimensions that never vary in the data (e.g. the hand
joints that SMPL-H files leave at rest) do not blow up. The contact dimensions are
binary and get the fixed map mean = std = 0.5, i.e. {0, 1} -> {-1, +1}, whatever the data:
the model then sees them on the same scale as everything else, and the decision
threshold stays at 0 (normalised) = 0.5 (raw) across datasets and loop generations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from motionloop.data.features import FEATURE_DIM, LAYOUT, SLICES
from motionloop.errors import CheckpointError, MotionValidationError

CONTACT_MEAN = 0.5
CONTACT_STD = 0.5


def _as_float(x):
    """Torch tensors pass through; anything else becomes a floating numpy array."""
    if hasattr(x, "device"):
        return x
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float32)


@dataclass(frozen=True, eq=False)
class Normalizer:
    """Feature statistics of one layout.

    Attributes:
        mean: `(D,)` float32 per-dimension mean, feature units.
        std: `(D,)` float32 per-dimension standard deviation (> 0), feature units.
        layout: the feature layout the statistics belong to (`features.LAYOUT`).
    """

    mean: np.ndarray
    std: np.ndarray
    layout: str = LAYOUT

    def __post_init__(self) -> None:
        mean = np.array(self.mean, dtype=np.float32).reshape(-1)
        std = np.array(self.std, dtype=np.float32).reshape(-1)
        if mean.shape != std.shape:
            raise CheckpointError(f"Normalizer ({self.layout}): mean has {mean.size} dims but std has {std.size}")
        if self.layout == LAYOUT and mean.size != FEATURE_DIM:
            raise CheckpointError(f"Normalizer: layout {LAYOUT} has {FEATURE_DIM} dims, statistics have {mean.size}")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise CheckpointError(f"Normalizer ({self.layout}): mean/std must be finite and std > 0")
        for name, a in (("mean", mean), ("std", std)):
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    @property
    def dim(self) -> int:
        return self.mean.size

    @classmethod
    def fit(cls, features: Sequence[np.ndarray], eps: float = 1e-2) -> Normalizer:
        """Statistics of `features`: a list of `(T_i, FEATURE_DIM)` arrays (layout `LAYOUT`).

        Args:
            eps: floor of the standard deviation, feature units (metres, m/s, rad/s, 6D).
        """
        if len(features) == 0:
            raise MotionValidationError("Normalizer.fit: no feature arrays given")
        if not eps > 0:
            raise MotionValidationError(f"Normalizer.fit: eps must be > 0, got {eps}")
        for i, f in enumerate(features):
            if np.ndim(f) != 2 or np.shape(f)[1] != FEATURE_DIM:
                raise MotionValidationError(
                    f"Normalizer.fit: array {i} has shape {np.shape(f)}, layout {LAYOUT} expects (T, {FEATURE_DIM})"
                )
        allf = np.concatenate([np.asarray(f, dtype=np.float64) for f in features], axis=0)  # (sum T_i, D)
        if not np.all(np.isfinite(allf)):
            raise MotionValidationError("Normalizer.fit: features contain non-finite values")
        mean = allf.mean(axis=0)
        std = np.maximum(allf.std(axis=0), eps)
        mean[SLICES["contacts"]] = CONTACT_MEAN
        std[SLICES["contacts"]] = CONTACT_STD
        return cls(mean=mean, std=std, layout=LAYOUT)

    def _stats(self, x):
        """mean, std shaped and typed like `x` (numpy array or torch tensor `(..., D)`)."""
        if x.shape[-1] != self.dim:
            raise MotionValidationError(
                f"Normalizer ({self.layout}): input has {x.shape[-1]} dims in the last axis, expected {self.dim}"
            )
        if isinstance(x, np.ndarray):
            return self.mean.astype(x.dtype), self.std.astype(x.dtype)
        import torch

        # torch.tensor copies: the read-only arrays cannot be shared with torch
        return (
            torch.tensor(self.mean, dtype=x.dtype, device=x.device),
            torch.tensor(self.std, dtype=x.dtype, device=x.device),
        )

    def normalize(self, x):
        """`(x - mean) / std` for a numpy array or torch tensor `(..., D)`; same type and dtype."""
        x = _as_float(x)
        mean, std = self._stats(x)
        return (x - mean) / std

    def denormalize(self, x):
        """`x * std + mean` for a numpy array or torch tensor `(..., D)`; inverse of `normalize`."""
        x = _as_float(x)
        mean, std = self._stats(x)
        return x * std + mean

    def to_dict(self) -> dict:
        """Plain Python (lists, str) for a checkpoint."""
        return {"layout": self.layout, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict, layout: str = LAYOUT) -> Normalizer:
        """Inverse of `to_dict`; CheckpointError unless the stored layout is `layout`."""
        if not isinstance(d, dict) or not {"layout", "mean", "std"} <= set(d):
            keys = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise CheckpointError(f"normalizer: expected a dict with keys layout, mean, std; got {keys}")
        if d["layout"] != layout:
            raise CheckpointError(
                f"normalizer: checkpoint features have layout {d['layout']!r}, this code expects {layout!r}"
            )
        try:
            return cls(
                mean=np.asarray(d["mean"], dtype=np.float32), std=np.asarray(d["std"], dtype=np.float32), layout=layout
            )
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"normalizer: mean/std are not numeric lists ({e})") from None
