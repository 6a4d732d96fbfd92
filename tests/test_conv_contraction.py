"""Contraction profiles against independent computations.

Oracles: a plain numpy forward pass (non-zero counts), finite-difference Jacobians and
PyTorch autograd Jacobians (``n − rank`` for samples inside their region), the engine's
exact activity preimages (the dimension of the pieces through the sample), and the
dimension of the explicitly built local piece (:class:`preimage.Polyhedron`'s affine hull,
a different algorithm from the profile's tangent-cone LP).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import preimage
from oracles import numpy_forward
from preimage import Activity, Box, InvalidInputError, Network
from preimage.conv import contraction_profile, local_preimage_piece


def random_specs(rng, widths, last_relu=False):
    specs = []
    for i in range(len(widths) - 1):
        relu = last_relu or i < len(widths) - 2
        specs.append((rng.normal(size=(widths[i + 1], widths[i])), 0.3 * rng.normal(size=widths[i + 1]), relu))
    return specs


def layer_values(specs, X):
    out, H = [np.asarray(X, dtype=float)], np.asarray(X, dtype=float)
    for W, b, r in specs:
        H = numpy_forward([(W, b, r)], H)
        out.append(H)
    return out


def fd_rank(specs, x, k, h=1e-6):
    """n − rank of the central finite-difference Jacobian of h_k at x (numpy only)."""
    n = x.shape[0]

    def f(z):
        return numpy_forward(specs[:k], z[None, :])[0]

    J = np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(n)], axis=1)
    s = np.linalg.svd(J, compute_uv=False)
    return n - int(np.sum(s > 1e-6 * max(1.0, s.max(initial=0.0))))


def test_nonzero_counts_and_fractions_match_a_numpy_forward_pass():
    rng = np.random.default_rng(0)
    specs = random_specs(rng, [5, 8, 6, 6, 3])
    net = Network.from_arrays(specs)
    X = rng.normal(size=(300, 5))
    X[:50, :2] = 0.0
    p = contraction_profile(net, X)
    H = layer_values(specs, X)
    for k, Hk in enumerate(H):
        np.testing.assert_array_equal(p.nonzero[:, k], np.count_nonzero(Hk, axis=1))
        assert p.nonzero_histogram(k).sum() == 300
        assert p.local_dim_histogram(k).sum() == 300
    nz = np.stack([np.count_nonzero(Hk, axis=1) for Hk in H], axis=1)
    brute = np.mean((nz[:, 2] <= nz[:, 1]) & (nz[:, 3] <= nz[:, 2]))
    assert p.relu_layers == (1, 2, 3)
    assert p.fraction_non_increasing == pytest.approx(brute)
    assert p.step_fractions()["0->1"] == pytest.approx(np.mean(nz[:, 1] <= nz[:, 0]))
    json.dumps(p.to_dict())


def test_local_dims_inside_regions_are_n_minus_the_finite_difference_jacobian_rank():
    rng = np.random.default_rng(1)
    specs = random_specs(rng, [6, 5, 4, 3])
    net = Network.from_arrays(specs)
    X = rng.normal(size=(40, 6))
    p = contraction_profile(net, X)
    assert not p.lp_route.any() and not p.on_region_boundary.any()
    for i, x in enumerate(X):
        for k in range(1, 4):
            assert p.local_dim[i, k] == fd_rank(specs, x, k), (i, k)
    assert np.all(np.diff(p.local_dim, axis=1) >= 0)  # P_k(x) ⊆ P_{k+1}(x)


def test_local_dims_on_the_domain_boundary_match_the_engine_and_the_explicit_piece():
    rng = np.random.default_rng(2)
    specs = random_specs(rng, [4, 5, 4, 2])
    net = Network.from_arrays(specs)
    box = Box(-np.ones(4), np.ones(4))
    X = rng.uniform(-1, 1, size=(12, 4))
    X[:6, 0] = -1.0  # on a face of the box: the LP route
    X[3:9, 2] = 1.0
    p = contraction_profile(net, X, domain=box)
    assert p.lp_route[:9, 1:].all() and not p.lp_route[9:].any()
    for i, x in enumerate(X):
        for k in range(1, 4):
            # the engine's exact preimage of the activity: the pieces through x
            res = preimage.preimage(net, Activity(net.activations(x, k)), layer=k, domain=box)
            dims = [pc.polyhedron.dim for pc in res.set if pc.polyhedron.contains(x)]
            assert dims and max(dims) == p.local_dim[i, k], (i, k, dims)
            P = local_preimage_piece(net, x, k, domain=box)
            assert P.contains(x) and P.dim == p.local_dim[i, k]


def test_samples_on_region_boundaries_are_flagged_and_still_exact_for_their_own_piece():
    W1 = np.array([[1.0, 0.0], [0.0, 1.0]])
    specs = [(W1, np.zeros(2), True), (np.array([[1.0, 1.0]]), np.array([-1.0]), True)]
    net = Network.from_arrays(specs)
    X = np.array([[0.0, 2.0], [1.0, 2.0]])  # the first sample has z_1,0 = 0: on a region boundary
    p = contraction_profile(net, X)
    assert p.on_region_boundary[0, 2] and not p.on_region_boundary[1, 2]
    assert p.lp_route[0, 1] and p.lp_route[0, 2]
    for i, x in enumerate(X):
        for k in (1, 2):
            assert local_preimage_piece(net, x, k).dim == p.local_dim[i, k]
    # at layer 2 the own piece of sample 0 is the ray {x_0 <= 0, x_1 = 2}; the neighbouring
    # pattern (x_0 active) adds the segment {x_0 + x_1 = 2, x_0, x_1 >= 0}: dimension 1 either way
    assert p.local_dim[0, 2] == 1


def test_input_checks():
    net = Network.from_arrays([(np.eye(2), np.zeros(2), True)])
    with pytest.raises(InvalidInputError, match="domain"):
        contraction_profile(net, [[2.0, 0.0]], domain=Box([0.0, 0.0], [1.0, 1.0]))
    with pytest.raises(InvalidInputError, match="inputs of width"):
        contraction_profile(net, [[1.0, 2.0, 3.0]])
    with pytest.raises(InvalidInputError, match="Network"):
        contraction_profile(object(), [[1.0, 2.0]])
    p = contraction_profile(net, [[1.0, 2.0]])
    assert math.isnan(p.fraction_non_increasing)  # a single ReLU layer: nothing to compare
    assert p.to_dict()["fraction_non_increasing"] is None


# -- the digits models ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits(request):
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("train_digits", root / "examples" / "train_digits.py")
    td = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(td)
    X_test = td.load_split()[1][:100]
    models = {name: preimage.load(root / "examples" / "models" / f"digits_{name}.onnx") for name in ("cnn", "mlp")}
    torch_models = {}
    for name in ("cnn", "mlp"):
        m = td.BUILDERS[name]()
        m.load_state_dict(torch.load(root / "examples" / "models" / f"digits_{name}.pt", weights_only=True))
        torch_models[name] = m.eval().double()
    return X_test, models, torch_models


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_digits_profile_against_numpy_and_torch_autograd(digits, name):
    X, models, torch_models = digits
    net = models[name]
    box = Box(np.zeros(64), np.ones(64))
    p = contraction_profile(net, X, domain=box)
    assert p.n_samples == 100 and p.input_dim == 64
    assert np.all(p.local_dim >= 0)
    # non-zero counts: a numpy forward pass on the layers' dense weights
    specs = [(lay.dense_weight, lay.bias, lay.relu) for lay in net.layers]
    for k, Hk in enumerate(layer_values(specs, X)):
        np.testing.assert_array_equal(p.nonzero[:, k], np.count_nonzero(Hk, axis=1))
    assert np.all(np.diff(p.local_dim, axis=1) >= 0)
    # every image has pixels at 0: on a face of the pixel box, so the LP route decides
    assert p.lp_route[:, 1:].all()
    # in all of R^64 the local preimage at the logits is ker J: n − rank of torch's Jacobian
    q = contraction_profile(net, X[:10])
    model = torch_models[name]
    shape = (1, 8, 8) if name == "cnn" else (64,)
    for i in range(10):
        x = torch.tensor(X[i].reshape(shape), dtype=torch.float64)
        J = torch.autograd.functional.jacobian(lambda t: model(t[None])[0], x).reshape(10, 64).numpy()
        s = np.linalg.svd(J, compute_uv=False)
        assert q.local_dim[i, 3] == 64 - int(np.sum(s > 1e-9 * s.max()))
    assert np.all(p.local_dim[:10, 3] <= q.local_dim[:, 3])  # the box only cuts the piece
    assert not math.isnan(p.fraction_non_increasing)
