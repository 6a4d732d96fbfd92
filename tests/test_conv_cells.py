"""Cell maps (paper 000 Fig. 3) against brute-force sampling and plain numpy forward passes.

Oracles: the activation patterns of dense uniform samples of the box; points sampled in
every cell and on every coordinate face, pushed through ``relu(W x + b)`` written here with
numpy; ranks of sampled images; and the closed-form nesting radius of the circulant.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from preimage import Box, InvalidInputError, Polyhedron
from preimage.conv import (
    cell_map,
    circulant,
    nesting_radius,
    paper_fig3_identity,
    paper_fig3_wide_cone,
)

ZERO = 1e-12  # a sampled coordinate this small is on its coordinate plane (test-side threshold)


def layer(W, b, X):
    return np.maximum(np.atleast_2d(X) @ np.asarray(W).T + b, 0.0)


def nnz(A):
    return np.sum(np.abs(A) > ZERO, axis=1)


def face_polyhedron(cell, face) -> Polyhedron:
    n = cell.polyhedron.ambient_dim
    S = list(face.zero_inputs)
    return cell.polyhedron.add_constraints(C=np.eye(n)[S], d=np.zeros(len(S))) if S else cell.polyhedron


def sample(P: Polyhedron, k: int, seed: int) -> np.ndarray:
    return P.sample(k, seed=seed, burn_in=50, thin=3)


def centered_rank(X: np.ndarray, rel: float = 1e-8) -> int:
    if X.shape[0] < 2:
        return 0
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    return int(np.sum(s > rel * max(1.0, float(np.abs(X).max())) * np.sqrt(X.shape[0])))


# -- the identity-plus-bias case ---------------------------------------------------------------------
def test_identity_cells_are_the_patterns_of_dense_samples():
    cm = paper_fig3_identity()
    X = np.random.default_rng(0).uniform(0.0, 1.0, size=(20000, 3))
    seen = {tuple(p) for p in (X - 0.5 > 0).astype(int)}
    assert {tuple(c.pattern.astype(int)) for c in cm} == seen
    assert len(cm) == 8
    # every sample lies in the cell of its pattern (exact H-representation)
    idx = cm.locate(X)
    assert np.all(idx >= 0)
    for i, c in enumerate(cm):
        assert np.all(c.polyhedron.contains(X[idx == i]))


def test_identity_cells_map_to_the_intersection_subspaces_of_fig3():
    cm = paper_fig3_identity()
    W, b = np.eye(3), np.full(3, -0.5)
    for i, c in enumerate(cm):
        X = sample(c.polyhedron, 60, seed=i)
        Y = layer(W, b, X)
        # the image lies in {y_i = 0, i inactive}; its dimension is the number of active rows
        assert np.all(Y[:, list(c.zero_outputs)] == 0.0)
        assert c.output_subspace_dim == 3 - c.n_negative
        assert c.dim_in == 3 == centered_rank(X)
        assert c.dim_out == centered_rank(Y) == c.output_subspace_dim
    # Fig. 3: one negative constraint -> a 2-D plane, two -> a 1-D line
    assert sorted({c.n_negative: c.output_subspace_dim for c in cm}.items()) == [(0, 3), (1, 2), (2, 1), (3, 0)]


def test_identity_every_point_of_every_cell_and_face_contracts():
    cm = paper_fig3_identity()
    W, b = np.eye(3), np.full(3, -0.5)
    assert cm.contracts and cm.zeros_preserved
    for i, c in enumerate(cm):
        assert c.contracts
        for j, f in enumerate(c.faces):
            X = sample(face_polyhedron(c, f), 40, seed=100 * i + j)
            Y = layer(W, b, X)
            assert np.all(nnz(Y) <= nnz(X))  # dimension is non-increasing, point by point
            # the face's claimed subspaces are those of its (generic) sampled points
            assert np.all(nnz(X) == f.in_subspace_dim)
            assert nnz(Y).max() == f.out_subspace_dim
            assert centered_rank(X) == f.dim
            # zeros preserved: x_j = 0 => y_j = 0
            assert np.all(Y[:, list(f.zero_inputs)] == 0.0)


def test_identity_faces_include_the_faces_on_the_coordinate_planes():
    cm = paper_fig3_identity()
    # the cell at the origin touches all three coordinate planes, their three axes and the origin
    origin = cm[cm.locate([[0.1, 0.1, 0.1]])[0]]
    assert sorted(f.zero_inputs for f in origin.faces) == sorted(
        [(), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)])
    assert {f.zero_inputs: f.dim for f in origin.faces}[(0, 1)] == 1
    # the all-active cell [0.5, 1]^3 touches none
    top = cm[cm.locate([[0.9, 0.9, 0.9]])[0]]
    assert [f.zero_inputs for f in top.faces] == [()]


# -- the wider cone --------------------------------------------------------------------------------
def test_wide_cone_fails_to_contract_and_the_failing_faces_are_witnessed():
    cm = paper_fig3_wide_cone()
    L = circulant([1.0, 0.25, 0.25], 3, bias=-0.5)
    W, b = np.array(L.dense()), np.full(3, -0.5)
    assert L.angle > circulant([1.0, 0.0, 0.0], 3).angle  # a wider cone than W = I
    assert not cm.contracts and cm.zeros_preserved is False
    assert cm.failing_cells
    for i in cm.failing_cells:
        for f in cm[i].failing_faces:
            x = f.point[None, :]
            assert nnz(x)[0] == f.in_subspace_dim
            assert nnz(layer(W, b, x))[0] == f.out_subspace_dim > f.in_subspace_dim
    # where the model says it contracts, sampling never finds an increase
    for i, c in enumerate(cm):
        for j, f in enumerate(c.faces):
            if f.contracts:
                X = sample(face_polyhedron(c, f), 30, seed=1000 + 10 * i + j)
                assert np.all(nnz(layer(W, b, X)) <= nnz(X))


def test_wide_cone_planes_cut_the_coordinate_axes_where_zeros_stop_being_preserved():
    L = circulant([1.0, 0.25, 0.25], 3, bias=-0.5)
    W = np.array(L.dense())
    # on the axis x = t e_1, row 0 is 0.25 t − 0.5: positive beyond t = 2
    t = np.array([1.9, 2.1])
    X = np.outer(t, [0.0, 1.0, 0.0])
    assert np.all(((X @ W.T - 0.5)[:, 0] > 0) == [False, True])
    assert paper_fig3_wide_cone(radius=1.9).zeros_preserved is False  # radius 1 < 1.9
    assert paper_fig3_wide_cone(radius=0.9).contracts


@pytest.mark.parametrize("kernel, bias", [
    ((1.0, 0.25, 0.25), -0.5),
    ((1.0, 0.4, -0.2), -0.3),
    ((0.8, -0.1, 0.3), -0.2),
    ((1.0, 0.2, 0.1, -0.3), -0.25),
])
def test_zero_preservation_holds_exactly_up_to_the_nesting_radius(kernel, bias):
    d = len(kernel)
    L = circulant(kernel, d, bias=bias)
    R = nesting_radius(L).radius
    assert 0 < R < np.inf
    W, b = np.array(L.dense()), np.full(d, bias)
    inside = cell_map(W, b, Box(np.zeros(d), np.full(d, 0.9 * R)))
    beyond = cell_map(W, b, Box(np.zeros(d), np.full(d, 1.1 * R)))
    assert inside.zeros_preserved and inside.contracts
    assert beyond.zeros_preserved is False
    # the witness: on a face with x_j = 0 some output j is positive
    for c in beyond:
        for f in c.faces:
            if not f.zeros_preserved:
                y = layer(W, b, f.point)[0]
                assert any(y[j] > 0 for j in f.zero_inputs)


# -- general properties ------------------------------------------------------------------------------
@given(
    W=st.lists(st.integers(-3, 3), min_size=9, max_size=9),
    b=st.lists(st.integers(-3, 1), min_size=3, max_size=3),
    R=st.integers(1, 3),
)
def test_cell_map_is_sound_on_small_integer_layers(W, b, R):
    W = np.array(W, dtype=float).reshape(3, 3)
    b = np.array(b, dtype=float)
    if np.any(np.all(W == 0, axis=1)):
        return
    cm = cell_map(W, b, Box(np.zeros(3), np.full(3, float(R))))
    X = np.random.default_rng(0).uniform(0.0, R, size=(3000, 3))
    Z = X @ W.T + b
    generic = np.all(np.abs(Z) > 1e-9, axis=1)
    pats = {tuple(p) for p in (Z[generic] > 0).astype(int)}
    assert pats <= {tuple(c.pattern.astype(int)) for c in cm}
    for c in cm:
        for f in c.faces:
            y = layer(W, b, f.point)[0]
            x = f.point
            # the relative-interior point realises the face's subspaces exactly
            assert nnz(x[None])[0] == f.in_subspace_dim
            assert nnz(y[None])[0] == f.out_subspace_dim
            assert f.contracts == (nnz(y[None])[0] <= nnz(x[None])[0])


def test_cell_map_of_a_wide_layer_and_input_checks():
    W = np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0]])
    cm = cell_map(W, [-0.2, -0.1], Box(np.zeros(3), np.ones(3)))
    assert cm.zeros_preserved is None and all(c.zeros_preserved is None for c in cm)
    for c in cm:
        assert c.dim_out == np.linalg.matrix_rank(W[c.pattern]) if c.pattern.any() else c.dim_out == 0
    json.dumps(cm.to_dict())
    with pytest.raises(InvalidInputError, match="orthant"):
        cell_map(np.eye(2), [0.0, 0.0], Box([-1.0, 0.0], [1.0, 1.0]))
    with pytest.raises(InvalidInputError, match="dimension"):
        cell_map(np.eye(11), np.zeros(11), Box(np.zeros(11), np.ones(11)))
    with pytest.raises(InvalidInputError, match="columns"):
        cell_map(np.eye(2), [0.0, 0.0], Box(np.zeros(3), np.ones(3)))
    with pytest.raises(InvalidInputError, match="Box"):
        cell_map(np.eye(2), [0.0, 0.0], Polyhedron(-np.eye(2), np.zeros(2)))


def test_cell_map_d8_is_fast_and_counts_every_region():
    L = circulant([1.0, -0.3, 0.2], 8, bias=-0.2)
    cm = cell_map(np.array(L.dense()), np.full(8, -0.2), Box(np.zeros(8), np.ones(8)))
    assert cm.seconds < 10.0
    X = np.random.default_rng(1).uniform(0.0, 1.0, size=(4000, 8))
    assert np.all(cm.locate(X) >= 0)
