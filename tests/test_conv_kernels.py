"""Accumulated kernels and null vectors (paper 002, §3) against matrix composition and SVD."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
from hypothesis import assume, given
from hypothesis import strategies as st

from preimage import AmbiguousGeometryError, InvalidInputError
from preimage.conv import (
    circulant,
    constant_null_vector,
    effective_bias,
    effective_kernel,
    step_edge_null_vector,
)
from preimage.network import conv_matrix

small_ints = st.integers(min_value=-3, max_value=3)


def valid_matrix(kernel, spatial) -> np.ndarray:
    K = np.asarray(kernel, dtype=np.float64)
    W, _ = conv_matrix(K.reshape((1, 1) + K.shape), (1,) + tuple(spatial))
    return W.toarray()


# -- effective kernels ---------------------------------------------------------------------------
@given(st.lists(st.lists(small_ints, min_size=1, max_size=4), min_size=1, max_size=3),
       st.integers(min_value=10, max_value=14))
def test_effective_kernel_is_the_composed_valid_convolution_1d(kernels, d):
    """Composing the layers' valid convolution matrices (linear, no ReLU) equals the valid
    convolution with the accumulated kernel; integer kernels make this exact."""
    M = np.eye(d)
    n = d
    for k in kernels:
        W = valid_matrix(k, (n,))
        M = W @ M
        n = W.shape[0]
    eff = effective_kernel(kernels)
    assert eff.shape == (sum(len(k) for k in kernels) - len(kernels) + 1,)
    np.testing.assert_array_equal(valid_matrix(eff, (d,)), M)


def test_effective_kernel_2d_and_the_circulant_composition():
    rng = np.random.default_rng(0)
    A, B = rng.integers(-2, 3, size=(2, 3)).astype(float), rng.integers(-2, 3, size=(3, 2)).astype(float)
    eff = effective_kernel([A, B])
    M = valid_matrix(B, (6, 5)) @ valid_matrix(A, (7, 7))
    np.testing.assert_array_equal(valid_matrix(eff, (7, 7)), M)
    # periodic: the product of circulants is the circulant of the accumulated kernel (origins add)
    a, b = np.array([1.0, -2.0, 0.5]), np.array([0.25, 1.0])
    Ca, Cb = circulant(a, 9, origin=1).dense(), circulant(b, 9, origin=1).dense()
    np.testing.assert_allclose(Cb @ Ca, circulant(effective_kernel([a, b]), 9, origin=2).dense(), atol=1e-15)


def test_effective_bias_of_a_linear_stack():
    rng = np.random.default_rng(1)
    ks = [rng.normal(size=3), rng.normal(size=2), rng.normal(size=4)]
    bs = [0.3, -0.7, 1.1]
    x = rng.normal(size=20)
    y, n = x, 20
    for k, b in zip(ks, bs):
        W = valid_matrix(k, (n,))
        y, n = W @ y + b, W.shape[0]
    np.testing.assert_allclose(valid_matrix(effective_kernel(ks), (20,)) @ x + effective_bias(ks, bs), y, atol=1e-12)


# -- the constant null vector -----------------------------------------------------------------------
@pytest.mark.parametrize("kernel, shape", [
    ([1.0, -1.0], (7,)),
    ([1.0, -2.0, 1.0], (9,)),
    ([0.3, 0.2, -0.5], (6,)),
    ([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], (5, 6)),  # Sobel
])
def test_constant_null_vector_lies_in_the_svd_null_space(kernel, shape):
    v = constant_null_vector(kernel, shape)
    W = valid_matrix(kernel, shape)
    N = sl.null_space(W)
    assert N.shape[1] >= 1
    np.testing.assert_allclose(N @ (N.T @ v.ravel()), v.ravel(), atol=1e-12)  # inside the null space
    assert np.linalg.norm(v) == pytest.approx(1.0) and np.all(v == v.flat[0])


def test_a_null_vector_persists_through_higher_layers():
    """Paper 002: a null vector of a lower-level kernel is one of every accumulated kernel above it."""
    edge = [1.0, 0.0, -1.0]
    for later in ([0.5, 1.0, 0.25], [2.0, -1.0]):
        eff = effective_kernel([edge, later])
        v = constant_null_vector(eff, 12)
        assert np.abs(valid_matrix(eff, (12,)) @ v).max() < 1e-15


def test_constant_null_vector_bad_input():
    with pytest.raises(InvalidInputError, match=r"must sum to zero.*sums to 0.5"):
        constant_null_vector([1.0, -0.5], 5)
    with pytest.raises(AmbiguousGeometryError, match="too close to zero"):
        constant_null_vector([1.0, -1.0 + 1e-10], 5)
    with pytest.raises(InvalidInputError, match="at least the kernel"):
        constant_null_vector([1.0, 0.0, -1.0], 2)
    with pytest.raises(InvalidInputError, match="at least one entry"):
        constant_null_vector([], 3)
    with pytest.raises(InvalidInputError, match="kernel must be finite"):
        constant_null_vector([1.0, np.nan], 3)


# -- the step edge ----------------------------------------------------------------------------------
def remaining_rows(kernel, d, i) -> np.ndarray:
    """Rows of the valid convolution whose support does not cross the step i | i + 1."""
    W = valid_matrix(kernel, (d,))
    keep = [r for r in range(W.shape[0])
            if not (np.flatnonzero(W[r]).min() <= i < np.flatnonzero(W[r]).max())]
    return W[keep]


@pytest.mark.parametrize("d, i", [(2, 0), (6, 0), (6, 2), (6, 4), (11, 5)])
def test_two_tap_step_edge_spans_the_null_space_with_the_constant(d, i):
    s = step_edge_null_vector([1.0, -1.0], d, i)
    Wr = np.delete(valid_matrix([1.0, -1.0], (d,)), i, axis=0)  # delete exactly row i
    N = sl.null_space(Wr)
    assert N.shape[1] == 2 == s.null_dimension and s.unique_beyond_constant
    assert s.deleted_rows == (i,)
    basis = np.stack([np.ones(d) / np.sqrt(d), s.vector], axis=1)
    assert np.allclose(sl.subspace_angles(N, basis), 0.0, atol=1e-10)  # null space = span{1, step}
    v = s.vector
    assert np.all(v[: i + 1] == s.left_value) and np.all(v[i + 1:] == s.right_value)
    assert s.left_value > 0 > s.right_value and abs(v.sum()) < 1e-12 and np.linalg.norm(v) == pytest.approx(1.0)


zero_sum_kernels = st.lists(small_ints, min_size=1, max_size=4).map(lambda head: head + [-sum(head)])


@given(zero_sum_kernels, st.integers(min_value=5, max_value=12), st.data())
def test_step_edge_against_the_svd_null_space(kernel, d, data):
    assume(any(kernel))
    i = data.draw(st.integers(min_value=0, max_value=d - 2))
    s = step_edge_null_vector(kernel, d, i)
    k = len(kernel)
    W = valid_matrix(kernel, (d,))
    # the deleted rows are exactly the rows whose window straddles the step
    assert s.deleted_rows == tuple(r for r in range(d - k + 1) if r <= i < r + k - 1)
    Wr = np.delete(W, list(s.deleted_rows), axis=0)
    N = sl.null_space(Wr)
    assert N.shape[1] == s.null_dimension == d - Wr.shape[0]
    assert sl.null_space(W).shape[1] == s.full_null_dimension == k - 1
    np.testing.assert_allclose(N @ (N.T @ s.vector), s.vector, atol=1e-10)  # the step edge is a null vector
    assert s.unique_beyond_constant == (k == 2) == (N.shape[1] == 2)
    # rows whose non-zero support does not cross the step also annihilate it (zero end taps)
    np.testing.assert_allclose(remaining_rows(kernel, d, i) @ s.vector, 0.0, atol=1e-12)


def test_step_edge_with_a_longer_kernel_is_not_unique():
    s = step_edge_null_vector([1.0, -2.0, 1.0], 10, 4)
    assert s.deleted_rows == (3, 4) and s.null_dimension == 4 and not s.unique_beyond_constant
    # the extra null vectors are the ramps of the second difference on each side
    Wr = np.delete(valid_matrix([1.0, -2.0, 1.0], (10,)), [3, 4], axis=0)
    ramp_left = np.concatenate([np.arange(5.0), np.zeros(5)])
    assert np.abs(Wr @ ramp_left).max() == 0.0


def test_step_edge_bad_input():
    with pytest.raises(InvalidInputError, match="must sum to zero"):
        step_edge_null_vector([1.0, 1.0], 5, 1)
    with pytest.raises(InvalidInputError, match=r"i must lie in 0 … d − 2"):
        step_edge_null_vector([1.0, -1.0], 5, 4)
    with pytest.raises(InvalidInputError, match="at least the kernel length"):
        step_edge_null_vector([1.0, 0.0, -1.0], 2, 0)
    with pytest.raises(InvalidInputError, match="1-D kernel"):
        step_edge_null_vector([[1.0, -1.0]], 5, 1)
    with pytest.raises(InvalidInputError, match="non-empty"):
        effective_kernel([])
    with pytest.raises(InvalidInputError, match=r"kernels\[1\] must be a 1-D kernel"):
        effective_kernel([[1.0, 2.0], [[1.0]]])
