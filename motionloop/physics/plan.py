"""Centroidal plan: the smallest change of a clip's centre-of-mass path that floor contacts can carry.

A body's centre of mass c moves only as the contact forces f_i at the floor points p_i allow,
and its angular momentum about c, L, changes only by their moments:

    m (cdd - g) = sum_i f_i,        Ldot = sum_i (p_i - c) x f_i,     f_i in the friction cone.

Kinematic clips (mocap, retargeted, generated) break this: they lean further than their feet
can hold, hang in the air, land too softly. A tracker then needs an external root force, or
falls. Following the model-based literature (Rempe et al. 2020, "Contact and Human Dynamics
from Monocular Video"; Winkler et al. 2018), we solve for the whole clip at once:

    min  sum_t w_xy |dc_t,xy|^2 + w_z dc_t,z^2 + w_L |s_t|^2 + w_f |f_t|^2
    s.t. (cdd_ref,t + D2 dc_t - g) / |g| = sum_i E fhat_t,i                       (linear momentum)
         (Ldot_ref,t) / (m |g|) + s_t = sum_i (p_i - c_t) x E fhat_t,i           (angular momentum)
         fhat >= 0   (forces as multiples of body weight along the friction pyramid's edges E)

over the CoM offsets dc (m), edge forces fhat and an angular-momentum slack s (expressed as
the shift of the centre of pressure under body weight that it amounts to, m). `D2` is the
second difference. The contact points are those of the clip's own contact schedule: corners of
planted feet (after plant.py has put them on the floor) and other body parts resting on the
floor. Frames with no contact get `cdd = g` exactly: ballistic flight. The moment arm uses the
previous iterate's CoM (a sequential linearisation; two passes suffice).

The solution is applied by moving the pelvis (legs re-solved by IK so planted feet stay) and
the plan is solved again on the result, since a pelvis shift moves the CoM by only a share of
itself. Solved with Clarabel (interior point, sparse).
"""

from __future__ import annotations

from dataclasses import dataclass

import clarabel
import numpy as np
from scipy import sparse

from motionloop import body as bd
from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.errors import ConfigError, MotionloopError
from motionloop.ik import LEGS, reach
from motionloop.motion import Motion
from motionloop.physics.feasibility import pyramid
from motionloop.physics.model import Humanoid, centroidal_state
from motionloop.physics.plant import SWING, foot_modes

CARRIED_SHARE = 0.75  # share of a pelvis shift that reaches the CoM while the feet stay put
_G = 9.81


class PlanError(MotionloopError):
    """The centroidal plan of a clip could not be solved."""


@dataclass(frozen=True)
class PlanConfig:
    """Attributes:
    w_xy, w_z: price of moving the CoM horizontally / vertically, per m^2 and frame.
    w_angular: price of the angular-momentum mismatch, per m^2 (as a centre-of-pressure shift).
    w_force: regularisation of contact forces, per (body weight)^2.
    friction: friction coefficient of the pyramid the plan uses (below the floor's on purpose).
    contact_height: a body point this close to the floor can push, m.
    contact_speed: ... if it moves slower than this horizontally, m/s.
    stance_height: corners of a planted foot (plant.foot_modes) this close may push, m.
    max_flight_error_m: a flight run whose free-fall parabola strays further than this from
        the clip's CoM is taken for unseen support (contact_candidates), m.
    max_shift_m: largest CoM change applied per frame (larger ones are scaled down), m.
    passes: solve-and-apply passes.
    """

    w_xy: float = 1.0
    w_z: float = 1.0
    w_angular: float = 0.3
    w_force: float = 1e-4
    friction: float = 0.8
    contact_height: float = 0.02
    contact_speed: float = 0.5
    stance_height: float = 0.04
    max_flight_error_m: float = 0.15
    max_shift_m: float = 0.3
    passes: int = 2

    def __post_init__(self) -> None:
        for name in ("w_xy", "w_z", "w_angular", "w_force", "friction", "contact_height", "max_shift_m"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"PlanConfig.{name}: must be > 0, got {getattr(self, name)}")
        if self.passes < 1:
            raise ConfigError(f"PlanConfig.passes: must be >= 1, got {self.passes}")


