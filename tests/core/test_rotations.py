"""Property tests of motionloop/rotations.py: every conversion against scipy, round trips,
conventions (wxyz, w >= 0, intrinsic Euler), edge angles (0, 1e-9, 1e-6, pi - 1e-7, pi), batching
and the torch twins.

Tolerances: float64 throughout; 1e-12 where the maths is a handful of flops, looser (stated
inline) where a conversion is ill-conditioned (angles near pi for axis-angle, near gimbal lock).
"""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation, Slerp

from motionloop import rotations as rot
from motionloop import skeleton as sk

ATOL = 1e-12
TAIT_BRYAN = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")
PROPER_EULER = ("XYX", "XZX", "YXY", "YZY", "ZXZ", "ZYZ")
# angles the conversions special-case or lose precision near: 0, tiny, the Taylor switch of
# aa_to_quat (1e-4), the small-s switch of quat_to_aa (s = sin(angle/2) < 1e-6), and pi
EDGE_ANGLES = (0.0, 1e-12, 1e-9, 1e-6, 2e-6, 1e-4 * (1 - 1e-9), 1e-4, 1e-4 * (1 + 1e-9), 0.5, 2.0, np.pi - 1e-7, np.pi)


# ------------------------------------------------------------------------------------ helpers
def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def random_quats(rng: np.random.Generator, shape=(64,)) -> np.ndarray:
    """Uniform random unit quaternions, wxyz, either sign of w."""
    q = rng.normal(size=(*shape, 4))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def random_mats(rng: np.random.Generator, shape=(64,)) -> np.ndarray:
    return rot.quat_to_mat(random_quats(rng, shape))


def random_aa(rng: np.random.Generator, n: int = 64, max_angle: float = np.pi) -> np.ndarray:
    """Axis-angle vectors with angles uniform in [0, max_angle)."""
    return unit_vectors(rng, n) * rng.uniform(0, max_angle, (n, 1))


def edge_aa(rng: np.random.Generator) -> np.ndarray:
    """Every edge angle about a few random axes and the three coordinate axes: `(len(EDGE_ANGLES) * 6, 3)`."""
    axes = np.concatenate([unit_vectors(rng, 3), np.eye(3)])
    return (np.asarray(EDGE_ANGLES)[:, None, None] * axes[None]).reshape(-1, 3)


def to_wxyz(r: Rotation) -> np.ndarray:
    return np.roll(r.as_quat(), 1, axis=-1)  # scipy is xyzw


def from_wxyz(q: np.ndarray) -> Rotation:
    return Rotation.from_quat(np.roll(q, -1, axis=-1))


def canonical(q: np.ndarray) -> np.ndarray:
    """The sign of a quaternion with w >= 0 (the module's convention)."""
    return np.where(q[..., :1] < 0, -q, q)


def assert_same_quat_up_to_sign(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    err = np.minimum(np.abs(a - b).max(-1), np.abs(a + b).max(-1))
    assert err.max() <= atol, f"max quaternion difference up to sign {err.max():.3g} > {atol}"


def assert_proper_rotation(m: np.ndarray, atol: float = ATOL) -> None:
    m = np.asarray(m)
    eye = np.broadcast_to(np.eye(3), m.shape)
    np.testing.assert_allclose(m @ np.swapaxes(m, -1, -2), eye, atol=atol, err_msg="not orthonormal")
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=atol, err_msg="determinant is not +1")


