"""The follow camera: where each frame looks, and how a 3D point lands on the picture.

The camera looks at the pelvis smoothed over time with a zero-phase Gaussian (the whole clip
is known, so the track needs no lag, unlike an exponential filter): the body moves within a
steady picture and the floor grid shows the travel. Orientation is fixed (azimuth,
elevation), so side-by-side panels are seen from the same direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from motionloop.errors import ConfigError


@dataclass(frozen=True)
class CameraConfig:
    """A follow camera.

    Attributes:
        distance: from the look-at point, metres.
        azimuth: degrees about world z, MuJoCo's convention (0 looks along +x, 90 along +y).
        elevation: degrees, negative looks down.
        smooth_s: standard deviation of the Gaussian that smooths the track, seconds.
        height: (min, max) look-at height in metres; the smoothed pelvis height is clipped to it
            so a fall stays in the picture and a jump does not swing the floor away.
        fovy: vertical field of view, degrees (MuJoCo's default free camera uses 45).
    """

    distance: float = 4.0
    azimuth: float = 135.0
    elevation: float = -15.0
    smooth_s: float = 0.5
    height: tuple[float, float] = (0.45, 0.95)
    fovy: float = 45.0

    def __post_init__(self) -> None:
        if not self.distance > 0:
            raise ConfigError(f"CameraConfig.distance must be > 0 m, got {self.distance}")
        if not -90 < self.elevation < 90:
            raise ConfigError(f"CameraConfig.elevation must be in (-90, 90) degrees, got {self.elevation}")
        if self.smooth_s < 0:
            raise ConfigError(f"CameraConfig.smooth_s must be >= 0 s, got {self.smooth_s}")
        if not 0 < self.fovy < 180:
            raise ConfigError(f"CameraConfig.fovy must be in (0, 180) degrees, got {self.fovy}")


def follow_track(root: np.ndarray, fps: float, config: CameraConfig = CameraConfig()) -> np.ndarray:
    """Look-at points `(T, 3)` (m) for pelvis positions `root (T, 3)` sampled at `fps`."""
    root = np.asarray(root, dtype=np.float64)
    sigma = config.smooth_s * fps
    track = gaussian_filter1d(root, sigma, axis=0, mode="nearest") if sigma > 0 and len(root) > 1 else root.copy()
    track[:, 2] = np.clip(track[:, 2], *config.height)
    return track


def eye_basis(config: CameraConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (forward, right, up) `(3,)` of the camera in the world."""
    az, el = np.deg2rad(config.azimuth), np.deg2rad(config.elevation)
    forward = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    return forward, right, np.cross(right, forward)


def project(points: np.ndarray, lookat: np.ndarray, config: CameraConfig, size: tuple[int, int]) -> np.ndarray:
    """Pixel coordinates `(..., 2)` (x right, y down) of world points `(..., 3)`.

    Pinhole model of MuJoCo's free camera: eye at `lookat - distance * forward`, vertical field
    of view `fovy`; `size` is (width, height) in pixels. Points behind the eye get NaN.
    """
    forward, right, up = eye_basis(config)
    eye = np.asarray(lookat) - config.distance * forward
    rel = np.asarray(points, dtype=np.float64) - eye
    depth = rel @ forward
    w, h = size
    focal = 0.5 * h / np.tan(np.deg2rad(config.fovy) / 2)  # pixels
    with np.errstate(divide="ignore", invalid="ignore"):
        x = w / 2 + focal * (rel @ right) / depth
        y = h / 2 - focal * (rel @ up) / depth
    out = np.stack([x, y], axis=-1)
    out[depth <= 1e-6] = np.nan
    return out