def contact_candidates(
    motion: Motion, cfg: PlanConfig, offsets: np.ndarray, com: np.ndarray | None = None
) -> list[np.ndarray]:
    """Per frame, the floor points `(P, 3)` that may push: corners of planted feet and any
    sole corner near the floor, and the lowest point of any other body part resting on it
    (near and slow).

    A run of frames with none of these is flight, and the plan will make it ballistic. When
    the free-fall parabola through the run's ends lies more than `max_flight_error_m` from the
    clip's CoM (`com (T, 3)`), the run is no jump but support the clip does not show cleanly
    (a generated foot skating or hovering a few centimetres up): there the lowest sole corners
    of the lower foot count as support."""
    geoms = bd.geometry(offsets)
    pos, glob = motion.fk(offsets)
    T = motion.num_frames
    soles = bd.sole_points(geoms, pos, glob)  # (T, 2, 8, 3)
    modes = foot_modes(soles, 1.0 / motion.fps)
    feet = (sk.LEFT_ANKLE, sk.RIGHT_ANKLE, sk.LEFT_FOOT, sk.RIGHT_FOOT)
    lows = bd.capsule_lowest_points([g for g in geoms if g.joint not in feet], pos, glob)  # (T, C, 3)
    speed = np.zeros(lows.shape[:2])
    if T > 1:
        step = np.linalg.norm(np.diff(lows[..., :2], axis=0), axis=-1) * motion.fps
        speed[1:-1] = np.minimum(step[:-1], step[1:])
        speed[0], speed[-1] = step[0], step[-1]
    out = []
    for t in range(T):
        pts = [lows[t][(lows[t, :, 2] <= cfg.contact_height) & (speed[t] <= cfg.contact_speed)]]
        for f in range(2):
            c = soles[t, f]
            near = c[:, 2] <= (cfg.stance_height if modes[t, f] != SWING else cfg.contact_height)
            pts.append(c[near])
        out.append(np.concatenate(pts))
    if com is not None:
        supported = np.array([len(p) > 0 for p in out])
        g = _G
        for a, b in _flight_runs(supported):
            t = (np.arange(a, b) - (a - 1)) / motion.fps
            span = (b - (a - 1)) / motion.fps
            s = t / span
            line = (1 - s)[:, None] * com[a - 1] + s[:, None] * com[b]
            line[:, 2] += 0.5 * g * t * (span - t)
            if np.abs(line - com[a:b]).max() > cfg.max_flight_error_m:
                for i in range(a, b):
                    foot = int(np.argmin(soles[i, :, :, 2].min(axis=1)))
                    c = soles[i, foot]
                    out[i] = c[np.argsort(c[:, 2])[:2]]
    for p in out:
        p[:, 2] = 0.0  # a point that pushes is on the floor
    return out


def _flight_runs(supported: np.ndarray) -> list[tuple[int, int]]:
    """Runs `[a, b)` of unsupported frames with supported frames a-1 and b on both sides."""
    edges = np.diff(np.r_[0, (~supported).astype(np.int8), 0])
    runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
    return [(int(a), int(b)) for a, b in runs if a > 0 and b < len(supported)]


def solve_plan(
    com: np.ndarray,
    angmom: np.ndarray,
    points: list[np.ndarray],
    mass: float,
    fps: float,
    cfg: PlanConfig,
    com_prev: np.ndarray | None = None,
) -> tuple[np.ndarray, dict]:
    """The CoM offsets `(T, 3)` of the plan (module docstring) for a clip with CoM `com (T, 3)`,
    angular momentum `angmom (T, 3)`, contact candidates `points` (T lists of `(P, 3)`),
    body mass (kg) and frame rate. `com_prev (T, 3)` is the linearisation point of the moment
    arms (default: `com`). Returns the offsets and `{status, residual_bw, slack_m, flight}`."""
    T = len(com)
    dt = 1.0 / fps
    if T < 3:
        return np.zeros((T, 3)), {"status": "too short", "slack_m": 0.0, "flight": 0}
    lin = com_prev if com_prev is not None else com
    cdd = np.gradient(np.gradient(com, dt, axis=0), dt, axis=0)
    ldot = np.gradient(angmom, dt, axis=0) / (mass * _G)
    edges = pyramid(cfg.friction)  # (4, 3)
    n_f = [4 * len(p) for p in points]
    off_f = np.r_[0, np.cumsum(n_f)].astype(int)
    nC, nS, nF = 3 * T, 3 * T, int(off_f[-1])
    N = nC + nS + nF
    iS, iF = nC, nC + nS
    # equality rows: 6 per inner frame t = 1 .. T-2
    rows, cols, vals = [], [], []
    rhs = []
    r = 0
    for t in range(1, T - 1):
        # linear momentum, per axis k: (dc_{t-1} - 2 dc_t + dc_{t+1}) / (dt^2 g) - sum E fhat = -(cdd_t - g) / g
        for k in range(3):
            for tt, c in ((t - 1, 1.0), (t, -2.0), (t + 1, 1.0)):
                rows.append(r + k), cols.append(3 * tt + k), vals.append(c / (dt * dt * _G))
        P = len(points[t])
        if P:
            f_idx = iF + off_f[t] + np.arange(4 * P)
            lin_part = np.tile(edges.T, (1, P))  # (3, 4P): force of each edge variable
            for k in range(3):
                rows += [r + k] * (4 * P)
                cols += f_idx.tolist()
                vals += (-lin_part[k]).tolist()
            arm = points[t] - lin[t]  # (P, 3)
            # moment of each edge force: arm_p x e_j, (P, 4, 3)
            mom = np.cross(arm[:, None, :], edges[None, :, :]).reshape(4 * P, 3).T  # (3, 4P)
            for k in range(3):
                rows += [r + 3 + k] * (4 * P)
                cols += f_idx.tolist()
                vals += (-mom[k]).tolist()
        gvec = np.array([0.0, 0.0, -_G])
        rhs += list(-(cdd[t] - gvec) / _G)
        for k in range(3):
            rows.append(r + 3 + k), cols.append(iS + 3 * t + k), vals.append(1.0)
        rhs += list(-ldot[t])
        r += 6
    n_eq = r
    A_eq = sparse.csc_matrix((vals, (rows, cols)), shape=(n_eq, N))
    # f >= 0  as  -f + s = 0, s in the non-negative cone
    A_f = sparse.hstack([sparse.csc_matrix((nF, nC + nS)), -sparse.identity(nF, format="csc")], format="csc")
    A = sparse.vstack([A_eq, A_f], format="csc")
    b = np.r_[np.asarray(rhs), np.zeros(nF)]
    w = np.r_[np.tile([cfg.w_xy, cfg.w_xy, cfg.w_z], T), np.full(nS, cfg.w_angular), np.full(nF, cfg.w_force)]
    Pm = sparse.diags(2.0 * w, format="csc")
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.max_iter = 100
    solver = clarabel.DefaultSolver(
        Pm, np.zeros(N), A, b, [clarabel.ZeroConeT(n_eq), clarabel.NonnegativeConeT(nF)], settings
    )
    sol = solver.solve()
    status = str(sol.status)
    if "Solved" not in status:
        raise PlanError(f"centroidal plan did not converge ({status})")
    x = np.asarray(sol.x)
    dc = x[:nC].reshape(T, 3)
    s = x[iS:iF].reshape(T, 3)
    flight = int(sum(len(p) == 0 for p in points[1:-1]))
    return dc, {"status": status, "slack_m": float(np.linalg.norm(s, axis=1).mean()), "flight": flight}


