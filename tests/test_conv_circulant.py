"""Circulant layers and their cones, checked against independent computations: a dense
circulant built here by loops, ``preimage.network.conv_matrix``, and ``numpy.linalg``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from preimage import AmbiguousGeometryError, InvalidInputError
from preimage.conv import (
    CirculantLayer,
    circulant,
    cone_geometry,
    conv_vs_circulant,
)
from preimage.network import conv_matrix


# -- independent oracles ------------------------------------------------------------------------
def oracle_dense(kernel, shape, origin=0) -> np.ndarray:
    """(C x)_i = Σ_k kernel[k] x[(i + k − origin) mod d], written with plain loops."""
    K = np.asarray(kernel, dtype=np.float64)
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    origin = (origin,) * len(shape) if np.ndim(origin) == 0 else tuple(origin)
    d = int(np.prod(shape))
    C = np.zeros((d, d))
    for i in range(d):
        pos = np.unravel_index(i, shape)
        for t in np.ndindex(K.shape):
            col = tuple((p + tt - o) % n for p, tt, o, n in zip(pos, t, origin, shape))
            C[i, np.ravel_multi_index(col, shape)] += K[t]
    return C


def shift_matrix(shape, axis=0) -> np.ndarray:
    """P with (P x) = np.roll(x, 1, axis): x_i ↦ x_{i+1}."""
    d = int(np.prod(shape))
    return np.stack([np.roll(np.eye(d)[j].reshape(shape), 1, axis=axis).ravel() for j in range(d)], axis=1)


small_ints = st.integers(min_value=-3, max_value=3)


# -- the matrix and its products ----------------------------------------------------------------
@pytest.mark.parametrize("kernel, shape, origin", [
    ([2.0, -1.0, 0.5], 7, 0),
    ([0.3, -1.2, 0.7, 0.1], 9, 2),
    ([[1.0, -0.5], [0.25, 2.0], [0.0, 1.5]], (4, 5), (1, 0)),
    ([5.0], 3, 0),
    ([1.0, 2.0, 3.0], 3, 1),  # kernel as long as the signal
])
def test_dense_and_sparse_match_the_loop_oracle(kernel, shape, origin):
    L = circulant(kernel, shape, origin=origin)
    ref = oracle_dense(kernel, shape, origin)
    np.testing.assert_array_equal(L.dense(), ref)
    np.testing.assert_array_equal(L.sparse().toarray(), ref)


def test_valid_rows_are_the_real_convolution_rows_1d_and_2d():
    rng = np.random.default_rng(0)
    k = rng.normal(size=4)
    W, _ = conv_matrix(k.reshape(1, 1, 4), (1, 11))
    np.testing.assert_array_equal(circulant(k, 11).dense()[:8], W.toarray())
    K = rng.normal(size=(2, 3))
    W2, info = conv_matrix(K.reshape(1, 1, 2, 3), (1, 5, 6))
    C2 = circulant(K, (5, 6)).dense()
    rows = [np.ravel_multi_index(o, (5, 6)) for o in np.ndindex(info.out_shape[1:])]
    np.testing.assert_array_equal(C2[rows], W2.toarray())
    # 'same' padding: the interior rows equal the circulant with origin (k−1)//2
    k3 = rng.normal(size=3)
    Ws, _ = conv_matrix(k3.reshape(1, 1, 3), (1, 10), padding=1)
    np.testing.assert_array_equal(circulant(k3, 10, origin=1).dense()[1:-1], Ws.toarray()[1:-1])


@pytest.mark.parametrize("shape", [(13,), (4, 6)])
def test_matvec_rmatvec_and_call_against_dense(shape):
    rng = np.random.default_rng(1)
    K = rng.normal(size=(3,) if len(shape) == 1 else (2, 3))
    L = circulant(K, shape, bias=-0.3, origin=(1,) * len(shape))
    C = oracle_dense(K, shape, (1,) * len(shape))
    d = C.shape[0]
    X = rng.normal(size=(5, d))
    np.testing.assert_allclose(L.matvec(X), X @ C.T, atol=1e-12)
    np.testing.assert_allclose(L.rmatvec(X), X @ C, atol=1e-12)
    # shaped layout in, shaped layout out
    np.testing.assert_allclose(L.matvec(X[0].reshape(shape)), (C @ X[0]).reshape(shape), atol=1e-12)
    np.testing.assert_allclose(L(X[1]), np.maximum(C @ X[1] - 0.3, 0.0), atol=1e-12)


def test_eigenvalues_are_eigenvalues_of_the_fourier_modes():
    rng = np.random.default_rng(2)
    for K, shape in [(rng.normal(size=4), (9,)), (rng.normal(size=(2, 2)), (3, 4))]:
        L = circulant(K, shape, origin=(1,) * len(shape))
        C = oracle_dense(K, shape, (1,) * len(shape))
        lam = L.eigenvalues()
        for m in np.ndindex(shape):
            grids = np.indices(shape)
            v = np.exp(2j * np.pi * sum(g * mm / n for g, mm, n in zip(grids, m, shape))).ravel()
            np.testing.assert_allclose(C @ v, lam[m] * v, atol=1e-12)
        np.testing.assert_allclose(np.sort_complex(lam.ravel()), np.sort_complex(np.linalg.eigvals(C)), atol=1e-10)
        assert lam.flat[0].real == pytest.approx(K.sum())


# -- invertibility and the dual basis --------------------------------------------------------------
@given(st.lists(small_ints, min_size=1, max_size=4), st.integers(min_value=4, max_value=12))
def test_invertibility_agrees_with_the_dense_rank(kernel, d):
    assume(any(kernel))
    L = circulant(kernel, d)
    rank = np.linalg.matrix_rank(oracle_dense(kernel, d))
    assert L.invertible == (rank == d)
    assert L.check_invertible().nullity == d - rank


@pytest.mark.parametrize("kernel, shape, frequency", [
    ([1.0, 1.0], (6,), (3,)),          # 1 + exp(iπ) = 0
    ([1.0, -1.0], (5,), (0,)),         # zero sum
    ([1.0, 0.0, 1.0], (4,), (1,)),     # 1 + exp(iπ) at m = 1
    ([[1.0, 1.0]], (2, 4), (0, 2)),
])
def test_singular_circulant_reports_its_frequency(kernel, shape, frequency):
    L = circulant(kernel, shape)
    chk = L.check_invertible()
    assert not chk.invertible and chk.frequency == frequency
    lam = L.eigenvalues()
    assert abs(lam[frequency]) < 1e-12 * np.abs(lam).max()  # the reported frequency is a zero
    with pytest.raises(InvalidInputError, match=r"singular.*frequency") as exc:
        L.dual_vector()
    assert ("k=" in str(exc.value)) or ("(k1, k2)" in str(exc.value))


def test_nearly_singular_circulant_is_ambiguous():
    L = circulant([1.0, 1.0 + 1e-10], 2)  # eigenvalues 2 + δ and −δ: ratio 5e-11
    with pytest.raises(AmbiguousGeometryError, match="ambiguity band"):
        L.check_invertible()
    with pytest.raises(AmbiguousGeometryError):
        L.dual_vector()


@pytest.mark.parametrize("kernel, shape", [
    ([1.0, -0.4, 0.3], (10,)),
    ([0.2, 1.5, -0.7, 0.4, 0.1], (16,)),
    ([[1.0, 0.3], [-0.2, 0.5]], (4, 5)),
    ([[0.5, -1.0, 0.25]], (3, 6)),
])
def test_dual_basis_is_the_inverse(kernel, shape):
    L = circulant(kernel, shape, bias=0.7)
    C = oracle_dense(kernel, shape)
    d = C.shape[0]
    E = np.stack([L.dual_basis_vector(i).ravel() for i in range(d)], axis=1)
    np.testing.assert_allclose(C @ E, np.eye(d), atol=1e-11)
    np.testing.assert_allclose(E, np.linalg.inv(C), atol=1e-10)
    np.testing.assert_allclose(L.dual_basis_matrix(), E, atol=0)
    # multi-index form of e_i, and e_i points to the positive side of Π_i
    i = (1,) * len(shape)
    flat = int(np.ravel_multi_index(i, shape))
    np.testing.assert_array_equal(L.dual_basis_vector(i).ravel(), E[:, flat])
    assert C[flat] @ E[:, flat] == pytest.approx(1.0)


def test_dual_vector_for_a_large_signal():
    d = 1 << 16
    k = np.array([1.0, -0.3, 0.2, 0.05])
    L = circulant(k, d)
    rng = np.random.default_rng(3)
    for i in rng.integers(0, d, size=3):
        e = L.dual_basis_vector(int(i))
        # C e_i = δ_i, evaluated by direct correlation (no FFT)
        Ce = sum(k[t] * np.roll(e, -t) for t in range(k.size))
        target = np.zeros(d)
        target[i] = 1.0
        np.testing.assert_allclose(Ce, target, atol=1e-12)


# -- apex, angle, symmetry -------------------------------------------------------------------------
@pytest.mark.parametrize("kernel, shape, bias", [
    ([1.0, -0.5, 0.2], (12,), -0.1),
    ([-0.3, 0.8], (5,), 2.0),
    ([[0.5, 0.5], [1.0, -0.25]], (3, 4), 0.4),
])
def test_apex_lies_on_every_hyperplane_and_on_the_identity_line(kernel, shape, bias):
    L = circulant(kernel, shape, bias=bias)
    C = oracle_dense(kernel, shape)
    apex = L.apex.ravel()
    np.testing.assert_allclose(C @ apex + bias, 0.0, atol=1e-12)
    assert np.all(apex == apex[0])
    # the unique common point: the dense solve finds the same one
    np.testing.assert_allclose(np.linalg.solve(C, np.full(C.shape[0], -bias)), apex, atol=1e-12)
    assert "unique common point" in L.apex_reason


def test_apex_absent_when_the_kernel_sums_to_zero():
    L = circulant([1.0, -2.0, 1.0], 8, bias=0.5)
    assert L.apex is None and "no common point" in L.apex_reason
    # independent: C x = −b·1 has no solution (least-squares residual stays positive)
    C = oracle_dense([1.0, -2.0, 1.0], 8)
    x = np.linalg.lstsq(C, np.full(8, -0.5), rcond=None)[0]
    assert np.abs(C @ x + 0.5).max() > 0.1
    L0 = circulant([1.0, -1.0], 6, bias=0.0)
    assert L0.apex is None and "identity line" in L0.apex_reason
    np.testing.assert_allclose(oracle_dense([1.0, -1.0], 6) @ np.ones(6), 0.0)
    # a ≠ 0 but C singular elsewhere: the apex exists, not unique
    L2 = circulant([1.0, 0.0, 1.0], 4, bias=-1.0)
    assert L2.apex is not None and "singular" in L2.apex_reason


@pytest.mark.parametrize("kernel, shape", [([1.0, -0.5, 0.2], (9,)), ([[2.0, -1.0], [0.5, 0.0]], (3, 3)),
                                           ([1.0, -1.0], (4,)), ([3.0], (5,))])
def test_angle_matches_every_hyperplane(kernel, shape):
    L = circulant(kernel, shape)
    C = oracle_dense(kernel, shape)
    u = np.ones(C.shape[0]) / math.sqrt(C.shape[0])
    # angle between a line with direction u and a hyperplane with normal n: π/2 − ∠(n, u)
    per_row = [math.pi / 2 - math.acos(min(abs(row @ u) / np.linalg.norm(row), 1.0)) for row in C]
    np.testing.assert_allclose(per_row, L.angle, atol=1e-12)


def test_cyclic_symmetry_on_the_dense_matrix():
    for kernel, shape in [([1.0, -0.5, 0.2, 0.9], (10,)), ([[1.0, 2.0], [-0.5, 0.3]], (3, 5))]:
        L = circulant(kernel, shape, bias=0.3)
        C = oracle_dense(kernel, shape)
        for ax in range(len(shape)):
            P = shift_matrix(shape, ax)
            np.testing.assert_array_equal(P @ C, C @ P)
        chk = L.verify_cyclic_symmetry()
        assert chk.holds and chk.method == "dense" and chk.max_deviation < 1e-13
        assert chk.checks >= 2 * L.size


def test_cyclic_symmetry_structure_check_for_large_d():
    chk = circulant([1.0, -0.5, 0.2], 1 << 18, bias=-0.1).verify_cyclic_symmetry()
    assert chk.holds and chk.method == "structure" and chk.max_deviation < 1e-12


def test_cyclic_symmetry_check_detects_a_broken_matrix(monkeypatch):
    L = circulant([1.0, -0.5, 0.2], 6, bias=-0.1)
    broken = np.array(L.dense())
    broken[3, 0] += 0.5  # no longer circulant
    monkeypatch.setattr(CirculantLayer, "dense", lambda self: broken)
    chk = L.verify_cyclic_symmetry()
    assert not chk.holds and chk.max_deviation > 0.1


def test_hyperplanes_are_the_normalised_rows():
    L = circulant([3.0, 4.0], 3, bias=5.0)
    H = L.hyperplanes()
    np.testing.assert_allclose(H.normals, oracle_dense([3.0, 4.0], 3) / 5.0)
    np.testing.assert_allclose(H.offsets, 1.0)


def test_degrees_of_freedom_and_cone_summary():
    L = circulant([1.0, -0.5, 0.2, 0.0, 0.1], 32, bias=-0.2)
    assert L.rotational_degrees_of_freedom == 3 and L.max_rotational_degrees_of_freedom == 30
    assert circulant([2.0], 5).rotational_degrees_of_freedom == 0
    g = cone_geometry(L)
    assert g.kernel_sum == pytest.approx(0.8) and g.apex_value == pytest.approx(0.25)
    assert g.invertible and g.symmetry.holds
    d = g.to_dict()
    assert d["nesting_radius"] == pytest.approx(0.2 / 0.3) and len(d["apex"]) == 32


# -- the real convolution against the circulant ---------------------------------------------------
def test_conv_vs_circulant_vanishes_as_d_grows():
    k = [-0.3, 1.0, 0.2]
    for mode in ("valid", "same"):
        res = [conv_vs_circulant(k, d, mode, bias=-0.5) for d in (16, 64, 256, 1024)]
        for key in ("boundary_fraction", "relative_frobenius", "apex_relative_distance", "max_angle_difference"):
            vals = [getattr(r, key) for r in res]
            assert all(b <= a for a, b in zip(vals, vals[1:])), (mode, key, vals)
            # every measure decays at least like 1/√d (d grew 64-fold: a factor 8)
            assert vals[-1] <= vals[0] / 7.9 + 1e-15 and vals[-1] < 0.06, (mode, key, vals)
        assert res[-1].boundary_rows == 2  # k − 1 rows: missing (valid) or truncated (same)
    valid = conv_vs_circulant(k, 64, "valid")
    assert valid.relative_frobenius == 0.0 and valid.max_angle_difference < 1e-15
    same = conv_vs_circulant(k, 64, "zero")
    assert same.mode == "same" and same.relative_frobenius > 0


def test_conv_vs_circulant_apex_against_a_dense_least_squares():
    k = np.array([0.5, 1.0, -0.2])
    for mode, pad in (("valid", 0), ("same", 1)):
        W, _ = conv_matrix(k.reshape(1, 1, 3), (1, 20), padding=pad)
        W = W.toarray()
        x = np.linalg.lstsq(W, np.full(W.shape[0], 0.5), rcond=None)[0]  # bias −0.5
        r = conv_vs_circulant(k, 20, mode, bias=-0.5)
        assert r.apex_distance == pytest.approx(np.linalg.norm(x - 0.5 / 1.3), rel=1e-9)
        assert r.residual < 1e-12


def test_conv_vs_circulant_reports_an_ill_conditioned_convolution():
    # [1, 2] with zero padding: the triangular Toeplitz inverse grows like 2^d — no decay
    r = conv_vs_circulant([1.0, 2.0], 64, "same")
    assert r.apex_relative_distance > 1.0
    assert conv_vs_circulant([[1.0, 0.5], [0.5, -0.25]], (8, 8), "valid").relative_frobenius == 0.0


def test_conv_vs_circulant_edge_cases():
    # the last 'same' row of [0, 0, 1] lies entirely in the padding: a zero row, no hyperplane
    r = conv_vs_circulant([0.0, 0.0, 1.0], 10, "same", bias=-1.0)
    assert r.boundary_rows == 1 and r.residual == 0.0 and r.max_angle_difference == 0.0  # row 0 loses only a zero tap
    assert conv_vs_circulant([1.0, 0.5], 10, "valid", bias=0.0).apex_relative_distance == 0.0
    assert np.isnan(conv_vs_circulant([1.0, -1.0], 10, "valid").apex_distance)
    with pytest.raises(InvalidInputError, match="mode must be"):
        conv_vs_circulant([1.0, 0.5], 10, "full")


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(kernel=[1.0, 2.0, 3.0], shape=2), r"kernel is longer than the signal.*3 > signal length 2"),
    (dict(kernel=[], shape=4), r"kernel must have at least one entry"),
    (dict(kernel=[1.0, np.nan], shape=4), r"kernel must be finite.*NaN"),
    (dict(kernel=[1.0, np.inf], shape=4), r"kernel must be finite"),
    (dict(kernel=[0.0, 0.0], shape=4), r"non-zero entry"),
    (dict(kernel=[1.0, 2.0], shape=4, bias=[0.0, 0.1, 0.0, 0.0]), r"bias must be uniform.*0 to 0.1"),
    (dict(kernel=[1.0, 2.0], shape=4, bias=[0.0, 0.1]), r"bias must be one number"),
    (dict(kernel=[1.0, 2.0], shape=4, bias=np.nan), r"bias must be finite"),
    (dict(kernel=[[1.0, 2.0], [3.0, 4.0]], shape=4), r"kernel must have 1 axis"),
    (dict(kernel=[1.0, 2.0], shape=(0,)), r"shape must be"),
    (dict(kernel=[1.0, 2.0], shape=4, origin=2), r"origin must be a kernel index"),
])
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        circulant(**kwargs)


def test_uniform_bias_array_and_conv_weight_slices_are_accepted():
    L = circulant(np.array([[[1.0, -1.0, 0.5]]]), 6, bias=np.full(6, -0.25))
    assert L.kernel.shape == (3,) and L.bias == -0.25


def test_dense_refuses_large_signals_and_bad_vectors():
    L = circulant([1.0, 0.5], 5000)
    with pytest.raises(InvalidInputError, match="MAX_DENSE_SIZE"):
        L.dense()
    with pytest.raises(InvalidInputError, match=r"x must be a signal of shape \(5000,\)"):
        L.matvec(np.ones(7))
    with pytest.raises(InvalidInputError, match="i must be a position"):
        L.dual_basis_vector(5000)
