import daqp
import numpy as np
import pytest

from motionloop.physics.wbc import solve_qp


def _problem(seed: int, n: int = 9, L: int = 8):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    Q = A @ A.T + n * np.eye(n)
    return (Q, rng.normal(size=n), rng.normal(size=(6, n)), rng.normal(size=6) * 3, rng.normal(size=(6, L)),
            rng.uniform(0.5, 5.0, size=6), 1e-3)


def _direct(Q, q, M6, h6, B, price, eps):
    """The same QP over z = (x, lam) in one piece, lam >= 0 as bounds."""
    n, L = Q.shape[0], B.shape[1]
    P = np.diag(price)
    H = np.block([[Q + M6.T @ P @ M6, -M6.T @ P @ B], [-B.T @ P @ M6, B.T @ P @ B + eps * np.eye(L)]])
    f = np.r_[-q + M6.T @ P @ h6, -B.T @ P @ h6]
    lower = np.r_[np.full(n, -1e30), np.zeros(L)]
    z, _, flag, _ = daqp.solve(H, f, np.zeros((0, n + L)), np.full(n + L, 1e30), lower, np.zeros(n + L, dtype=np.int32))
    assert flag == 1
    return z[:n], z[n:]


@pytest.mark.parametrize("seed", range(5))
def test_closed_form_matches_the_full_qp(seed):
    args = _problem(seed)
    x, lam, ok = solve_qp(*args)
    x_ref, lam_ref = _direct(*args)
    assert ok
    np.testing.assert_allclose(x, x_ref, atol=1e-6)
    np.testing.assert_allclose(lam, lam_ref, atol=1e-6)
    assert lam.min() >= 0.0


def test_no_contacts_leaves_tracking_and_residual():
    Q, q, M6, h6, _, price, eps = _problem(7)
    x, lam, ok = solve_qp(Q, q, M6, h6, np.zeros((6, 0)), price, eps)
    x_ref, _ = _direct(Q, q, M6, h6, np.zeros((6, 0)), price, eps)
    assert ok and lam.shape == (0,)
    np.testing.assert_allclose(x, x_ref, atol=1e-8)


def test_dear_residual_makes_contacts_carry_the_root():
    Q, q, M6, h6, _, _, _ = _problem(3)
    # contact wrenches that span the root wrench space with non-negative weights
    B = np.concatenate([np.eye(6), -np.eye(6)], axis=1)
    x, lam, _ = solve_qp(Q, q, M6, h6, B, np.full(6, 1e8), 1e-9)
    assert np.abs(M6 @ x + h6 - B @ lam).max() < 1e-4


def test_residual_gets_cheaper_as_the_body_strays():
    import mujoco
    from clips import standing

    from motionloop.physics.config import TrackerConfig
    from motionloop.physics.model import Humanoid
    from motionloop.physics.reference import build_reference
    from motionloop.physics.wbc import WholeBodyController

    h = Humanoid()
    ref = build_reference(h, standing(5), 80.0)
    ctl = WholeBodyController(h, TrackerConfig(assist_error_m=0.3))
    d = mujoco.MjData(h.model)
    factors = []
    for shift in (0.0, 0.15, 0.3, 0.6):
        d.qpos[:] = ref.qpos[0]
        d.qpos[0] += shift  # the whole body displaced: mean body error == shift
        mujoco.mj_kinematics(h.model, d)
        factors.append(ctl._assist(d, ref, 0))
    assert factors[0] == 1.0
    assert factors[2] == pytest.approx(0.5)
    assert factors == sorted(factors, reverse=True) and factors[-1] < 0.1
    assert WholeBodyController(h, TrackerConfig(assist_error_m=0.0))._assist(d, ref, 0) == 1.0