def shift_com(motion: Motion, shift: np.ndarray, points: list[np.ndarray], offsets: np.ndarray) -> Motion:
    """Move the clip's CoM by about `shift (T, 3)` (m): the pelvis moves, and the legs are
    re-solved so that a planted foot stays where it is and a swinging one keeps its height."""
    pos, glob = motion.fk(offsets)
    supported = np.array([len(p) > 0 for p in points])
    pelvis_shift = shift / np.where(supported, CARRIED_SHARE, 1.0)[:, None]
    trans = motion.trans + pelvis_shift
    geoms = bd.geometry(offsets)
    soles = bd.sole_points(geoms, pos, glob)
    planted = foot_modes(soles, 1.0 / motion.fps) != SWING  # (T, 2)
    new_pos = pos + pelvis_shift[:, None]
    for f, leg in enumerate(LEGS):
        ankle = leg[2]
        # a swinging foot rides along horizontally but keeps its height: riding down with a
        # lowered pelvis would put it through the floor
        ride = new_pos[:, ankle].copy()
        ride[:, 2] = pos[:, ankle, 2]
        target = np.where(planted[:, f : f + 1], pos[:, ankle], ride)
        glob = reach(glob, new_pos, leg, target, offsets)
        new_pos, _ = sk.fk_mats(sk.local_rotations(glob), trans, offsets)
    return motion.replace(trans=trans, poses=rot.mat_to_aa(sk.local_rotations(glob)))


def centroidal_repair(h: Humanoid, motion: Motion, cfg: PlanConfig = PlanConfig()) -> tuple[Motion, dict]:
    """The clip with its CoM path replaced by the plan's (module docstring), and
    `{com_shift_mm, slack_mm, flight_frames, passes}`: the mean CoM change, the angular
    momentum mismatch left, the frames planned as ballistic flight."""
    off = h.spec.offsets_array()
    out = motion
    com0, _ = centroidal_state(h, motion)
    com_prev = None
    info: dict = {}
    for _ in range(cfg.passes):
        com, angmom = centroidal_state(h, out)
        points = contact_candidates(out, cfg, off, com)
        dc, info = solve_plan(com, angmom, points, h.mass, out.fps, cfg, com_prev)
        norm = np.linalg.norm(dc, axis=1, keepdims=True)
        dc *= np.minimum(1.0, cfg.max_shift_m / np.maximum(norm, 1e-12))
        com_prev = com + dc
        out = shift_com(out, dc, points, off)
    com1, _ = centroidal_state(h, out)
    return out, {
        "com_shift_mm": float(np.linalg.norm(com1 - com0, axis=1).mean() * 1000),
        "slack_mm": 1000 * info.get("slack_m", 0.0),
        "flight_frames": info.get("flight", 0),
    }
