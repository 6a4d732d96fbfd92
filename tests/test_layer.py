"""One-layer geometry (dual basis, layer preimage) against a plain numpy forward pass."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import preimage
from oracles import relu
from preimage import AmbiguousGeometryError, Box, InvalidInputError, dual_basis, layer_preimage


def check_preimage(W, b, y, x_true, domain, rng, *, n_samples=200, n_probe=2000):
    """The three oracle checks of a layer preimage P(y).

    1. points sampled from P map to y (numpy forward pass);
    2. the input constructed to map to y lies in P;
    3. random points that map elsewhere (by a clear margin) lie outside P.
    """
    P = layer_preimage(W, b, y, domain=domain)
    assert P.contains(x_true), "an input that maps to y must lie in its preimage"
    bound = Box(x_true - 3.0, x_true + 3.0)
    if domain == "orthant":
        bound = Box(np.maximum(x_true - 3.0, 0.0), x_true + 3.0)
    X = P.polyhedron.intersect(bound).sample(n_samples, seed=int(rng.integers(1 << 30)))
    assert np.abs(relu(X @ W.T + b) - y).max() <= 1e-8 * max(1.0, np.abs(y).max())
    if domain == "orthant":
        assert X.min() >= -1e-9
    # probes: around x_true and along the preimage's own directions
    Q = x_true + rng.normal(size=(n_probe, W.shape[1])) * rng.choice([1e-3, 0.1, 1.0], size=(n_probe, 1))
    Yq = relu(Q @ W.T + b)
    far = np.abs(Yq - y).max(axis=1) > 1e-4
    if domain == "orthant":
        far |= Q.min(axis=1) < -1e-4
    inside = P.contains(Q, tol=1e-9)
    assert not np.any(inside & far), "a point mapping elsewhere was reported inside"
    near = (np.abs(Yq - y).max(axis=1) == 0.0) & ((Q.min(axis=1) >= 0) if domain == "orthant" else True)
    assert np.all(inside[near]), "a point mapping exactly to y was reported outside"
    return P


def random_layer(rng, m, n, rank=None):
    if rank is None:
        W = rng.normal(size=(m, n))
    else:
        W = rng.normal(size=(m, rank)) @ rng.normal(size=(rank, n))
    return W, rng.normal(size=m) * 0.5


@pytest.mark.parametrize("shape", [(4, 4), (6, 6), (3, 7), (2, 5), (7, 3), (9, 4)])
@pytest.mark.parametrize("domain", [None, "orthant"])
@pytest.mark.parametrize("seed", range(3))
def test_random_layers_square_wide_tall(shape, domain, seed):
    rng = np.random.default_rng(seed * 100 + shape[0] * 10 + shape[1])
    W, b = random_layer(rng, *shape)
    x = np.abs(rng.normal(size=shape[1])) if domain == "orthant" else rng.normal(size=shape[1])
    y = relu(W @ x + b)
    P = check_preimage(W, b, y, x, domain, rng)
    m, n = shape
    if m <= n:
        assert P.form == "generators"
        # generator form: x* - E_Z alpha + N beta maps to y for any alpha >= 0, beta
        alpha = np.abs(rng.normal(size=int(P.zero.sum())))
        beta = rng.normal(size=n - m)
        assert np.allclose(relu(W @ P.point(alpha, beta) + b), y)
        # the H-representation and the generator form describe the same set (domain None)
        if domain is None:
            assert P.contains(P.point(alpha, beta))
            assert P.polyhedron.dim == n - int(P.positive.sum())
    else:
        assert P.form == "h-representation" and "more rows" in P.note


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shape,rank", [((5, 5), 3), ((4, 6), 2), ((6, 4), 2)])
def test_rank_deficient_layers(seed, shape, rank):
    rng = np.random.default_rng(seed)
    W, b = random_layer(rng, *shape, rank=rank)
    x = rng.normal(size=shape[1])
    y = relu(W @ x + b)
    P = check_preimage(W, b, y, x, None, rng)
    assert P.form == "h-representation"
    with pytest.raises(InvalidInputError, match="rank|more rows"):
        dual_basis(W, b)


def test_unreachable_activity_gives_empty_preimage():
    # rank-deficient: both rows equal, so y must have equal entries when both positive
    W = np.array([[1.0, 2.0], [1.0, 2.0]])
    b = np.zeros(2)
    assert layer_preimage(W, b, [1.0, 2.0], domain=None).is_empty()
    assert not layer_preimage(W, b, [1.0, 1.0], domain=None).is_empty()
    # tall: three outputs of a 2-D input are constrained
    T = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert layer_preimage(T, np.zeros(3), [1.0, 1.0, 3.0], domain=None).is_empty()
    assert not layer_preimage(T, np.zeros(3), [1.0, 1.0, 2.0], domain=None).is_empty()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("m,n", [(5, 5), (3, 6)])
def test_dual_basis_identity_and_apex(seed, m, n):
    rng = np.random.default_rng(seed)
    W, b = random_layer(rng, m, n)
    D = dual_basis(W, b)
    assert np.allclose(W @ D.vectors, np.eye(m), atol=1e-10)
    # the apex is the common point of all hyperplanes
    assert np.allclose(W @ D.apex + b, 0.0, atol=1e-10)
    # e_i runs along the intersection of all hyperplanes but Π_i
    for i in range(m):
        others = np.delete(W, i, axis=0)
        assert np.allclose(others @ D.vectors[:, i], 0.0, atol=1e-10)
    assert D.null_space.shape == (n, n - m)
    assert np.allclose(W @ D.null_space, 0.0, atol=1e-10)
    # with an activity: on Π*_j for positive outputs and on Π_i for zero outputs
    y = relu(rng.normal(size=m))
    Dy = dual_basis(W, b, y)
    assert np.allclose(W @ Dy.apex + b, y, atol=1e-10)


def test_nearly_singular_layer_raises_ambiguity():
    W = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1e-10]])
    with pytest.raises(AmbiguousGeometryError, match="too close to call"):
        dual_basis(W, np.zeros(3))
    with pytest.raises(AmbiguousGeometryError):
        layer_preimage(W, np.zeros(3), [1.0, 0.0, 0.0], domain=None)
    # clearly singular (exactly dependent rows): no dual basis, but the exact set
    S = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    P = layer_preimage(S, np.zeros(3), [1.0, 0.0, 1.0], domain=None)
    assert P.form == "h-representation" and not P.is_empty()
    # and a well-conditioned one is fine
    assert dual_basis(S + np.diag([0, 0, 1e-3]), np.zeros(3)).vectors.shape == (3, 3)


def test_paper_fig1_two_node_quadrants():
    """Paper 002 Fig. 1: one 2-node layer; the four output quadrants."""
    W = np.array([[1.0, -0.5], [0.3, 1.0]])
    b = np.array([0.2, -0.4])
    rng = np.random.default_rng(0)
    # all-positive quadrant: a single point
    P = layer_preimage(W, b, [1.0, 2.0], domain=None)
    assert P.dim == 0
    assert np.allclose(relu(W @ P.polyhedron.relative_interior_point() + b), [1.0, 2.0])
    # one zero output: a ray (dimension 1) in direction -e_2
    P = layer_preimage(W, b, [1.0, 0.0], domain=None)
    assert P.dim == 1 and P.directions.shape == (2, 1)
    assert np.allclose(W @ -P.directions[:, 0], [0.0, 1.0])
    # both zero: the grey region, a 2-D cone mapped to the origin
    P = layer_preimage(W, b, [0.0, 0.0], domain=None)
    assert P.dim == 2
    X = rng.uniform(-5, 5, size=(5000, 2))
    assert np.array_equal(P.contains(X, tol=0.0), np.all(X @ W.T + b <= 0, axis=1))


@given(
    st.integers(1, 4), st.integers(1, 4), st.data(),
)
def test_integer_layers_hypothesis(m, n, data):
    """Tiny integer layers (float64 is exact): sampled points map to y, x lies inside."""
    W = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=m * n, max_size=m * n)), float).reshape(m, n)
    b = np.array(data.draw(st.lists(st.integers(-2, 2), min_size=m, max_size=m)), float)
    x = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), float)
    assume(np.linalg.norm(W, axis=1).min() > 0)
    y = relu(W @ x + b)
    rng = np.random.default_rng(0)
    check_preimage(W, b, y, x, None, rng, n_samples=50, n_probe=300)


def test_activity_and_shape_errors():
    W, b = np.eye(3), np.zeros(3)
    with pytest.raises(InvalidInputError, match=r"non-negative.*y\[1\] = -0.5"):
        layer_preimage(W, b, [1.0, -0.5, 0.0])
    with pytest.raises(InvalidInputError, match="length 3"):
        layer_preimage(W, b, [1.0, 0.0])
    with pytest.raises(InvalidInputError, match="b must have length 3"):
        dual_basis(W, [0.0, 0.0])
    with pytest.raises(InvalidInputError, match="finite"):
        dual_basis(np.array([[1.0, np.nan], [0.0, 1.0]]), np.zeros(2))
    with pytest.raises(InvalidInputError, match="domain"):
        layer_preimage(W, b, [1.0, 0.0, 0.0], domain="box")
    with pytest.raises(InvalidInputError, match="dimension 2"):
        layer_preimage(W, b, [1.0, 0.0, 0.0], domain=Box([0.0, 0.0], [1.0, 1.0]))


def test_layer_preimage_with_box_domain():
    rng = np.random.default_rng(9)
    W, b = random_layer(rng, 3, 3)
    x = rng.uniform(0.2, 0.8, size=3)
    y = relu(W @ x + b)
    box = Box(np.zeros(3), np.ones(3))
    P = layer_preimage(W, b, y, domain=box)
    assert P.contains(x)
    X = P.sample(100, seed=0)
    assert box.contains(X).all() and np.allclose(relu(X @ W.T + b), y)


def test_acasxu_hidden_layer_preimage_contains_true_activity(acasxu):
    net = preimage.load(acasxu / "onnx" / "ACASXU_run2a_2_3_batch_2000.onnx")
    rng = np.random.default_rng(0)
    for k in (2, 4, 6):
        x = rng.uniform(-0.5, 0.5, size=5)
        h = net.activations(x, layer=k - 1)
        y = net.activations(x, layer=k)
        lay = net.layers[k - 1]
        check_preimage(lay.dense_weight, lay.bias, y, h, "orthant", rng, n_samples=100, n_probe=500)
