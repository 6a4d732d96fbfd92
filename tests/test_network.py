"""The Network model against a plain numpy forward pass; bad input gets clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import preimage
from oracles import numpy_forward
from preimage import InvalidInputError, Network


def random_specs(rng, widths, last_relu=False):
    specs = []
    for i in range(len(widths) - 1):
        specs.append((rng.normal(size=(widths[i + 1], widths[i])), rng.normal(size=widths[i + 1]),
                      last_relu or i < len(widths) - 2))
    return specs


def test_forward_and_activations_match_numpy():
    rng = np.random.default_rng(0)
    specs = random_specs(rng, [4, 7, 5, 3])
    net = Network.from_arrays(specs)
    X = rng.normal(size=(200, 4))
    assert np.allclose(net.forward(X), numpy_forward(specs, X))
    for k in range(4):
        assert np.allclose(net.activations(X, layer=k), numpy_forward(specs[:k], X))
    assert np.allclose(net.activations(X, layer=0), X)
    Z2 = numpy_forward(specs[:1], X) @ specs[1][0].T + specs[1][1]
    assert np.allclose(net.pre_activations(X, layer=2), Z2)
    # a single input gives a single output
    assert net.forward(X[0]).shape == (3,)
    # activation pattern: sign of z at the ReLU layers only
    pattern = net.activation_pattern(X)
    Z1 = X @ specs[0][0].T + specs[0][1]
    assert pattern.shape == (200, 12) and np.array_equal(pattern[:, :7], Z1 > 0)


def test_relu_defaults_and_fused():
    rng = np.random.default_rng(1)
    W1, b1 = rng.normal(size=(5, 3)), rng.normal(size=5)
    W2, b2 = rng.normal(size=(4, 5)), rng.normal(size=4)
    W3, b3 = rng.normal(size=(2, 4)), rng.normal(size=2)
    net = Network.from_arrays([(W1, b1), (W2, b2, False), (W3, b3)])
    assert [layer.relu for layer in net.layers] == [True, False, False]
    fused = net.fused()
    assert fused.depth == 2
    X = rng.normal(size=(50, 3))
    assert np.allclose(fused.forward(X), net.forward(X))


def test_sparse_layers_and_save_load(tmp_path):
    rng = np.random.default_rng(2)
    W = sp.random_array((6, 4), density=0.5, random_state=3, format="csr")
    net = Network([preimage.AffineLayer(W, rng.normal(size=6), True),
                   preimage.AffineLayer(rng.normal(size=(2, 6)), np.zeros(2), False)])
    X = rng.normal(size=(10, 4))
    ref = numpy_forward([(W.toarray(), net.layers[0].bias, True), (net.layers[1].weight, np.zeros(2), False)], X)
    assert np.allclose(net.forward(X), ref)
    net.save(tmp_path / "net.npz")
    back = preimage.load(tmp_path / "net.npz")
    assert np.allclose(back.forward(X), ref)


def test_weights_are_read_only_copies():
    W = np.eye(2)
    net = Network.from_arrays([(W, np.zeros(2), True)])
    W[0, 0] = 5.0
    assert net.layers[0].weight[0, 0] == 1.0
    with pytest.raises(ValueError):
        net.layers[0].weight[0, 0] = 3.0


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.data())
def test_integer_networks_hypothesis(n_in, n_hidden, n_out, data):
    def ints(k):
        return np.array(data.draw(st.lists(st.integers(-3, 3), min_size=k, max_size=k)), float)

    specs = [(ints(n_hidden * n_in).reshape(n_hidden, n_in), ints(n_hidden), True),
             (ints(n_out * n_hidden).reshape(n_out, n_hidden), ints(n_out), False)]
    X = ints(5 * n_in).reshape(5, n_in)
    net = Network.from_arrays(specs)
    assert np.array_equal(net.forward(X), numpy_forward(specs, X))  # exact in float64


# -- bad input ----------------------------------------------------------------------------------------
def test_layer_shapes_that_do_not_chain():
    with pytest.raises(InvalidInputError, match=r"layer 2 takes inputs of width 4, but layer 1 produces width 3"):
        Network.from_arrays([(np.ones((3, 2)), np.zeros(3)), (np.ones((1, 4)), np.zeros(1))])


def test_bias_of_wrong_length():
    with pytest.raises(InvalidInputError, match=r"bias of layer 'layer 1' must have length 3.*got length 2"):
        Network.from_arrays([(np.ones((3, 2)), np.zeros(2))])


def test_nan_or_inf_weights():
    with pytest.raises(InvalidInputError, match="finite"):
        Network.from_arrays([(np.array([[1.0, np.nan]]), np.zeros(1))])
    with pytest.raises(InvalidInputError, match="finite"):
        Network.from_arrays([(np.ones((1, 2)), np.array([np.inf]))])


def test_forward_on_wrong_width():
    net = Network.from_arrays([(np.ones((3, 2)), np.zeros(3))])
    with pytest.raises(InvalidInputError, match=r"width 2.*shape \(4, 5\)"):
        net.forward(np.zeros((4, 5)))
    with pytest.raises(InvalidInputError, match="finite"):
        net.forward([[np.nan, 0.0]])
    with pytest.raises(InvalidInputError, match="layer must be an integer between 0 and 1"):
        net.activations([[0.0, 0.0]], layer=2)


def test_from_arrays_rejects_malformed_specs():
    with pytest.raises(InvalidInputError, match="non-empty"):
        Network.from_arrays([])
    with pytest.raises(InvalidInputError, match=r"tuple \(W, b\)"):
        Network.from_arrays([np.eye(2)])
    with pytest.raises(InvalidInputError, match="relu must be True or False"):
        Network.from_arrays([(np.eye(2), np.zeros(2), "yes")])