def angle_between_rotations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Geodesic distance (radians) between rotation matrices, accurate for small angles."""
    return np.linalg.norm(Rotation.from_matrix(np.swapaxes(a, -1, -2) @ b).as_rotvec(), axis=-1)


# --------------------------------------------------------------------------- axis-angle <-> quat
def test_aa_to_quat_agrees_with_scipy_and_has_w_nonnegative():
    rng = np.random.default_rng(0)
    aa = np.concatenate([random_aa(rng, 500), edge_aa(rng)])
    q = rot.aa_to_quat(aa)
    assert q.shape == (len(aa), 4)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=ATOL)
    # angles in [0, pi] give w = cos(angle / 2) >= 0; at pi itself |aa| rounds to pi +- 4e-16, so w is
    # a rounding error of either sign there
    assert np.all(q[:, 0] >= -1e-15)
    assert np.all(q[np.linalg.norm(aa, axis=-1) < np.pi - 1e-9, 0] > 0)
    ref = canonical(to_wxyz(Rotation.from_rotvec(aa)))
    # at exactly pi w = cos(pi/2) = 6e-17 and scipy may pick the other sign of the axis
    assert_same_quat_up_to_sign(q, ref, atol=1e-15)
    away_from_pi = np.linalg.norm(aa, axis=-1) < 3.0
    np.testing.assert_allclose(q[away_from_pi], ref[away_from_pi], atol=1e-15)


@pytest.mark.parametrize("angle", [1e-12, 1e-9, 1e-6, 5e-5, 1e-4 * (1 - 1e-9), 1e-4])
def test_aa_to_quat_is_relatively_exact_for_tiny_angles(angle):
    """The Taylor branch: the vector part must be aa / 2 to full relative precision, not just absolutely."""
    axis = unit_vectors(np.random.default_rng(1), 4)
    q = rot.aa_to_quat(axis * angle)
    expected = axis * np.sin(angle / 2)  # = aa * sin(angle/2)/angle
    np.testing.assert_allclose(q[:, 1:], expected, rtol=1e-14, atol=0)
    np.testing.assert_allclose(q[:, 0], np.cos(angle / 2), rtol=1e-15)


def test_aa_quat_aa_round_trip_including_edge_angles():
    rng = np.random.default_rng(2)
    aa = np.concatenate([random_aa(rng, 500), edge_aa(rng)])
    back = rot.quat_to_aa(rot.aa_to_quat(aa))
    angle = np.linalg.norm(aa, axis=-1)
    # relative precision for tiny angles (absolute 1e-12 would pass a zero result)
    small = angle < 1e-3
    np.testing.assert_allclose(back[small], aa[small], rtol=1e-10, atol=1e-300)
    # away from pi: the same vector; near pi the axis is ill-conditioned only up to sign (at pi exactly)
    mid = (angle >= 1e-3) & (angle < np.pi - 1e-3)
    np.testing.assert_allclose(back[mid], aa[mid], atol=1e-12)
    near_pi = angle >= np.pi - 1e-3
    err = np.minimum(np.abs(back[near_pi] - aa[near_pi]).max(-1), np.abs(back[near_pi] + aa[near_pi]).max(-1))
    assert err.max() < 1e-9, err.max()


def test_axis_angle_past_pi_comes_back_as_the_same_rotation_with_angle_at_most_pi():
    rng = np.random.default_rng(3)
    aa = random_aa(rng, 200, max_angle=4 * np.pi)
    back = rot.quat_to_aa(rot.aa_to_quat(aa))
    assert np.all(np.linalg.norm(back, axis=-1) <= np.pi + 1e-12)
    np.testing.assert_allclose(rot.aa_to_mat(back), rot.aa_to_mat(aa), atol=1e-12)
    np.testing.assert_allclose(back, Rotation.from_rotvec(aa).as_rotvec(), atol=1e-9)


def test_aa_to_quat_keeps_w_nonnegative_past_pi():
    q = rot.aa_to_quat(np.array([4.0, 0.0, 0.0]))  # 4 rad about x: cos(2) = -0.42
    assert q[0] >= 0, q


def test_quat_to_aa_agrees_with_scipy_for_any_sign_and_scale():
    rng = np.random.default_rng(4)
    q = random_quats(rng, (300,)) * rng.uniform(0.1, 10.0, (300, 1))  # not unit, both signs of w
    aa = rot.quat_to_aa(q)
    ref = Rotation.from_quat(np.roll(q, -1, axis=-1)).as_rotvec()  # angle in [0, pi]
    np.testing.assert_allclose(aa, ref, atol=1e-12)
    np.testing.assert_allclose(rot.quat_to_aa(-q), aa, atol=1e-12)  # q and -q: one rotation


def test_quat_to_aa_near_identity_and_at_pi():
    xyz = np.array([3e-10, -1e-9, 2e-9])
    # w < 0 near identity: the -q of a tiny rotation; must not come back as a 2*pi - tiny turn
    for w in (1.0, -1.0):
        np.testing.assert_allclose(rot.quat_to_aa(np.array([w, *(w * xyz)])), 2 * xyz, rtol=1e-12)
    for axis in np.eye(3):
        np.testing.assert_allclose(np.abs(rot.quat_to_aa(np.array([0.0, *axis]))), np.pi * axis, atol=1e-15)
    np.testing.assert_array_equal(rot.quat_to_aa(np.array([1.0, 0.0, 0.0, 0.0])), np.zeros(3))


def test_quat_normalize():
    rng = np.random.default_rng(5)
    q = rng.normal(size=(50, 4)) * rng.uniform(1e-3, 1e3, (50, 1))
    n = rot.quat_normalize(q)
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-15)
    np.testing.assert_allclose(n * np.linalg.norm(q, axis=-1, keepdims=True), q, rtol=1e-14)  # direction kept
    np.testing.assert_allclose(rot.quat_normalize(n), n, atol=1e-16)  # idempotent
    assert rot.quat_normalize([1, 0, 0, 0]).dtype == np.float64  # ints and lists accepted
    # the zero quaternion does not turn into NaN
    np.testing.assert_array_equal(rot.quat_normalize(np.zeros(4)), np.zeros(4))


# -------------------------------------------------------------------------------- quat <-> matrix
def test_quat_to_mat_agrees_with_scipy_and_ignores_sign_and_scale():
    rng = np.random.default_rng(6)
    q = random_quats(rng, (300,))
    m = rot.quat_to_mat(q)
    np.testing.assert_allclose(m, from_wxyz(q).as_matrix(), atol=1e-14)
    assert_proper_rotation(m)
    np.testing.assert_allclose(rot.quat_to_mat(-q), m, atol=1e-15)
    np.testing.assert_allclose(rot.quat_to_mat(7.5 * q), m, atol=1e-14)
    np.testing.assert_array_equal(rot.quat_to_mat(np.array([1.0, 0, 0, 0])), np.eye(3))


def test_quat_to_mat_acts_on_column_vectors_as_documented():
    """wxyz: (cos 45deg, 0, 0, sin 45deg) is +90 deg about z, taking x to y (R @ v, column vectors)."""
    q = np.array([np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)])
    np.testing.assert_allclose(rot.quat_to_mat(q) @ [1.0, 0, 0], [0, 1.0, 0], atol=1e-15)


def test_mat_to_quat_agrees_with_scipy_with_w_nonnegative():
    rng = np.random.default_rng(7)
    m = np.concatenate([random_mats(rng, (300,)), rot.aa_to_mat(edge_aa(rng))])
    q = rot.mat_to_quat(m)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-15)
    assert np.all(q[:, 0] >= 0)
    ref = canonical(to_wxyz(Rotation.from_matrix(m)))
    assert_same_quat_up_to_sign(q, ref, atol=1e-14)  # sign free only where w == 0 (angle exactly pi)
    not_pi = ref[:, 0] > 1e-12
    np.testing.assert_allclose(q[not_pi], ref[not_pi], atol=1e-14)


@pytest.mark.parametrize("axis", range(3))
@pytest.mark.parametrize("angle", [0.0, 1e-9, 1.0, 3.0, np.pi - 1e-7, np.pi])
def test_mat_to_quat_every_shepperd_branch(axis, angle):
    """Small angles take the w branch; angles near pi about x / y / z take the x / y / z branch."""
    aa = np.zeros(3)
    aa[axis] = angle
    m = rot.aa_to_mat(aa)
    q = rot.mat_to_quat(m)
    expected = np.zeros(4)
    expected[0], expected[1 + axis] = np.cos(angle / 2), np.sin(angle / 2)
    np.testing.assert_allclose(q, expected, atol=1e-15)


def test_mat_quat_mat_round_trip():
    rng = np.random.default_rng(8)
    m = np.concatenate([random_mats(rng, (500,)), rot.aa_to_mat(edge_aa(rng))])
    np.testing.assert_allclose(rot.quat_to_mat(rot.mat_to_quat(m)), m, atol=1e-14)


def test_mat_to_quat_of_a_slightly_non_orthogonal_matrix_is_still_a_unit_quaternion():
    rng = np.random.default_rng(9)
    m = random_mats(rng, (100,)) + rng.normal(0, 1e-6, (100, 3, 3))
    q = rot.mat_to_quat(m)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-15)
    assert angle_between_rotations(rot.quat_to_mat(q), Rotation.from_matrix(m).as_matrix()).max() < 1e-5


# -------------------------------------------------------------------------- axis-angle <-> matrix
def test_aa_to_mat_agrees_with_scipy_including_edge_angles():
    rng = np.random.default_rng(10)
    aa = np.concatenate([random_aa(rng, 300, max_angle=3 * np.pi), edge_aa(rng)])
    m = rot.aa_to_mat(aa)
    np.testing.assert_allclose(m, Rotation.from_rotvec(aa).as_matrix(), atol=1e-14)
    assert_proper_rotation(m)


def test_mat_to_aa_agrees_with_scipy_including_edge_angles():
    rng = np.random.default_rng(11)
    aa = np.concatenate([random_aa(rng, 300), edge_aa(rng)])
    m = Rotation.from_rotvec(aa).as_matrix()
    back = rot.mat_to_aa(m)
    angle = np.linalg.norm(aa, axis=-1)
    tiny = angle < 1e-3
    np.testing.assert_allclose(back[tiny], aa[tiny], rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(back[~tiny], Rotation.from_matrix(m[~tiny]).as_rotvec(), atol=1e-7)
    # the angle itself is well conditioned everywhere, including at pi
    np.testing.assert_allclose(np.linalg.norm(back, axis=-1), angle, atol=1e-7)
    np.testing.assert_allclose(rot.aa_to_mat(back), m, atol=1e-14)


def test_mat_to_aa_at_exactly_pi():
    for axis in np.concatenate([np.eye(3), unit_vectors(np.random.default_rng(12), 5)]):
        m = 2.0 * np.outer(axis, axis) - np.eye(3)  # rotation by pi about `axis`
        aa = rot.mat_to_aa(m)
        assert abs(np.linalg.norm(aa) - np.pi) < 1e-12
        np.testing.assert_allclose(np.abs(aa @ axis), np.pi, atol=1e-12)  # along the axis, either sign


# ------------------------------------------------------------------------------------------ 6D
def test_6d_is_the_first_two_columns_and_round_trips():
    rng = np.random.default_rng(13)
    m = random_mats(rng, (200,))
    d6 = rot.mat_to_6d(m)
    assert d6.shape == (200, 6)
    np.testing.assert_array_equal(d6[:, :3], m[:, :, 0])
    np.testing.assert_array_equal(d6[:, 3:], m[:, :, 1])
    np.testing.assert_allclose(rot.sixd_to_mat(d6), m, atol=1e-14)


def test_sixd_to_mat_is_gram_schmidt_and_always_a_rotation():
    rng = np.random.default_rng(14)
    d6 = rng.normal(size=(300, 6)) * rng.uniform(0.01, 100, (300, 1))
    m = rot.sixd_to_mat(d6)
    assert_proper_rotation(m)
    a, b = d6[:, :3], d6[:, 3:]
    # the first column is a's direction; the second lies in the (a, b) half-plane on b's side
    np.testing.assert_allclose(m[:, :, 0], a / np.linalg.norm(a, axis=-1, keepdims=True), atol=1e-14)
    np.testing.assert_allclose(np.einsum("ni,ni->n", m[:, :, 1], np.cross(a, b)), 0.0, atol=1e-9)
    assert np.all(np.einsum("ni,ni->n", m[:, :, 1], b) > 0)
    # independent of the scale of either half
    np.testing.assert_allclose(rot.sixd_to_mat(np.concatenate([3 * a, 0.2 * b], -1)), m, atol=1e-13)


def test_sixd_to_mat_projects_a_perturbed_rotation_back_near_it():
    rng = np.random.default_rng(15)
    m = random_mats(rng, (100,))
    noisy = rot.sixd_to_mat(rot.mat_to_6d(m) + rng.normal(0, 1e-4, (100, 6)))
    assert angle_between_rotations(noisy, m).max() < 1e-3


# -------------------------------------------------------------------------------- axis rotation
@pytest.mark.parametrize("axis", ["X", "Y", "Z", "x", "y", "z"])
def test_axis_rotation_agrees_with_scipy(axis):
    angles = np.random.default_rng(16).uniform(-7, 7, (4, 5))
    m = rot.axis_rotation(axis, angles)
    assert m.shape == (4, 5, 3, 3)
    np.testing.assert_allclose(
        m, Rotation.from_euler(axis.upper(), angles.reshape(-1, 1)).as_matrix().reshape(m.shape), atol=1e-15
    )
    assert_proper_rotation(m)
    assert rot.axis_rotation(axis, 0.3).shape == (3, 3)  # a scalar angle gives one matrix


def test_axis_rotation_rejects_unknown_axis():
    with pytest.raises(KeyError):
        rot.axis_rotation("W", 0.1)


# ---------------------------------------------------------------------------------------- Euler
@pytest.mark.parametrize("order", TAIT_BRYAN + PROPER_EULER)
@pytest.mark.parametrize("degrees", [True, False])
def test_euler_to_mat_is_intrinsic_and_agrees_with_scipy(order, degrees):
    rng = np.random.default_rng(17)
    angles = rng.uniform(-200, 200, (50, 3))
    if not degrees:
        angles = np.deg2rad(angles)
    m = rot.euler_to_mat(angles, order, degrees=degrees)
    # scipy: upper case = intrinsic
    np.testing.assert_allclose(m, Rotation.from_euler(order, angles, degrees=degrees).as_matrix(), atol=1e-14)
    # the module's definition, spelled out: R = R_a0 @ R_a1 @ R_a2
    rad = np.deg2rad(angles) if degrees else angles
    spelled = rot.axis_rotation(order[0], rad[:, 0]) @ rot.axis_rotation(order[1], rad[:, 1])
    np.testing.assert_allclose(m, spelled @ rot.axis_rotation(order[2], rad[:, 2]), atol=1e-15)


def test_euler_order_letters_are_case_insensitive_and_always_intrinsic():
    """BVH semantics for any spelling; note scipy reads lower case as *extrinsic*, the module does not."""
    angles = np.random.default_rng(18).uniform(-90, 90, (20, 3))
    for order in TAIT_BRYAN:
        np.testing.assert_array_equal(rot.euler_to_mat(angles, order.lower()), rot.euler_to_mat(angles, order))
        np.testing.assert_array_equal(
            rot.mat_to_euler(rot.euler_to_mat(angles, order), order.lower()),
            rot.mat_to_euler(rot.euler_to_mat(angles, order), order),
        )


@pytest.mark.parametrize("order", TAIT_BRYAN)
@pytest.mark.parametrize("degrees", [True, False])
def test_mat_to_euler_round_trip_away_from_gimbal_lock(order, degrees):
    rng = np.random.default_rng(19)
    # outer angles anywhere in (-180, 180), the middle one short of +-90 by at least 0.01 deg
    angles = np.stack(
        [rng.uniform(-179.9, 179.9, 400), rng.uniform(-89.99, 89.99, 400), rng.uniform(-179.9, 179.9, 400)], -1
    )
    if not degrees:
        angles = np.deg2rad(angles)
    m = rot.euler_to_mat(angles, order, degrees=degrees)
    back = rot.mat_to_euler(m, order, degrees=degrees)
    # the angles themselves, since they are unique in these ranges (atol: 1e-9 deg or rad)
    np.testing.assert_allclose(back, angles, atol=1e-9)
    np.testing.assert_allclose(back, Rotation.from_matrix(m).as_euler(order, degrees=degrees), atol=1e-9)
    np.testing.assert_allclose(rot.euler_to_mat(back, order, degrees=degrees), m, atol=1e-13)


@pytest.mark.parametrize("order", TAIT_BRYAN)
def test_mat_to_euler_of_random_rotations_reconstructs_them_with_middle_angle_in_range(order):
    rng = np.random.default_rng(20)
    m = random_mats(rng, (400,))
    back = rot.mat_to_euler(m, order)
    assert np.all(np.abs(back[:, 1]) <= 90.0) and np.all(np.abs(back) <= 180.0)
    np.testing.assert_allclose(rot.euler_to_mat(back, order), m, atol=1e-12)


@pytest.mark.parametrize("order", TAIT_BRYAN)
def test_mat_to_euler_close_to_gimbal_lock(order):
    """1e-6 deg from the lock the outer angles are still recovered (their sum / difference is what is defined)."""
    angles = np.array([[30.0, 90.0 - 1e-6, 20.0], [-120.0, -90.0 + 1e-6, 45.0]])
    m = rot.euler_to_mat(angles, order)
    np.testing.assert_allclose(rot.euler_to_mat(rot.mat_to_euler(m, order), order), m, atol=1e-8)


def test_mat_to_euler_at_gimbal_lock_still_reconstructs_the_matrix():
    # Rx(30) @ Ry(90) @ Rz(20), exactly: only a + c = 50 deg is defined
    s, c = np.sin(np.deg2rad(50.0)), np.cos(np.deg2rad(50.0))
    m = np.array([[0.0, 0.0, 1.0], [s, c, 0.0], [-c, s, 0.0]])
    np.testing.assert_allclose(m, rot.euler_to_mat([30.0, 90.0, 20.0], "XYZ"), atol=1e-15)
    back = rot.mat_to_euler(m, "XYZ")  # returns (0, 90, 0)
    np.testing.assert_allclose(rot.euler_to_mat(back, "XYZ"), m, atol=1e-9)


@pytest.mark.parametrize("order", ["ZXZ", "XYX"])
def test_mat_to_euler_of_a_proper_euler_order_raises_or_round_trips(order):
    m = rot.euler_to_mat([30.0, 40.0, 50.0], order)
    try:
        back = rot.mat_to_euler(m, order)
    except ValueError:
        return
    np.testing.assert_allclose(rot.euler_to_mat(back, order), m, atol=1e-9)


# ------------------------------------------------------------------------------ rotation_between
def test_rotation_between_maps_u_onto_v_by_the_smallest_rotation():
    rng = np.random.default_rng(21)
    u = rng.normal(size=(500, 3)) * rng.uniform(0.01, 10, (500, 1))  # any length
    v = rng.normal(size=(500, 3)) * rng.uniform(0.01, 10, (500, 1))
    r = rot.rotation_between(u, v)
    assert_proper_rotation(r)
    un = u / np.linalg.norm(u, axis=-1, keepdims=True)
    vn = v / np.linalg.norm(v, axis=-1, keepdims=True)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", r, un), vn, atol=1e-12)
    # smallest: its angle is the angle between u and v, about the axis u x v
    aa = rot.mat_to_aa(r)
    np.testing.assert_allclose(np.linalg.norm(aa, axis=-1), np.arccos(np.clip(np.sum(un * vn, -1), -1, 1)), atol=1e-7)
    axis = np.cross(un, vn)
    np.testing.assert_allclose(np.cross(aa, axis), 0.0, atol=1e-12)
    assert np.all(np.sum(aa * axis, -1) >= 0)


def test_rotation_between_parallel_vectors_is_identity():
    rng = np.random.default_rng(22)
    u = rng.normal(size=(20, 3))
    np.testing.assert_allclose(rot.rotation_between(u, 3.0 * u), np.broadcast_to(np.eye(3), (20, 3, 3)), atol=1e-15)
    # nearly parallel (1e-9 rad apart): still lands on v
    v = u + 1e-9 * np.cross(u, rng.normal(size=(20, 3)))
    r = rot.rotation_between(u, v)
    vn = v / np.linalg.norm(v, axis=-1, keepdims=True)
    np.testing.assert_allclose(
        np.einsum("nij,nj->ni", r, u / np.linalg.norm(u, axis=-1, keepdims=True)), vn, atol=1e-15
    )


@pytest.mark.parametrize(
    "u",
    [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1e-7, 0], [1.0, 2e-6, 0], [-2.0, 0, 0], [0.3, -0.5, 0.8]],
    ids=["x", "y", "z", "x_plus_1e-7", "x_plus_2e-6", "minus_x", "generic"],
)
def test_rotation_between_antiparallel_vectors_turns_by_pi_about_a_perpendicular_axis(u):
    u = np.asarray(u)
    r = rot.rotation_between(u, -5.0 * u)
    assert_proper_rotation(r)
    un = u / np.linalg.norm(u)
    np.testing.assert_allclose(r @ un, -un, atol=1e-12)
    aa = rot.mat_to_aa(r)
    assert abs(np.linalg.norm(aa) - np.pi) < 1e-9
    assert abs(aa @ un) < 1e-9  # axis perpendicular to u


def test_rotation_between_nearly_antiparallel_vectors_lands_on_v():
    u, v = np.array([1.0, 0.0, 0.0]), np.array([-1.0, 1e-4, 0.0])
    r = rot.rotation_between(u, v)
    np.testing.assert_allclose(r @ u, v / np.linalg.norm(v), atol=1e-10)


def test_rotation_between_broadcasts_many_vectors_onto_one():
    rng = np.random.default_rng(23)
    u, v = rng.normal(size=(7, 3)), rng.normal(size=3)
    many = rot.rotation_between(u, v)
    assert many.shape == (7, 3, 3)
    for i in range(7):
        np.testing.assert_allclose(many[i], rot.rotation_between(u[i], v), atol=1e-15)


def test_rotation_between_broadcasts_one_vector_onto_many():
    rng = np.random.default_rng(23)
    u, v = rng.normal(size=3), rng.normal(size=(7, 3))
    assert rot.rotation_between(u, v).shape == (7, 3, 3)


# ------------------------------------------------------------------------------------ align_two
def test_align_two_matches_the_primary_axis_exactly_and_the_secondary_as_closely_as_possible():
    rng = np.random.default_rng(24)
    u_from, v_from, u_to, v_to = (rng.normal(size=(300, 3)) for _ in range(4))
    r = rot.align_two(u_from, v_from, u_to, v_to)
    assert_proper_rotation(r)

    def unit(a):
        return a / np.linalg.norm(a, axis=-1, keepdims=True)

    np.testing.assert_allclose(np.einsum("nij,nj->ni", r, unit(u_from)), unit(u_to), atol=1e-12)
    # R v_from lies in the half-plane spanned by u_to and v_to's part perpendicular to u_to
    rv = np.einsum("nij,nj->ni", r, v_from)
    normal = np.cross(u_to, v_to)
    np.testing.assert_allclose(np.sum(rv * unit(normal), -1), 0.0, atol=1e-12)
    v_perp = v_to - np.sum(v_to * unit(u_to), -1, keepdims=True) * unit(u_to)
    assert np.all(np.sum(rv * v_perp, -1) > 0)


def test_align_two_recovers_a_rotation_and_falls_back_when_the_twist_is_undefined():
    rng = np.random.default_rng(25)
    r = random_mats(rng, (100,))
    u, v = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    ru, rv = np.einsum("nij,nj->ni", r, u), np.einsum("nij,nj->ni", r, v)
    np.testing.assert_allclose(rot.align_two(u, v, ru, rv), r, atol=1e-12)
    np.testing.assert_allclose(rot.align_two(u, -2.0 * u, ru, rv), rot.rotation_between(u, ru), atol=1e-15)
    np.testing.assert_allclose(rot.align_two(u, v, ru, 0.5 * ru), rot.rotation_between(u, ru), atol=1e-15)
    # broadcasting: one "from" frame against many targets
    many = rot.align_two(u[0], v[0], ru, rv)
    assert many.shape == (100, 3, 3)
    np.testing.assert_allclose(many[3], rot.align_two(u[0], v[0], ru[3], rv[3]), atol=1e-15)


# ---------------------------------------------------------------------------------------- slerp
def test_quat_slerp_endpoints_and_agreement_with_scipy():
    rng = np.random.default_rng(26)
    q0, q1 = random_quats(rng, (40,)), random_quats(rng, (40,))
    np.testing.assert_allclose(rot.quat_slerp(q0, q1, 0.0), q0, atol=1e-15)
    end = rot.quat_slerp(q0, q1, 1.0)
    assert_same_quat_up_to_sign(end, q1, atol=1e-14)  # q1 or -q1: the short arc's end
    ts = np.linspace(0, 1, 9)
    for i in range(len(q0)):
        ours = rot.quat_to_mat(rot.quat_slerp(q0[i], q1[i], ts))  # (9, 4): t broadcasts
        ref = Slerp([0.0, 1.0], from_wxyz(np.stack([q0[i], q1[i]])))(ts).as_matrix()
        np.testing.assert_allclose(ours, ref, atol=1e-13)


def test_quat_slerp_takes_the_short_arc_at_constant_speed():
    rng = np.random.default_rng(27)
    q0, q1 = random_quats(rng, (100,)), random_quats(rng, (100,))
    total = angle_between_rotations(rot.quat_to_mat(q0), rot.quat_to_mat(q1))  # <= pi
    for t in (0.1, 0.25, 0.5, 0.9):
        mid = rot.quat_slerp(q0, q1, t)
        np.testing.assert_allclose(np.linalg.norm(mid, axis=-1), 1.0, atol=1e-15)
        m = rot.quat_to_mat(mid)
        np.testing.assert_allclose(angle_between_rotations(rot.quat_to_mat(q0), m), t * total, atol=1e-9)
        np.testing.assert_allclose(angle_between_rotations(m, rot.quat_to_mat(q1)), (1 - t) * total, atol=1e-9)
        # the representative of q1 does not matter
        np.testing.assert_allclose(rot.quat_to_mat(rot.quat_slerp(q0, -q1, t)), m, atol=1e-14)


def test_quat_slerp_of_nearly_equal_quaternions_is_stable():
    q0 = random_quats(np.random.default_rng(28), (10,))
    for d in (0.0, 1e-14, 1e-9, 1e-7):
        q1 = rot.quat_normalize(q0 + d)
        mid = rot.quat_slerp(q0, q1, 0.5)
        assert np.all(np.isfinite(mid))
        np.testing.assert_allclose(mid, rot.quat_normalize(q0 + q1), atol=1e-14)
    np.testing.assert_allclose(rot.quat_slerp(q0, -q0, 0.3), q0, atol=1e-15)


def test_quat_slerp_accepts_unnormalized_input_and_per_item_t():
    rng = np.random.default_rng(29)
    q0, q1 = random_quats(rng, (6,)), random_quats(rng, (6,))
    t = rng.uniform(0, 1, 6)
    out = rot.quat_slerp(3.0 * q0, 0.2 * q1, t)
    for i in range(6):
        np.testing.assert_allclose(out[i], rot.quat_slerp(q0[i], q1[i], t[i]), atol=1e-15)


# ---------------------------------------------------------------------------------------- yaw
def test_yaw_of_is_the_heading_of_the_body_forward_axis():
    rng = np.random.default_rng(30)
    m = random_mats(rng, (200,))
    fwd = m[:, :, 2]  # R @ e_z: SMPL's +z forward
    np.testing.assert_allclose(rot.yaw_of(m), np.arctan2(fwd[:, 1], fwd[:, 0]), atol=0)
    assert rot.yaw_of(np.eye(3)) == 0.0  # forward straight up: atan2(0, 0)
    # an upright body (UPRIGHT: canonical +z forward -> world -y) at zero root yaw heads along -y
    np.testing.assert_allclose(rot.yaw_of(sk.UPRIGHT), -np.pi / 2, atol=1e-15)


def test_yaw_of_turns_with_world_yaw_and_ignores_roll_about_forward():
    rng = np.random.default_rng(31)
    m = random_mats(rng, (200,))
    a = rng.uniform(-np.pi, np.pi, 200)
    turned = rot.yaw_of(rot.axis_rotation("Z", a) @ m)
    diff = np.angle(np.exp(1j * (turned - rot.yaw_of(m) - a)))  # wrapped to (-pi, pi]
    np.testing.assert_allclose(diff, 0.0, atol=1e-9)
    assert np.all(np.abs(turned) <= np.pi)
    # rolling about the body's own forward axis (local z) keeps the heading
    rolled = m @ rot.axis_rotation("Z", rng.uniform(-3, 3, 200))
    np.testing.assert_allclose(rot.yaw_of(rolled), rot.yaw_of(m), atol=1e-12)


# ---------------------------------------------------------------------------------------- torch
def test_torch_twins_equal_numpy_in_float64():
    rng = np.random.default_rng(32)
    d6 = rng.normal(size=(5, 3, 6))
    np.testing.assert_allclose(rot.sixd_to_mat_t(torch.from_numpy(d6)).numpy(), rot.sixd_to_mat(d6), atol=1e-14)


def test_torch_twins_in_float32_keep_dtype_and_are_differentiable():
    rng = np.random.default_rng(33)
    d6 = torch.tensor(rng.normal(size=(8, 6)), dtype=torch.float32, requires_grad=True)
    m = rot.sixd_to_mat_t(d6)
    assert m.dtype == torch.float32 and m.shape == (8, 3, 3)
    np.testing.assert_allclose(m.detach().numpy(), rot.sixd_to_mat(d6.detach().numpy().astype(np.float64)), atol=1e-5)
    (m * torch.arange(9.0).reshape(3, 3)).sum().backward()
    assert torch.isfinite(d6.grad).all() and d6.grad.abs().sum() > 0


# ---------------------------------------------------------------------- batching, inputs, rotations
def _cases(rng) -> dict:
    """name -> (function, batched args): each arg batched over the leading shape (5, 3)."""
    b = (5, 3)
    return {
        "aa_to_quat": (rot.aa_to_quat, (rng.normal(size=(*b, 3)),)),
        "quat_to_aa": (rot.quat_to_aa, (rng.normal(size=(*b, 4)),)),
        "quat_normalize": (rot.quat_normalize, (rng.normal(size=(*b, 4)),)),
        "quat_to_mat": (rot.quat_to_mat, (rng.normal(size=(*b, 4)),)),
        "mat_to_quat": (rot.mat_to_quat, (random_mats(rng, b),)),
        "aa_to_mat": (rot.aa_to_mat, (rng.normal(size=(*b, 3)),)),
        "mat_to_aa": (rot.mat_to_aa, (random_mats(rng, b),)),
        "mat_to_6d": (rot.mat_to_6d, (random_mats(rng, b),)),
        "sixd_to_mat": (rot.sixd_to_mat, (rng.normal(size=(*b, 6)),)),
        "axis_rotation": (lambda a: rot.axis_rotation("Y", a), (rng.normal(size=b),)),
        "euler_to_mat": (lambda a: rot.euler_to_mat(a, "ZXY"), (rng.uniform(-90, 90, (*b, 3)),)),
        "mat_to_euler": (lambda m: rot.mat_to_euler(m, "YZX", degrees=False), (random_mats(rng, b),)),
        "rotation_between": (rot.rotation_between, (rng.normal(size=(*b, 3)), rng.normal(size=(*b, 3)))),
        "align_two": (rot.align_two, tuple(rng.normal(size=(*b, 3)) for _ in range(4))),
        "quat_slerp": (rot.quat_slerp, (rng.normal(size=(*b, 4)), rng.normal(size=(*b, 4)), rng.uniform(0, 1, b))),
        "yaw_of": (rot.yaw_of, (random_mats(rng, b),)),
    }


@pytest.mark.parametrize("name", list(_cases(np.random.default_rng(0))))
def test_batched_equals_unbatched_and_inputs_are_not_modified(name):
    fn, args = _cases(np.random.default_rng(34))[name]
    copies = [a.copy() for a in args]
    out = fn(*args)
    for a, c in zip(args, copies):
        np.testing.assert_array_equal(a, c, err_msg=f"{name} modified its input")
    assert out.shape[:2] == (5, 3), name
    for i in range(5):
        for j in range(3):
            one = fn(*(a[i, j] for a in args))
            np.testing.assert_allclose(out[i, j], one, atol=1e-14, err_msg=name)
    # one leading dimension gives the same numbers as two
    flat = fn(*(a.reshape(15, *a.shape[2:]) for a in args))
    np.testing.assert_allclose(flat.reshape(out.shape), out, atol=1e-14, err_msg=name)


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: rot.aa_to_mat(rng.normal(size=(100, 3)) * 3),
        lambda rng: rot.quat_to_mat(rng.normal(size=(100, 4))),
        lambda rng: rot.sixd_to_mat(rng.normal(size=(100, 6))),
        lambda rng: rot.euler_to_mat(rng.uniform(-360, 360, (100, 3)), "ZXY"),
        lambda rng: rot.axis_rotation("X", rng.uniform(-10, 10, 100)),
        lambda rng: rot.rotation_between(rng.normal(size=(100, 3)), rng.normal(size=(100, 3))),
        lambda rng: rot.align_two(*(rng.normal(size=(100, 3)) for _ in range(4))),
    ],
    ids=["aa_to_mat", "quat_to_mat", "sixd_to_mat", "euler_to_mat", "axis_rotation", "rotation_between", "align_two"],
)
def test_matrix_outputs_are_proper_rotations(make):
    assert_proper_rotation(make(np.random.default_rng(35)))
