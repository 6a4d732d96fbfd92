"""Nested cones: the closed-form nesting radius against dense random sampling, the literal §5
definition (LPs) against the operational property, and every reading of complete nesting
(issue 11: as written, operational, cone containment, angle; the cone's rotation).

Independent oracles for the readings: the dense circulant written with loops (oracle_dense), its
inverse and eigen-decomposition by numpy.linalg, LPs by scipy.optimize.linprog (not the library's
HiGHS wrapper), forward passes for cone membership, random sampling, finite differences."""

from __future__ import annotations

import math
import time
from itertools import combinations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.optimize import linprog

from preimage import InvalidInputError
from preimage.conv import (
    MAX_AS_WRITTEN_SIZE,
    MAX_LITERAL_SIZE,
    as_written_radius,
    circulant,
    cone_containment,
    cone_orientation,
    element_map,
    literal_nesting,
    nested_as_written,
    nesting_radius,
    nesting_report,
    orientation_freedom,
    restricted_nesting_fraction,
    row_nesting_radii,
)
from preimage.network import conv_matrix
from test_conv_circulant import oracle_dense


# -- an independent sampling oracle ----------------------------------------------------------------
def zero_violations(C: np.ndarray, b: float, R: float, n: int, seed: int) -> float:
    """The largest ``(C x + b)_i`` over sampled ``x ∈ [0, R]^d`` at coordinates with ``x_i = 0``.

    Samples mix box vertices (where the maximum of a linear form over the box lies) and
    uniform points, each with a random set of coordinates forced to zero.
    """
    rng = np.random.default_rng(seed)
    d = C.shape[0]
    X = np.where(rng.random((n, d)) < 0.5, R, 0.0)
    X[n // 2:] = rng.uniform(0, R, size=(n - n // 2, d))
    zero = rng.random((n, d)) < 0.4
    X[zero] = 0.0
    Z = X @ C.T + b
    return float(np.max(np.where(zero, Z, -np.inf)))


CASES = [
    ([1.0, 0.25, -0.5], 16, -0.5, 0),       # P = 0.25: R = 2
    ([0.8, -0.2, 0.3, 0.1], 8, -0.2, 0),    # P = 0.4: R = 0.5
    ([0.4, 1.0, 0.3], 9, -0.3, 1),          # centred: the diagonal tap is 1.0
    ([[1.0, 0.2], [0.1, -0.3]], (3, 4), -0.15, (0, 0)),
]


@pytest.mark.parametrize("kernel, shape, b, origin", CASES)
def test_nesting_radius_against_sampling(kernel, shape, b, origin):
    L = circulant(kernel, shape, bias=b, origin=origin)
    r = nesting_radius(L)
    assert r.status == "finite" and r.radius > 0
    C = oracle_dense(kernel, shape, origin)
    # below the radius no sampled zero ever becomes positive ...
    assert zero_violations(C, b, 0.999 * r.radius, 20000, seed=1) <= 1e-12
    # ... just beyond it some sample turns a zero positive
    assert zero_violations(C, b, 1.01 * r.radius, 20000, seed=2) > 0
    assert r.holds_at(0.999 * r.radius) and not r.holds_at(1.01 * r.radius)


def test_nesting_radius_depends_on_the_diagonal_tap():
    k = [0.5, 1.0, -0.25]
    assert nesting_radius(circulant(k, 10, bias=-0.5)).radius == pytest.approx(0.5)      # diagonal 0.5: P = 1
    assert nesting_radius(circulant(k, 10, bias=-0.5, origin=1)).radius == pytest.approx(1.0)  # P = 0.5


def test_unbounded_and_never():
    L = circulant([1.0, -0.5, -0.1], 12, bias=-0.1)
    r = nesting_radius(L)
    assert r.radius == math.inf and r.to_json() == "inf"
    assert zero_violations(oracle_dense([1.0, -0.5, -0.1], 12), -0.1, 1e6, 5000, seed=3) <= 0
    never = nesting_radius(circulant([1.0, -0.5], 12, bias=0.01))
    assert never.status == "never" and never.to_json() == "never" and not never.holds_at(0.0)
    # x = 0 already turns the zero input into a positive output
    assert zero_violations(oracle_dense([1.0, -0.5], 12), 0.01, 0.0, 10, seed=4) > 0
    zero_bias = nesting_radius(circulant([1.0, 0.5], 12, bias=0.0))
    assert zero_bias.radius == 0.0 and zero_bias.holds_at(0.0) and not zero_bias.holds_at(1e-9)


def test_nesting_radius_for_a_million_positions_is_fast():
    k = np.array([1.0, 0.3, -0.2, 0.1, 0.05])
    t0 = time.perf_counter()
    r = nesting_radius(circulant(k, 10**6, bias=-0.45))
    assert time.perf_counter() - t0 < 1.0
    assert r.radius == pytest.approx(0.45 / 0.45)


def test_row_radii_of_the_circulant_and_of_the_zero_padded_convolution():
    k = np.array([0.3, 1.0, 0.2])
    L = circulant(k, 10, bias=-0.25, origin=1)
    np.testing.assert_allclose(row_nesting_radii(L.dense(), -0.25), nesting_radius(L).radius)
    np.testing.assert_allclose(row_nesting_radii(L.sparse(), np.full(10, -0.25)), 0.5)
    W, _ = conv_matrix(k.reshape(1, 1, 3), (1, 10), padding=1)
    radii = row_nesting_radii(W, -0.25)
    # the boundary rows lose a tap: larger radius (−b/0.2 and −b/0.3); the interior is the circulant's
    np.testing.assert_allclose(radii, [1.25] + [0.5] * 8 + [0.25 / 0.3])
    assert restricted_nesting_fraction(W, -0.25, 0.8) == pytest.approx(0.2)
    assert restricted_nesting_fraction(L, None, 0.4) == 1.0
    assert restricted_nesting_fraction(L, None, 0.6) == 0.0


# -- literal against operational -------------------------------------------------------------------
@given(
    st.lists(st.integers(min_value=-3, max_value=3), min_size=1, max_size=3),
    st.integers(min_value=2, max_value=5),
    st.sampled_from([-2.0, -1.0, -0.5, 0.0, 1.0]),
)
def test_literal_and_operational_agree_on_the_orthant(kernel, d, b):
    """The paper's setting (domain R^d_+): completely nested ⟺ nesting radius ∞."""
    assume(any(kernel) and len(kernel) <= d)
    L = circulant(kernel, d, bias=b)
    assume(L.invertible)
    lit = literal_nesting(L)
    op = nesting_radius(L)
    assert lit.nested is not None  # N1 may be undecided (singular E_II) only where N2 already fails
    assert lit.nested == (op.radius == math.inf)
    assert lit.no_other_subset == (op.radius == math.inf)


def random_finite_cases(n: int, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        d = int(rng.integers(3, 7))
        k = rng.normal(size=int(rng.integers(2, 4)))
        k[0] = abs(k[0]) + 0.5
        L = circulant(k, d, bias=-abs(float(rng.normal())) * 0.5)
        r = nesting_radius(L)
        if math.isfinite(r.radius) and L.invertible:
            out.append((L, r))
    return out


@pytest.mark.parametrize("factor", [0.5, 0.9, 1.1, 2.0])
def test_literal_no_other_subset_is_the_operational_property_on_a_box(factor):
    """On [0, R]^d condition N2 over all subsets is exactly the operational property, and the
    full literal verdict implies it."""
    for L, r in random_finite_cases(12, seed=int(factor * 10)):
        R = factor * r.radius
        lit = literal_nesting(L, R)
        assert lit.no_other_subset == r.holds_at(R)
        if lit.nested:
            assert r.holds_at(R)


@pytest.mark.xfail(strict=True, reason=(
    "On a bounded box the literal condition N1 ('the preimage cone contains an element of "
    "Π'_I') can fail while zeros are preserved: a positive off-diagonal tap (0.1) means that "
    "setting z_I = 0 must be compensated by a larger z_J, which leaves [0, R]^d. Nesting "
    "radius 5, but N1 fails at R = 4. On the orthant (R = ∞) the two agree."))
def test_literal_equals_operational_on_a_box_known_disagreement():
    L = circulant([1.0, 0.1, 0.0], 3, bias=-0.5)
    assert nesting_radius(L).radius == pytest.approx(5.0)
    lit = literal_nesting(L, 4.0)
    assert lit.no_other_subset  # the operational part agrees ...
    assert lit.nested == nesting_radius(L).holds_at(4.0)  # ... the full definition does not


def test_the_box_disagreement_is_genuine_by_sampling():
    """Independent witness for the xfail above: an input of [0, 4]^3 whose output no input of
    the box with zeros at its zero-output set produces (the unique candidate leaves the box)."""
    k, b, R = [1.0, 0.1, 0.0], -0.5, 4.0
    C = oracle_dense(k, 3)
    rng = np.random.default_rng(0)
    Z = rng.uniform(0, R, size=(20000, 3))
    Z[:, 2] = rng.uniform(0, 0.6, size=20000)  # make output 2 often zero
    worst = 0.0
    for z in Z:
        y = C @ z + b
        I, J = np.flatnonzero(y <= 0), np.flatnonzero(y > 0)
        if I.size == 0 or J.size == 0:
            continue
        zJ = np.linalg.solve(C[np.ix_(J, J)], y[J] - b)  # the only input with z_I = 0 and output y_J
        worst = max(worst, float(zJ.max()) - R)
    assert worst > 1e-3  # it must leave the box: N1 genuinely fails
    assert zero_violations(C, b, R, 20000, seed=6) <= 0  # while zeros stay zero


def test_element_map_is_the_dual_basis_construction():
    L = circulant([1.0, -0.4, 0.3, -0.2], 6, bias=-0.1)
    C, E = np.array(L.dense()), np.array(L.dual_basis_matrix())
    z = np.random.default_rng(1).uniform(0, 1, size=6)
    for I in ([0], [1, 3], [0, 2, 4], [0, 1, 2, 3, 4, 5]):
        G = element_map(C, I)
        via_dual = z - E[:, I] @ np.linalg.solve(E[np.ix_(I, I)], z[I])
        np.testing.assert_allclose(G @ z, via_dual, atol=1e-12)
        J = [j for j in range(6) if j not in I]
        assert np.allclose((G @ z)[I], 0) and np.allclose((C @ (G @ z))[J], (C @ z)[J])


def test_literal_orbits_cover_every_subset_once():
    L = circulant([1.0, -0.5, -0.2], 6, bias=-0.1)
    lit = literal_nesting(L)
    assert lit.n_subsets == 2**6
    assert len(lit.subsets) == 14  # binary necklaces of length 6
    sizes = lit.by_size()
    assert [row["subsets"] for row in sizes.values()] == [1, 6, 15, 20, 15, 6, 1]
    assert lit.nested and all(row["nested"] == 1.0 for row in sizes.values())
    L2 = circulant([[1.0, -0.3], [-0.2, 0.0]], (2, 3), bias=-0.1)
    lit2 = literal_nesting(L2)
    assert lit2.n_subsets == 64 and lit2.nested  # Z-matrix, b < 0: nested on the orthant


def test_literal_failure_names_a_violating_coordinate():
    L = circulant([1.0, 0.5, -0.25], 4, bias=-0.1)
    lit = literal_nesting(L)
    assert lit.nested is False
    bad = [s for s in lit.subsets if not s.no_other_subset]
    assert bad and all(s.violating_coordinate not in s.subset for s in bad)


def test_literal_check_for_d_8_is_fast():
    rng = np.random.default_rng(5)
    k = np.array([1.0, -0.4, -0.3])
    t0 = time.perf_counter()
    lit = literal_nesting(circulant(k, 8, bias=-0.2))
    assert time.perf_counter() - t0 < 10.0
    assert lit.nested and len(lit.subsets) == 36
    lit_box = literal_nesting(circulant(rng.normal(size=3) + [1.0, 0, 0], 8, bias=-0.3), 0.1)
    assert lit_box.complete


def test_literal_bad_input():
    with pytest.raises(InvalidInputError, match="MAX_LITERAL_SIZE"):
        literal_nesting(circulant([1.0, -0.5], MAX_LITERAL_SIZE + 1, bias=-0.1))
    with pytest.raises(InvalidInputError, match="singular"):
        literal_nesting(circulant([1.0, -1.0], 4, bias=-0.1))
    with pytest.raises(InvalidInputError, match="radius must be non-negative"):
        literal_nesting(circulant([1.0, -0.5], 4, bias=-0.1), -1.0)
    with pytest.raises(InvalidInputError, match="CirculantLayer"):
        nesting_radius([1.0, 2.0])
    with pytest.raises(InvalidInputError, match="R must be non-negative"):
        nesting_radius(circulant([1.0, 0.5], 4, bias=-1.0)).holds_at(-1.0)
    with pytest.raises(InvalidInputError, match="square"):
        row_nesting_radii(np.ones((2, 3)), 0.0)


# == every reading of complete nesting (issue 11, item 1) ==========================================
# Independent oracles below: the dense circulant written with loops (oracle_dense), its inverse and
# eigen-decomposition by numpy.linalg, LPs by scipy.optimize.linprog (not the library's HiGHS
# wrapper), forward passes for cone membership, random sampling, finite differences.

def plane_angle(C: np.ndarray) -> float:
    """Angle of the hyperplane with normal ``C[0]`` to the identity line: 90° minus the angle
    (arccos of the normalised dot product) between the normal and ``1``."""
    n, one = C[0], np.ones(C.shape[0])
    return math.pi / 2 - math.acos(abs(n @ one) / (np.linalg.norm(n) * np.linalg.norm(one)))


def cone_points(C: np.ndarray, b: float, n: int, seed: int, scale: float = 1.0) -> np.ndarray:
    """Points of ``K = {Cx + b >= 0}``: apex + non-negative combinations of ``inv(C)``'s columns,
    each kept only if a forward pass confirms ``C x + b >= 0``."""
    rng = np.random.default_rng(seed)
    d = C.shape[0]
    E = np.linalg.inv(C)
    apex = np.linalg.solve(C, -b * np.ones(d))
    alpha = rng.exponential(size=(n, d)) * scale * 10.0 ** rng.uniform(-3, 2, size=(n, 1))
    alpha[rng.random((n, d)) < 0.4] = 0.0
    X = apex + alpha @ E.T
    return X[np.all(X @ C.T + b >= -1e-9 * (1 + np.abs(X).max(axis=1, keepdims=True)), axis=1)]


def containment_radius_scipy(C: np.ndarray, b: float) -> float:
    """min ‖x‖∞ over K with x_i <= 0 for some i, in α-coordinates x = apex + inv(C) α (scipy)."""
    d = C.shape[0]
    E = np.linalg.inv(C)
    apex = np.linalg.solve(C, -b * np.ones(d))
    best = math.inf
    for i in range(d):  # variables (α, t): min t, apex + Eα ∈ [−t, t]^d, (apex + Eα)_i <= 0
        A = np.vstack([np.hstack([E, -np.ones((d, 1))]), np.hstack([-E, -np.ones((d, 1))]),
                       np.append(E[i], 0.0)[None]])
        rhs = np.concatenate([-apex, apex, [-apex[i]]])
        res = linprog(np.eye(1, d + 1, d).ravel(), A_ub=A, b_ub=rhs, bounds=[(0, None)] * (d + 1))
        if res.status == 0:
            best = min(best, res.fun)
    return best


ISSUE_A = ([1.0, -2.0], 2, -0.1)        # apex −0.1·1 outside the orthant, "counts as completely nested"
ISSUE_B = ([1.0, 0.1, -0.1], 3, -0.1)   # narrower than the identity cone (34.9° vs 35.3°), "does not"


def test_issue_example_apex_outside_the_orthant():
    kernel, d, b = ISSUE_A
    C = oracle_dense(kernel, d)
    rep = nesting_report(circulant(kernel, d, bias=b))
    apex = np.linalg.solve(C, -b * np.ones(d))
    np.testing.assert_allclose(apex, [-0.1, -0.1])
    # operational (the library's reading): holds — no sampled zero ever becomes positive
    assert rep.verdicts["operational"] and zero_violations(C, b, 1e3, 20000, seed=2) <= 0
    # containment: fails; the apex itself is a point of the cone outside the orthant
    assert not rep.verdicts["containment"] and np.all(apex @ C.T + b >= -1e-12)
    assert rep["containment"].radius == pytest.approx(containment_radius_scipy(C, b), rel=1e-7)
    assert rep["containment"].radius == pytest.approx(0.1, rel=1e-9)
    # angle: 18.4° < 45° — the angle relation holds although the cone opens along −1
    assert plane_angle(C) < math.pi / 4 and rep.verdicts["angle"]
    assert not rep.containment_detail.opens_along_identity
    # as written: fails at I = {0}: M = {x0 − 2x1 = 0.1, x >= 0} has no point with x0 = 0
    assert not rep.verdicts["as_written"]
    assert rep["as_written"].radius == pytest.approx(0.1, rel=2e-3)  # below 0.1, M ∩ [0,R]^2 = ∅


def test_issue_example_narrower_cone_is_not_operationally_nested():
    kernel, d, b = ISSUE_B
    C = oracle_dense(kernel, d)
    rep = nesting_report(circulant(kernel, d, bias=b))
    assert math.degrees(plane_angle(C)) == pytest.approx(34.87, abs=0.01)
    assert math.degrees(plane_angle(np.eye(3))) == pytest.approx(35.26, abs=0.01)
    assert rep.verdicts["angle"] and rep.containment_detail.narrower
    # operational fails: radius −b/P = 1; sampled zeros stay zero below, break above
    assert not rep.verdicts["operational"] and rep["operational"].radius == pytest.approx(1.0)
    assert zero_violations(C, b, 0.99, 20000, seed=3) <= 0 < zero_violations(C, b, 1.01, 20000, seed=3)
    # containment fails although the angle is narrower: the rotation pushes a generator out
    assert np.linalg.inv(C).min() < 0
    assert not rep.verdicts["containment"]
    assert rep["containment"].radius == pytest.approx(containment_radius_scipy(C, b), rel=1e-7)
    assert not rep.verdicts["as_written"]
    text = str(rep)
    for name in ("as_written", "operational", "containment", "angle", "rotation"):
        assert name in text


@pytest.mark.parametrize("seed", range(8))
def test_containment_against_sampling_and_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    d = int(rng.integers(2, 5))
    kernel = np.concatenate([[1.0], rng.uniform(-0.6, 0.4, size=d - 1)])
    b = float(rng.uniform(-1.0, 0.3))
    C = oracle_dense(kernel, d)
    assume_ok = abs(np.linalg.det(C)) > 1e-3 and abs(kernel.sum()) > 1e-3
    if not assume_ok:
        pytest.skip("near-singular draw")
    res = cone_containment(circulant(kernel, d, bias=b))
    assert res.angle == pytest.approx(plane_angle(C), abs=1e-12)
    assert res.preceding_angle == pytest.approx(plane_angle(np.eye(d)), abs=1e-12)
    X = cone_points(C, b, 40000, seed)
    norms = np.abs(X).max(axis=1)
    outside = np.any(X < -1e-9, axis=1)
    if res.contained:
        assert not outside.any() and containment_radius_scipy(C, b) == math.inf
    else:
        ref = containment_radius_scipy(C, b)
        assert res.radius == pytest.approx(ref, rel=1e-7, abs=1e-9)
        assert not np.any(outside & (norms < res.radius * (1 - 1e-6)))   # inside below the radius
        x = res.exit_point                                               # and a cone point at it
        assert np.all(C @ x + b >= -1e-8) and x.min() <= 1e-8
        assert np.abs(x).max() == pytest.approx(res.radius, rel=1e-7, abs=1e-9)


def _m_points(C, b, I, sigma, rng, n):
    """Points of B_I = {x >= 0 : (Cx + b)_I = 0}, also on its faces (coordinates forced to zero)."""
    d = C.shape[0]
    J = [j for j in range(d) if j not in I]
    out = []
    for _ in range(n):
        Z = [j for j in J if rng.random() < 0.35]
        A = np.vstack([C[I], np.eye(d)[Z]]) if Z else C[I]
        rhs = np.concatenate([-b * np.ones(len(I)), np.zeros(len(Z))])
        xp = np.linalg.lstsq(A, rhs, rcond=None)[0]
        if np.abs(A @ xp - rhs).max() > 1e-9:
            continue
        _, s, vt = np.linalg.svd(A)
        N = vt[int(np.sum(s > 1e-10)):].T
        beta = rng.normal(size=N.shape[1]) * 10.0 ** rng.uniform(-2, 3)
        x = xp + N @ beta
        if x.min() >= -1e-12:
            out.append(np.clip(x, 0, None))
    return out


def _as_written_at(C, b, I, x, sigma):
    """(W1, exact margin, meets another Π'_k) at x, by scipy in α-coordinates: z = x + σ E_J α."""
    d = C.shape[0]
    J = [j for j in range(d) if j not in I]
    EJ = np.linalg.inv(C)[:, J]
    q = len(J)
    # max t: z_I = 0, z >= 0, z_J >= t, t <= 1, α >= 0
    A_ub = np.vstack([np.hstack([-sigma * EJ, np.zeros((d, 1))]),
                      np.hstack([-sigma * EJ[J], np.ones((q, 1))])])
    b_ub = np.concatenate([x, x[J]])
    A_eq = np.hstack([sigma * EJ[I], np.zeros((len(I), 1))])
    res = linprog(-np.eye(1, q + 1, q).ravel(), A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=-x[I],
                  bounds=[(0, None)] * q + [(None, 1)])
    w1, margin = res.status == 0, (-res.fun if res.status == 0 else -math.inf)
    meets = False
    for k in J:  # z >= 0, z_k = 0
        r = linprog(np.zeros(q), A_ub=-sigma * EJ, b_ub=x, A_eq=sigma * EJ[[k]], b_eq=-x[[k]],
                    bounds=[(0, None)] * q)
        meets |= r.status == 0
    return w1, margin, meets


AS_WRITTEN_CASES = [
    ([1.0, 0.0], 2, 0.0), ([1.0, -0.5], 2, -0.1), ([1.0, -2.0], 2, -0.1), ([1.0, 0.4], 2, 0.2),
    ([1.0, 0.0, 0.0], 3, 0.0), ([1.0, 0.0, 0.0], 3, 0.3), ([1.0, -0.2, -0.1], 3, 0.0),
    ([1.0, 0.1, -0.1], 3, -0.1), ([1.0, 0.3, 0.2], 3, 0.0), ([1.0, -0.6, 0.2], 3, 0.1),
    ([0.5, 1.0, -0.4], 3, -0.2),
]


@pytest.mark.parametrize("orientation", ["paper", "positive"])
@pytest.mark.parametrize("kernel, d, b", AS_WRITTEN_CASES)
def test_as_written_against_brute_force_sampling(kernel, d, b, orientation):
    sigma = -1.0 if orientation == "paper" else 1.0
    C = oracle_dense(kernel, d)
    res = nested_as_written(circulant(kernel, d, bias=b), orientation=orientation)
    assert sum(s.orbit_size for s in res.subsets) == 2**d - 1
    rng = np.random.default_rng(7)
    for s in res.subsets:
        for I in {tuple(sorted((i + r) % d for i in s.subset)) for r in range(d)}:
            I = list(I)
            pts = _m_points(C, b, I, sigma, rng, 200)
            assert s.vacuous == (not pts and not _m_points(C, b, I, sigma, rng, 2000))
            checks = [_as_written_at(C, b, I, x, sigma) for x in pts]
            w1 = all(c[0] for c in checks)
            exact = all(c[1] > 1e-7 for c in checks)
            excl = not any(c[2] for c in checks)
            assert s.contains_element == w1, (I, s)
            assert s.exact == (w1 and exact), (I, s)
            assert s.exclusive == excl, (I, s)
        if s.witness is not None:  # the vertex witness fails by scipy too
            w1, margin, _ = _as_written_at(C, b, list(s.subset), s.witness, sigma)
            assert not w1 or margin <= 1e-7


def test_as_written_reading_of_the_identity_layer():
    """Known values: with b = 0 the identity cone is the orthant itself; the paper's orientation
    makes it fail the "exact" clause (at x with x_j = 0 the span cannot raise z_j), the other
    orientation passes; with b > 0 every M_I misses the orthant and the definition holds
    vacuously; with b < 0 the apex b·1 is in M_{1..d} ∩ R^d_+ but not at the origin."""
    eye = [1.0, 0.0, 0.0]
    assert not nested_as_written(circulant(eye, 3)).holds("exact")
    assert nested_as_written(circulant(eye, 3), orientation="positive").holds("exact")
    assert not nested_as_written(circulant(eye, 3), orientation="positive").holds("exclusive")
    pos = nested_as_written(circulant(eye, 3, bias=0.3))
    assert pos.holds("exact") and all(s.vacuous for s in pos.subsets)
    neg = nested_as_written(circulant(eye, 3, bias=-0.5))
    assert not neg.holds("exact") and neg.first_failure().subset == (0,)
    # radius: M_{0} = {x_0 = 0.5} meets [0, R]^3 from R = 0.5 on
    assert as_written_radius(circulant(eye, 3, bias=-0.5)) == pytest.approx(0.5, rel=2e-3)
    assert as_written_radius(circulant(eye, 3, bias=0.3)) == math.inf


@pytest.mark.parametrize("kernel, d, b", [ISSUE_A, ([1.0, 0.0, 0.0], 3, -0.5), ISSUE_B])
def test_as_written_radius_on_both_sides(kernel, d, b):
    """Below the bisection radius every M_I misses the box [0, R]^d (scipy feasibility LPs), so the
    definition holds vacuously; just above it some M_I ∩ [0, R]^d has a point where W1 fails
    (checked by the scipy oracle in the span's α-coordinates)."""
    layer = circulant(kernel, d, bias=b)
    R = as_written_radius(layer)
    assert 0 < R < math.inf
    C = oracle_dense(kernel, d)
    subsets = [list(I) for p in range(1, d + 1) for I in combinations(range(d), p)]

    def box_points(I, r):
        res = linprog(np.zeros(d), A_eq=C[I], b_eq=-b * np.ones(len(I)), bounds=[(0, r)] * d)
        return res.x if res.status == 0 else None
    assert all(box_points(I, 0.99 * R) is None for I in subsets)
    assert nested_as_written(layer, 0.99 * R).holds("exact")
    assert not nested_as_written(layer, 1.01 * R).holds("exact")
    hits = [(I, box_points(I, 1.01 * R)) for I in subsets]
    assert any(x is not None and not _as_written_at(C, b, I, x, -1.0)[0] for I, x in hits)


def test_readings_part_on_random_kernels():
    """Each pair of readings disagrees somewhere (d <= 5, fixed seed); the verdicts are checked
    against the independent computations above on every disagreement."""
    rng = np.random.default_rng(11)
    seen = set()
    for _ in range(40):
        d = int(rng.integers(2, 6))
        kernel = np.concatenate([[1.0], rng.uniform(-0.6, 0.4, size=d - 1)])
        b = float(rng.uniform(-1.0, 0.3))
        C = oracle_dense(kernel, d)
        if abs(np.linalg.det(C)) < 1e-3 or abs(kernel.sum()) < 1e-3:
            continue
        rep = nesting_report(circulant(kernel, d, bias=b), as_written_radii=False)
        assert math.isnan(rep["as_written"].radius) and "radius not computed" in str(rep)
        v = rep.verdicts
        # independent: operational = sign test; containment = inverse-positivity and apex >= 0
        P = np.maximum(kernel[1:], 0).sum()
        assert v["operational"] == (b <= 0 and P == 0)
        apex = -b / kernel.sum()
        assert v["containment"] == bool(apex >= -1e-12 and np.linalg.inv(C).min() >= -1e-12)
        assert v["angle"] == (plane_angle(C) <= plane_angle(np.eye(d)) + 1e-12)
        # operational with a > 0 implies containment (a Z-matrix with C·1 > 0 is an M-matrix)
        assert not (v["operational"] and kernel.sum() > 0) or v["containment"]
        # containment implies the angle relation
        assert not v["containment"] or v["angle"]
        # as written needs the apex outside the orthant (M_{1..d} empty) or at the origin
        assert not v["as_written"] or apex < 0 or b == 0
        seen.add(tuple(v[k] for k in ("operational", "containment", "angle")))
    assert (True, False, True) in seen and (False, True, True) in seen and (False, False, True) in seen


# -- rotation ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel, d", [([1.0, 0.5], 4), ([1.0, -0.3, 0.2, 0.7], 7), (list(np.arange(1.0, 9.0)), 8)])
def test_orientation_against_dense_eigendecomposition(kernel, d):
    C = oracle_dense(kernel, d)
    o = cone_orientation(circulant(kernel, d))
    j = np.arange(d)
    lam = np.array([(np.exp(-2j * np.pi * j * m / d) @ C @ np.exp(2j * np.pi * j * m / d)) / d
                    for m in range(d)])
    for m in range(d):  # each Fourier mode is an eigenvector of the dense matrix
        v = np.exp(2j * np.pi * j * m / d)
        np.testing.assert_allclose(C @ v, lam[m] * v, atol=1e-12)
    ev = list(np.linalg.eigvals(C))  # the same multiset as numpy's general eigen-solver's
    for value in lam:
        i = int(np.argmin(np.abs(np.array(ev) - value)))
        assert abs(ev.pop(i) - value) < 1e-9
    omega = lam[1:d // 2 + 1] / np.linalg.norm(lam[1:])
    np.testing.assert_allclose(o.magnitudes, np.abs(omega), atol=1e-12)
    np.testing.assert_allclose(np.exp(1j * o.phases)[np.abs(omega) > 1e-9],
                               (omega / np.abs(omega))[np.abs(omega) > 1e-9], atol=1e-12)
    # u is the normal's component orthogonal to 1, normalised: same length, same DFT magnitudes
    w = C[0] - C[0].mean()
    u = w / np.linalg.norm(w)
    assert np.linalg.norm(o.vector) == pytest.approx(1.0)
    np.testing.assert_allclose(np.abs(np.fft.fft(u))[1:d // 2 + 1] / np.linalg.norm(np.fft.fft(u)[1:]),
                               o.magnitudes, atol=1e-12)
    assert o.angle == pytest.approx(plane_angle(C), abs=1e-12) and o.degrees_of_freedom == d - 2


def _orientation_fd_rank(kernel, d, h=1e-6):
    """Rank of the finite-difference Jacobian of taps ↦ (c_0/‖c_0‖, u), from oracle_dense rows."""
    def f(k):
        c = oracle_dense(k, d)[0]
        w = c - c.mean()
        return c / np.linalg.norm(c), w / np.linalg.norm(w)
    k0 = np.asarray(kernel, dtype=float)
    cols_dir, cols_u = [], []
    for t in range(k0.size):
        e = np.zeros_like(k0)
        e[t] = h
        (a1, u1), (a0, u0) = f(k0 + e), f(k0 - e)
        cols_dir.append((a1 - a0) / (2 * h))
        cols_u.append((u1 - u0) / (2 * h))

    def rank(cols):
        s = np.linalg.svd(np.array(cols).T, compute_uv=False)
        return int(np.sum(s > 1e-6 * s.max()))
    return rank(cols_dir), rank(cols_u)


@pytest.mark.parametrize("k", range(2, 9))
def test_short_kernels_restrict_the_rotation(k):
    d = 8
    kernel = np.random.default_rng(k).normal(size=k) + np.eye(1, k).ravel() * 2
    f = orientation_freedom(kernel, d)
    rdir, rori = _orientation_fd_rank(kernel, d)
    assert (f.direction_rank, f.orientation_rank) == (rdir, rori)
    assert f.direction_rank == k - 1 and f.at_fixed_angle == k - 2 and f.max_at_fixed_angle == d - 2
    assert f.orientation_rank == (k - 1 if k < d else d - 2)
    assert f.at_fixed_angle == circulant(kernel, d).rotational_degrees_of_freedom


def test_two_tap_kernels_reach_a_curve_of_orientations():
    """Sampling: all two-tap kernels (up to scale) give orientations on a 1-D curve of S^{d-2}
    (a second sample sits on the same curve), while full kernels fill d − 2 dimensions."""
    d = 8
    rng = np.random.default_rng(3)
    U2 = np.array([cone_orientation(circulant([1.0, t], d)).vector for t in rng.uniform(-3, 3, 200)])
    U8 = np.array([cone_orientation(circulant(rng.normal(size=d), d)).vector for _ in range(200)])

    def local_dim(U):  # dimension of the tangent space spanned by nearest-neighbour differences
        i = np.argsort(np.linalg.norm(U - U[0], axis=1))[1:12]
        s = np.linalg.svd(U[i] - U[0], compute_uv=False)
        return int(np.sum(s > 0.05 * s.max()))
    assert local_dim(U2) == 1 and local_dim(U8) >= 4


def test_readings_bad_input():
    with pytest.raises(InvalidInputError, match="MAX_AS_WRITTEN_SIZE"):
        nested_as_written(circulant([1.0, -0.5], MAX_AS_WRITTEN_SIZE + 1, bias=-0.1))
    with pytest.raises(InvalidInputError, match="orientation"):
        nested_as_written(circulant([1.0, -0.5], 3, bias=-0.1), orientation="up")
    with pytest.raises(InvalidInputError, match="radius"):
        nested_as_written(circulant([1.0, -0.5], 3, bias=-0.1), -2.0)
    with pytest.raises(InvalidInputError, match="singular"):
        nested_as_written(circulant([1.0, -1.0], 4, bias=-0.1))
    with pytest.raises(InvalidInputError, match="clause"):
        as_written_radius(circulant([1.0, -0.5], 3, bias=-0.1), clause="some")
    with pytest.raises(InvalidInputError, match="no apex"):
        cone_containment(circulant([1.0, -1.0, 0.5, -0.5], 5, bias=-0.1))
    with pytest.raises(InvalidInputError, match="CirculantLayer"):
        nesting_report([1.0, 2.0])
    with pytest.raises(InvalidInputError, match="1-D"):
        cone_orientation(circulant([[1.0, 0.5]], (2, 3)))
    with pytest.raises(InvalidInputError, match="d must be"):
        orientation_freedom([1.0, 0.5, 0.2], 2)
