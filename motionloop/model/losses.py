"""SMPL-aware auxiliary losses of the denoiser's x0 estimate (MDM's geometric losses).

All three decode the features through forward kinematics (`features_to_rotmats_t` and
`skeleton.fk_t`), so they tie the rotations the model predicts to the body they move:

- `joint_pos`: mean squared error of the joint positions relative to the pelvis, m^2.
  Relative, because the world trajectory integrates root velocities and its error grows
  along the window; the per-frame root motion is covered by `joint_vel`.
- `joint_vel`: mean squared error of the world joint velocities (backward differences
  times fps), (m/s)^2.
- `foot_contact`: mean squared world speed, (m/s)^2, of the feet (`skeleton.FEET`) on the
  frames where the *target's* contact feature says the foot is planted: a planted foot
  must not slide. The mask comes from the data, as in MDM; the predicted contacts are
  trained by the plain x0 loss.
"""

from __future__ import annotations

import torch

from motionloop import skeleton as sk
from motionloop.data.features import SLICES, features_to_rotmats_t
from motionloop.data.normalize import Normalizer

AUX_TERMS = ("joint_pos", "joint_vel", "foot_contact")


class KinematicLosses:
    """`aux(x0_hat, x0) -> {"joint_pos", "joint_vel", "foot_contact"}` for `GaussianDiffusion.training_losses`.

    Args:
        normalizer: the statistics the model's features are normalised with.
        fps: frames per second of the training windows (units of velocities).
    """

    def __init__(self, normalizer: Normalizer, fps: float):
        self.normalizer = normalizer
        self.fps = float(fps)

    def _joints(self, x: torch.Tensor) -> torch.Tensor:
        """World joint positions `(B, T, 24, 3)` of normalised features `x (B, T, D)`, metres."""
        rotmats, trans = features_to_rotmats_t(self.normalizer.denormalize(x), self.fps)
        return sk.fk_t(rotmats, trans)

    def __call__(self, x0_hat: torch.Tensor, x0: torch.Tensor) -> dict[str, torch.Tensor]:
        """Auxiliary terms of the estimate `x0_hat (B, T, D)` against the target `x0 (B, T, D)`."""
        pred = self._joints(x0_hat)  # (B, T, 24, 3)
        with torch.no_grad():
            target = self._joints(x0)
            contact = self.normalizer.denormalize(x0)[:, 1:, SLICES["contacts"]] > 0.5  # (B, T-1, 4) FEET order
        rel_pred = pred - pred[:, :, sk.PELVIS : sk.PELVIS + 1]
        rel_target = target - target[:, :, sk.PELVIS : sk.PELVIS + 1]
        vel_pred = (pred[:, 1:] - pred[:, :-1]) * self.fps  # (B, T-1, 24, 3) m/s
        vel_target = (target[:, 1:] - target[:, :-1]) * self.fps
        feet_speed2 = (vel_pred[:, :, list(sk.FEET)] ** 2).sum(-1)  # (B, T-1, 4)
        mask = contact.to(feet_speed2.dtype)
        return {
            "joint_pos": ((rel_pred - rel_target) ** 2).sum(-1).mean(),
            "joint_vel": ((vel_pred - vel_target) ** 2).sum(-1).mean(),
            "foot_contact": (feet_speed2 * mask).sum() / mask.sum().clamp_min(1.0),
        }
