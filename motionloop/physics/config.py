"""Configuration of physics correction (frozen, validated, loadable from TOML)."""
from __future__ import annotations

from dataclasses import dataclass, fields

from motionloop.errors import ConfigError


@dataclass(frozen=True)
class TrackerConfig:
    """Gains and weights of the whole-body tracking controller.

    Gains are accelerations per unit error: kp in 1/s^2, kd in 1/s. Weights are relative
    (dimensionless after each task's own scaling). `w_residual` prices the root residual
    wrench against tracking: large = physics wins, small = the reference wins.
    """

    control_hz: float = 120.0
    smooth_s: float = 0.0
    kp: float = 400.0
    kd: float = 40.0
    kp_root: float = 400.0
    kd_root: float = 40.0
    kp_com: float = 100.0
    kd_com: float = 40.0
    kd_slip: float = 20.0
    w_joint: float = 1.0
    leg_weight_scale: float = 2.0
    w_root_rot: float = 10.0
    w_com: float = 100.0
    w_slip: float = 10.0
    kp_flat: float = 400.0
    kd_flat: float = 40.0
    w_flat: float = 10.0
    flat_foot_height: float = 0.12
    flat_foot_joint_scale: float = 0.1
    kp_foot: float = 200.0
    kd_foot: float = 30.0
    w_foot: float = 1.0
    anchor_tau_s: float = 0.0
    foot_recenter: float = 0.3
    cp_gain: float = 0.0
    w_torque: float = 1e-4
    w_force: float = 1e-4
    w_residual: float = 100.0
    residual_max_bw: float = 2.0
    friction: float = 1.0
    contact_margin: float = 0.002
    sole_gap: float = 0.01
    plan_contact_height: float = 0.0
    reset_error_m: float = 0.5
    time_limit_s: float = 120.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or v != v:
                raise ConfigError(f"TrackerConfig.{f.name}: expected a number, got {v!r}")
            if v < 0:
                raise ConfigError(f"TrackerConfig.{f.name}: must be >= 0, got {v}")
        if self.control_hz <= 0:
            raise ConfigError(f"TrackerConfig.control_hz: must be > 0, got {self.control_hz}")
