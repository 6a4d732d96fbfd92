"""Real CNNs end to end: activity preimages by layer, against independent oracles.

Oracles: truncated PyTorch models (the digits CNN's ``.pt`` weights in the architecture of
``examples/train_digits.py``, and a small random CNN), a plain numpy forward pass on the
layers' dense weights, and the engine's completeness claims checked against runs with a
larger budget.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

import preimage
from oracles import numpy_forward
from preimage import Box
from preimage.conv import activity_preimages_by_layer, contraction_profile

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "examples" / "models"
ACT_TOL = 1e-7  # float64 activities recomputed by another forward pass


@pytest.fixture(scope="module")
def td():
    spec = importlib.util.spec_from_file_location("train_digits", ROOT / "examples" / "train_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def X_test(td):
    return td.load_split()[1]


def torch_prefix(model, k):
    """The truncated torch model computing layer k of the preimage network (conv/linear + ReLU pairs)."""
    mods, count, out = list(model), 0, []
    for i, m in enumerate(mods):
        out.append(m)
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            count += 1
            if count == k:
                if i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU):
                    out.append(mods[i + 1])
                break
    return nn.Sequential(*out)


def torch_activity(model, k, X, shape):
    with torch.no_grad():
        t = torch.as_tensor(np.asarray(X, dtype=np.float64).reshape((-1, *shape)))
        return torch_prefix(model, k)(t).reshape(len(X), -1).numpy()


def specs_of(net):
    return [(lay.dense_weight, lay.bias, lay.relu) for lay in net.layers]


@pytest.fixture(scope="module")
def digits_run(X_test):
    net = preimage.load(MODELS / "digits_cnn.onnx")
    x = X_test[0]
    box = Box(np.zeros(64), np.ones(64))
    return net, x, box, activity_preimages_by_layer(net, x, box, time_limit_per_layer=1.0, max_pieces=10)


def test_digits_cnn_preimages_by_layer(td, digits_run):
    net, x, box, run = digits_run
    assert [L.layer for L in run] == [1, 2, 3]
    model = td.BUILDERS["cnn"]()
    model.load_state_dict(torch.load(MODELS / "digits_cnn.pt", weights_only=True))
    model = model.eval().double()
    specs = specs_of(net)
    for L in run:
        k = L.layer
        # the activity is the example's, under both oracles (torch from the .pt weights: float32 training)
        np.testing.assert_allclose(L.activity, numpy_forward(specs[:k], x[None])[0], atol=ACT_TOL)
        np.testing.assert_allclose(L.activity, torch_activity(model, k, x[None], (1, 8, 8))[0], atol=1e-4)
        # the piece containing x, from x's own pattern, contains x; its dimension is the profile's
        assert L.local_piece.contains(x)
        assert L.local_piece.dim == L.local_dim
        # honest completeness
        assert L.complete == (L.stopped_by is None)
        if not L.complete:
            assert L.stopped_by in ("time_limit", "max_pieces")
        if L.x_piece is not None:
            assert L.result.set[L.x_piece].polyhedron.contains(x)
            assert L.x_piece_dim == L.local_dim
        # every found piece, sampled, reproduces the activity (numpy on the dense weights, and torch)
        for j, pc in enumerate(L.result.set.pieces[:3]):
            S = pc.polyhedron.sample(4, seed=j, burn_in=30, thin=2)
            assert box.contains(S, tol=1e-9).all()
            np.testing.assert_allclose(numpy_forward(specs[:k], S), np.tile(L.activity, (4, 1)), atol=ACT_TOL)
            np.testing.assert_allclose(torch_activity(model, k, S, (1, 8, 8)), np.tile(L.activity, (4, 1)),
                                       atol=ACT_TOL)
    # layer 1: a single LP-decided piece, complete; here 226 of 256 units are active: a point
    first = run[0]
    assert first.complete and first.pieces == 1 and first.x_piece == 0
    assert first.local_dim == 64 - np.linalg.matrix_rank(net.layers[0].dense_weight[first.activity > 0])
    d = run.to_dict()
    assert [r["complete"] for r in d["layers"]] == [L.complete for L in run]


def test_digits_cnn_and_mlp_contraction_profiles(X_test):
    box = Box(np.zeros(64), np.ones(64))
    X = X_test[:100]
    for name in ("cnn", "mlp"):
        net = preimage.load(MODELS / f"digits_{name}.onnx")
        p = contraction_profile(net, X, domain=box)
        specs = specs_of(net)
        H = X
        for k, spec in enumerate(specs, start=1):
            H = numpy_forward([spec], H)
            np.testing.assert_array_equal(p.nonzero[:, k], np.count_nonzero(H, axis=1))
        assert np.all(p.local_dim >= 0) and np.all(np.diff(p.local_dim, axis=1) >= 0)
        nz = p.nonzero
        assert p.fraction_non_increasing == pytest.approx(np.mean(nz[:, 2] <= nz[:, 1]))
        # the logits pin down at most 10 directions: at least 54 remain
        assert np.all(p.local_dim[:, 3] >= 54)
    cnn = contraction_profile(preimage.load(MODELS / "digits_cnn.onnx"), X[:5], domain=box)
    # the first conv layer has more active units than inputs: its preimages are points
    assert np.all(cnn.nonzero[:, 1] >= 64) and np.all(cnn.local_dim[:, 1] == 0)


# -- a small random CNN, where the search completes ---------------------------------------------------
@pytest.fixture(scope="module")
def small_cnn():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 3, 2), nn.ReLU(), nn.Conv2d(3, 3, 2), nn.ReLU(), nn.Flatten(), nn.Linear(3, 2))
    model = model.eval().double()
    net = preimage.from_torch(model, (1, 3, 3))
    return model, net


def test_small_cnn_preimages_are_complete_and_exact(small_cnn):
    model, net = small_cnn
    box = Box(np.zeros(9), np.ones(9))
    rng = np.random.default_rng(0)
    x = rng.uniform(0.05, 0.95, size=9)
    run = activity_preimages_by_layer(net, x, box)
    assert run.complete
    for L in run:
        assert L.x_piece is not None and L.x_piece_dim == L.local_dim
        for j in sorted({*range(0, L.pieces, max(1, L.pieces // 12)), L.x_piece}):
            S = L.result.set[j].polyhedron.sample(5, seed=j, burn_in=30, thin=2)
            np.testing.assert_allclose(torch_activity(model, L.layer, S, (1, 3, 3)), np.tile(L.activity, (5, 1)),
                                       atol=ACT_TOL)
    # coverage: the piece through x, built from x's own pattern (not by the engine), lies in the
    # engine's preimage
    for L in run:
        S = L.local_piece.sample(20, seed=L.layer, burn_in=30, thin=2)
        assert L.result.set.contains(S, tol=1e-7).all()
    assert [L.pieces for L in run][1:] != [1, 1]  # deeper layers: several patterns reach the activity


def test_complete_flags_are_honest_under_a_piece_budget(small_cnn):
    model, net = small_cnn
    box = Box(np.zeros(9), np.ones(9))
    rng = np.random.default_rng(1)
    for x in rng.uniform(0.0, 1.0, size=(8, 9)):
        full = activity_preimages_by_layer(net, x, box, layers=[2, 3])
        for L in full:
            assert L.complete
            if L.pieces >= 2:
                cut = activity_preimages_by_layer(net, x, box, layers=[L.layer], max_pieces=1)[0]
                assert not cut.complete and cut.stopped_by == "max_pieces" and cut.pieces == 1
                return
    pytest.fail("no example with a preimage of two or more pieces")


def test_inputs_are_checked(small_cnn):
    _, net = small_cnn
    with pytest.raises(preimage.InvalidInputError):
        activity_preimages_by_layer(net, np.zeros(9), None)
    with pytest.raises(preimage.InvalidInputError):
        activity_preimages_by_layer(net, np.zeros((2, 9)), Box(np.zeros(9), np.ones(9)))
    with pytest.raises(preimage.InvalidInputError):
        activity_preimages_by_layer(net, np.full(9, 2.0), Box(np.zeros(9), np.ones(9)))
