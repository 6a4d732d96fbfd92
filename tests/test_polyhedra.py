"""Geometry core against independent oracles: scipy's LP and convex hull, brute force."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.spatial import ConvexHull

import preimage
from preimage import AmbiguousGeometryError, Box, InvalidInputError, PolyhedralSet, Polyhedron
from preimage.polyhedra import solver


def random_polytope(rng, n=3, k=12):
    """A polytope given as the hull of random points: its H-representation comes from qhull."""
    pts = rng.normal(size=(k, n))
    hull = ConvexHull(pts)
    eq = hull.equations  # rows [a, c] with a·x + c <= 0 inside
    return Polyhedron(eq[:, :-1], -eq[:, -1]), pts[hull.vertices]


# -- membership --------------------------------------------------------------------------------
def test_contains_matches_brute_force_loop():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(30, 4))
    b = rng.uniform(0.5, 2.0, size=30)
    P = Polyhedron(A, b)
    X = rng.normal(size=(2000, 4)) * 2
    expected = np.array([all(A[i] @ x <= b[i] for i in range(30)) for x in X])
    # a strict tolerance: points within 1e-12 of a face are vanishingly rare here
    assert np.array_equal(P.contains(X, tol=0.0), expected)
    assert expected.any() and not expected.all()


def test_contains_tolerance_is_a_distance():
    P = Polyhedron([[2.0, 0.0]], [2.0])  # x <= 1, stored as a unit row
    assert P.contains([1.0 + 5e-8, 0.0], tol=1e-7)
    assert not P.contains([1.0 + 5e-7, 0.0], tol=1e-7)


def test_contains_with_equalities():
    P = Polyhedron(np.zeros((0, 2)), [], C=[[1.0, -1.0]], d=[0.0])
    assert P.contains([[1.0, 1.0], [1.0, 1.1]]).tolist() == [True, False]


# -- LP questions against scipy ----------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_min_max_match_scipy_linprog(seed):
    rng = np.random.default_rng(seed)
    P, _ = random_polytope(rng, n=4, k=15)
    c = rng.normal(size=4)
    ours_min, ours_max = P.minimize(c), P.maximize(c)
    ref_min = linprog(c, A_ub=P.A, b_ub=P.b, bounds=[(None, None)] * 4, method="highs-ds")
    ref_max = linprog(-c, A_ub=P.A, b_ub=P.b, bounds=[(None, None)] * 4, method="highs-ipm")
    assert ours_min.value == pytest.approx(ref_min.fun, abs=1e-8)
    assert ours_max.value == pytest.approx(-ref_max.fun, abs=1e-8)


def test_emptiness_and_unboundedness():
    empty = Polyhedron([[1.0, 0.0], [-1.0, 0.0]], [0.0, -1.0])  # x <= 0 and x >= 1
    assert empty.is_empty() and empty.dim == -1 and empty.is_bounded()
    half = Polyhedron([[1.0, 0.0]], [1.0])
    assert not half.is_empty() and not half.is_bounded()
    assert half.minimize([1.0, 0.0]).status == "unbounded"
    assert empty.minimize([1.0, 0.0]).status == "infeasible"
    inconsistent = Polyhedron(np.zeros((0, 2)), [], C=[[1.0, 0.0], [2.0, 0.0]], d=[1.0, 3.0])
    assert inconsistent.is_empty()
    zero_row_never = Polyhedron([[0.0, 0.0]], [-1.0])
    assert zero_row_never.is_empty() and not zero_row_never.contains([0.0, 0.0])


def test_chebyshev_center_of_a_box_and_a_triangle():
    x, r = Box([0.0, 0.0], [4.0, 2.0]).as_polyhedron().chebyshev_center()
    assert r == pytest.approx(1.0) and x[1] == pytest.approx(1.0)
    # right triangle with legs 3, 4: inradius (a + b - c) / 2 = 1, centre (1, 1)
    T = Polyhedron([[-1.0, 0.0], [0.0, -1.0], [4.0, 3.0]], [0.0, 0.0, 12.0])
    x, r = T.chebyshev_center()
    assert r == pytest.approx(1.0) and np.allclose(x, [1.0, 1.0])


# -- dimension, implicit equalities ---------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_dim_finds_implicit_equalities(seed):
    rng = np.random.default_rng(seed)
    n, k = 5, int(rng.integers(1, 4))
    # a box squeezed onto an affine subspace of codimension k by pairs of opposite rows
    G = rng.normal(size=(k, n))
    g = rng.normal(size=k) * 0.1
    A = np.vstack([np.eye(n), -np.eye(n), G, -G])
    b = np.concatenate([np.ones(n), np.ones(n), g, -g])
    P = Polyhedron(A, b)
    assert P.dim == n - k
    hull = P.affine_hull()
    assert hull.implicit.sum() == 2 * k
    # the interior point satisfies the hidden equalities and strictly the other rows
    assert np.allclose(G @ hull.point, g)
    assert np.all(P.slack(hull.point)[0][~hull.implicit] > 1e-6)


def test_dim_of_point_and_full_box():
    assert Box([0.0, 1.0], [0.0, 1.0]).as_polyhedron().dim == 0
    assert Box([0.0, 1.0], [1.0, 1.0]).as_polyhedron().dim == 1
    assert Box.cube(3).as_polyhedron().dim == 3


def test_nearly_dependent_equalities_raise_ambiguity():
    C = np.array([[1.0, 0.0, 0.0], [1.0, 1e-10, 0.0]])
    P = Polyhedron(Box.cube(3).as_polyhedron().A, np.ones(6), C=C, d=[0.0, 0.0])
    with pytest.raises(AmbiguousGeometryError):
        _ = P.dim


# -- redundancy removal ----------------------------------------------------------------------------
def test_remove_redundant_keeps_the_set():
    rng = np.random.default_rng(3)
    P, _ = random_polytope(rng, n=3, k=10)
    # add redundant rows: loosened copies and duplicates
    extra_A = np.vstack([P.A[:4], P.A[:3]])
    extra_b = np.concatenate([P.b[:4] + 0.5, P.b[:3]])
    Q = P.add_constraints(extra_A, extra_b)
    R = Q.remove_redundant()
    assert R.n_inequalities == P.n_inequalities  # qhull facets are irredundant
    X = rng.normal(size=(5000, 3))
    assert np.array_equal(R.contains(X, tol=0.0), P.contains(X, tol=0.0))


# -- vertices against qhull ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_vertices_match_convex_hull(seed):
    rng = np.random.default_rng(seed)
    P, true_vertices = random_polytope(rng, n=3, k=14)
    V = P.vertices()
    assert V.shape == true_vertices.shape
    for v in true_vertices:
        assert np.min(np.linalg.norm(V - v, axis=1)) < 1e-8
    assert P.rays().shape[0] == 0


def test_rays_of_an_unbounded_cone():
    cone = Polyhedron([[-1.0, 0.0], [0.0, -1.0]], [0.0, 0.0])
    assert np.allclose(cone.vertices(), [[0.0, 0.0]])
    R = cone.rays()
    assert sorted(map(tuple, np.round(R / np.linalg.norm(R, axis=1, keepdims=True), 9))) == [(0.0, 1.0), (1.0, 0.0)]


# -- sampling ----------------------------------------------------------------------------------------------
def test_sample_is_inside_seeded_and_spread():
    rng = np.random.default_rng(1)
    P, _ = random_polytope(rng, n=3, k=12)
    X = P.sample(400, seed=7)
    assert X.shape == (400, 3)
    assert P.contains(X, tol=1e-9).all()
    assert np.array_equal(X, P.sample(400, seed=7))
    assert not np.array_equal(X, P.sample(400, seed=8))
    # the mean of uniform samples approaches the centroid (independent: Monte Carlo rejection)
    lo, hi = P.bounding_box().lo, P.bounding_box().hi
    U = rng.uniform(lo, hi, size=(200_000, 3))
    centroid = U[P.contains(U, tol=0.0)].mean(axis=0)
    assert np.linalg.norm(X.mean(axis=0) - centroid) < 0.15 * np.linalg.norm(hi - lo)


def test_sample_lower_dimensional_piece():
    # a triangle inside the plane x + y + z = 1 in R^3
    P = Polyhedron(-np.eye(3), np.zeros(3), C=[[1.0, 1.0, 1.0]], d=[1.0])
    assert P.dim == 2
    X = P.sample(300, seed=0)
    assert np.allclose(X.sum(axis=1), 1.0) and (X >= -1e-12).all()
    # same with the equality hidden as two inequalities
    Q = Polyhedron(np.vstack([-np.eye(3), [[1.0, 1.0, 1.0]], [[-1.0, -1.0, -1.0]]]), [0, 0, 0, 1.0, -1.0])
    Y = Q.sample(300, seed=0)
    assert Q.dim == 2 and np.allclose(Y.sum(axis=1), 1.0)


def test_sample_refuses_unbounded_and_empty():
    with pytest.raises(InvalidInputError, match="unbounded"):
        Polyhedron([[1.0, 0.0]], [1.0]).sample(3)
    with pytest.raises(InvalidInputError, match="empty"):
        Polyhedron([[1.0], [-1.0]], [0.0, -1.0]).sample(3)


# -- boxes ----------------------------------------------------------------------------------------------------
def test_box_as_polyhedron_agrees_with_box():
    B = Box([0.0, -1.0, 2.0], [1.0, 1.0, 2.0])
    P = B.as_polyhedron()
    X = np.random.default_rng(0).uniform(-1.5, 2.5, size=(3000, 3))
    X[::3, 2] = 2.0
    assert np.array_equal(B.contains(X, tol=0.0), P.contains(X, tol=0.0))
    assert P.dim == B.dim == 2
    S = B.sample(100, seed=0)
    assert B.contains(S).all() and np.all(S[:, 2] == 2.0)
    assert len(B.vertices()) == 4


def test_box_rejects_bad_bounds():
    with pytest.raises(InvalidInputError, match=r"lo\[1\] = 2.0 > hi\[1\] = 1.0"):
        Box([0.0, 2.0], [1.0, 1.0])
    with pytest.raises(InvalidInputError, match="finite"):
        Box([0.0, np.nan], [1.0, 1.0])
    with pytest.raises(InvalidInputError, match="length 2"):
        Box([0.0, 0.0], [1.0])


# -- unions -----------------------------------------------------------------------------------------------------
def test_polyhedral_set_contains_sample_and_locate():
    S = PolyhedralSet([Box([0.0, 0.0], [1.0, 1.0]), Box([2.0, 0.0], [3.0, 1.0])])
    X, idx = S.sample(50, seed=0, return_index=True)
    assert len(S) == 2 and S.contains(X).all()
    assert np.array_equal(S.locate(X), idx)
    assert np.array_equal(np.bincount(idx), [25, 25])
    assert not S.contains([1.5, 0.5]) and not S.is_empty() and S.dim == 2


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_save_load_roundtrip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    P1, _ = random_polytope(rng, n=3, k=9)
    P2 = Polyhedron(-np.eye(3), np.zeros(3), C=[[1.0, 1.0, 1.0]], d=[1.0])
    S = PolyhedralSet([
        preimage.Piece(P1, pattern=[True, False, True], affine_map=(np.eye(3), np.ones(3))),
        preimage.Piece(P2),
    ])
    path = tmp_path / f"set{suffix}"
    S.save(path)
    T = preimage.load_geometry(path)
    X = rng.normal(size=(500, 3))
    X[:50] = P2.sample(50, seed=0)
    assert np.array_equal(S.locate(X, tol=1e-9), T.locate(X, tol=1e-9))
    assert T[0].pattern.tolist() == [True, False, True] and T[1].pattern is None
    assert np.allclose(T[0].affine_map(X[:3]), X[:3] + 1)
    if suffix == ".json":
        assert json.loads(path.read_text())["format"] == "preimage.PolyhedralSet"
    for obj, name in ((P1, "p"), (Box([0.0], [1.0]), "b")):
        q = tmp_path / f"{name}{suffix}"
        obj.save(q)
        back = preimage.load_geometry(q)
        assert type(back) is type(obj)


def test_load_geometry_rejects_other_files(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError, match="not a preimage geometry file"):
        preimage.load_geometry(bad)
    with pytest.raises(InvalidInputError, match=".npz or .json"):
        preimage.load_geometry(tmp_path / "x.txt")


# -- polyhedron construction errors ------------------------------------------------------------------------------
def test_polyhedron_rejects_mismatched_shapes():
    with pytest.raises(InvalidInputError, match="b must have length 2"):
        Polyhedron([[1.0, 0.0], [0.0, 1.0]], [1.0])
    with pytest.raises(InvalidInputError, match="C must have 2 columns"):
        Polyhedron([[1.0, 0.0]], [1.0], C=[[1.0, 0.0, 0.0]], d=[0.0])
    with pytest.raises(InvalidInputError, match="finite"):
        Polyhedron([[1.0, np.inf]], [1.0])
    with pytest.raises(InvalidInputError, match="2-D matrix"):
        Polyhedron([1.0, 2.0], [1.0])


def test_polyhedron_is_immutable():
    P = Polyhedron([[1.0]], [1.0])
    with pytest.raises(ValueError):
        P.A[0, 0] = 5.0
    with pytest.raises(AttributeError):
        P.A = np.zeros((1, 1))  # type: ignore[misc]


# -- the solver wrapper ----------------------------------------------------------------------------------------------
def test_warm_started_program_matches_fresh_solves():
    rng = np.random.default_rng(5)
    P, _ = random_polytope(rng, n=5, k=40)
    lp = solver.LinearProgram(P.A, P.b)
    for _ in range(20):
        c = rng.normal(size=5)
        ref = linprog(c, A_ub=P.A, b_ub=P.b, bounds=[(None, None)] * 5, method="highs")
        assert lp.minimize(c).value == pytest.approx(ref.fun, abs=1e-8)
    # tightening a row and releasing it again
    i = 0
    lp.set_upper([i], P.b[i] - 10.0)
    tightened = linprog(np.zeros(5), A_ub=P.A, b_ub=np.where(np.arange(len(P.b)) == i, P.b - 10, P.b),
                        bounds=[(None, None)] * 5, method="highs")
    assert lp.is_feasible() == (tightened.status == 0)
    lp.set_upper([i], P.b[i])
    assert lp.is_feasible()


def test_quadratic_projection_matches_clipping():
    rng = np.random.default_rng(2)
    B = Box([-1.0, 0.0, 2.0], [1.0, 1.0, 3.0])
    P = B.as_polyhedron()
    for _ in range(10):
        p = rng.normal(size=3) * 3
        assert np.allclose(P.project(p), np.clip(p, B.lo, B.hi), atol=1e-7)


@given(st.lists(st.integers(-3, 3), min_size=6, max_size=6), st.lists(st.integers(1, 4), min_size=3, max_size=3))
def test_integer_triangles_hypothesis(entries, rhs):
    A = np.array(entries, dtype=float).reshape(3, 2)
    b = np.array(rhs, dtype=float)
    P = Polyhedron(A, b)
    grid = np.stack(np.meshgrid(np.linspace(-5, 5, 41), np.linspace(-5, 5, 41)), -1).reshape(-1, 2)
    brute = np.all(grid @ A.T <= b + 1e-12, axis=1)
    assert np.array_equal(P.contains(grid, tol=1e-12), brute)
    # the origin is strictly inside (b > 0), so never empty
    assert not P.is_empty()
    assert P.dim == 2


def test_vertices_and_rays_of_a_preimage_ray():
    """cdd's float output can turn a ray into a far 'vertex'; generators must be exact."""
    W = np.array([[1.0, 0.2, 0.1], [0.1, 1.0, 0.3], [0.2, 0.1, 1.0]])
    b = np.array([-0.5, -0.4, -0.3])
    L = preimage.layer_preimage(W, b, [0.7, 0.5, 0.0], domain=None)
    V, R = L.polyhedron.vertices(), L.polyhedron.rays()
    assert V.shape == (1, 3) and np.allclose(V[0], L.apex)
    assert R.shape == (1, 3)
    r = R[0] / np.linalg.norm(R[0])
    d = L.directions[:, 0] / np.linalg.norm(L.directions[:, 0])
    assert np.allclose(r, d)  # the ray runs along -e_3


def test_projection_onto_a_real_local_preimage():
    """HiGHS's QP can stop just outside its tolerance on such pieces; the wrapper retries and
    verifies. Oracle: the projection of an inside point is itself, and of an outside point a
    feasible point no farther than any sampled point of the piece."""
    from preimage.analysis import load_data, local_preimage

    X, _ = load_data("digits")
    net = preimage.load(Path(__file__).resolve().parent.parent / "examples" / "models" / "digits_mlp.onnx")
    box = Box(np.zeros(64), np.ones(64))
    for i in range(3):
        P = local_preimage(net, X[i], 1, box).polyhedron
        assert P.distance(X[i]) <= 1e-6
        q = X[i + 10]
        p = P.project(q)
        assert P.contains(p, tol=1e-6)
        S = P.sample(200, seed=i)
        assert np.linalg.norm(p - q) <= np.linalg.norm(S - q, axis=1).min() + 1e-7
