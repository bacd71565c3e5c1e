import daqp
import numpy as np
import pytest

from motionloop.physics.wbc import solve_qp


def _problem(seed: int, n: int = 9, L: int = 8, cap: float = 0.5):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    Q = A @ A.T + n * np.eye(n)
    M6 = rng.normal(size=(6, n))
    return dict(
        Q=Q,
        q=rng.normal(size=n),
        M6=M6,
        h6=rng.normal(size=6) * 3,
        B=rng.normal(size=(6, L)),
        C=rng.normal(size=(6, L)),
        Cr=np.eye(6) + 0.1 * rng.normal(size=(6, 6)),
        wc=rng.normal(size=6),
        Wc=rng.uniform(0.5, 2.0, size=6),
        price=rng.uniform(0.5, 5.0, size=6),
        cap=np.full(6, cap),
        eps=np.full(L, 1e-3),
    )


def _direct(p):
    """The same QP over z = (x, lam, r) in one piece: the root equation as equality rows,
    lam >= 0 and |r| <= cap as bounds."""
    n, L = p["Q"].shape[0], p["B"].shape[1]
    Cz = np.concatenate([np.zeros((6, n)), p["C"], p["Cr"]], axis=1)
    H = Cz.T @ np.diag(p["Wc"]) @ Cz
    H[:n, :n] += p["Q"]
    H[n : n + L, n : n + L] += np.diag(p["eps"])
    H[n + L :, n + L :] += np.diag(p["price"])
    f = -Cz.T @ (p["Wc"] * p["wc"])
    f[:n] -= p["q"]
    A = np.concatenate([p["M6"], -p["B"], -np.eye(6)], axis=1)  # M6 x - B lam - r = -h6
    N = n + L + 6
    lower = np.r_[np.full(n, -1e30), np.zeros(L), -p["cap"], -p["h6"]]
    upper = np.r_[np.full(n, 1e30), np.full(L, 1e30), p["cap"], -p["h6"]]
    sense = np.r_[np.zeros(N), np.full(6, 5)].astype(np.int32)
    z, _, flag, _ = daqp.solve(H, f, A, upper, lower, sense)
    assert flag == 1
    return z[:n], z[n : n + L], z[n + L :]


@pytest.mark.parametrize("seed", range(5))
def test_closed_form_matches_the_full_qp(seed):
    p = _problem(seed)
    sol = solve_qp(**p)
    x, lam, r = _direct(p)
    assert sol.ok
    np.testing.assert_allclose(sol.qdd, x, atol=1e-6)
    np.testing.assert_allclose(sol.lam, lam, atol=1e-6)
    np.testing.assert_allclose(sol.r, r, atol=1e-6)
    assert sol.lam.min() >= 0.0 and np.abs(sol.r).max() <= 0.5 + 1e-12
    # the root rows of the equations of motion hold exactly
    np.testing.assert_allclose(p["M6"] @ sol.qdd + p["h6"], p["B"] @ sol.lam + sol.r, atol=1e-8)


def test_no_residual_means_contacts_carry_the_root_alone():
    p = _problem(3, cap=0.0)
    sol = solve_qp(**p)
    assert np.all(sol.r == 0.0)
    np.testing.assert_allclose(p["M6"] @ sol.qdd + p["h6"], p["B"] @ sol.lam, atol=1e-8)
    x, _lam, _ = _direct(p)
    np.testing.assert_allclose(sol.qdd, x, atol=1e-6)


def test_no_contacts_and_no_residual_still_solves_the_motion():
    p = _problem(7, L=0, cap=0.0)
    sol = solve_qp(**p)
    assert sol.ok and sol.lam.shape == (0,)
    np.testing.assert_allclose(p["M6"] @ sol.qdd + p["h6"], 0.0, atol=1e-8)


def test_a_heavy_centroidal_weight_gets_its_wrench_when_contacts_can_give_it():
    p = _problem(5, cap=0.0)
    # contact wrenches that span the wrench space with non-negative weights
    p["C"] = np.concatenate([np.eye(6), -np.eye(6)], axis=1)
    p["B"] = np.random.default_rng(0).normal(size=(6, 12))
    p["eps"] = np.full(12, 1e-9)
    p["Wc"] = np.full(6, 1e8)
    sol = solve_qp(**p)
    np.testing.assert_allclose(p["C"] @ sol.lam, p["wc"], atol=1e-4)
