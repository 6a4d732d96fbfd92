"""Class mixing (issue 6, item 2): counts against a brute-force comparison of activities
computed by an independent numpy forward pass; local preimages against forward passes of
their own points; distances against KKT certificates and an exhaustive search."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import nnls

import preimage
from oracles import numpy_forward
from preimage import InvalidInputError
from preimage.analysis import check_data, class_mixing, load_data, local_preimage, plot_mixing
from preimage.analysis.mixing import PieceProgram, nearest_in_set, piece_dim

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "examples" / "models"


# -- shared helpers (also used by the other test_analysis_* files) ---------------------------------
def specs_of(net: preimage.Network):
    return [(np.array(lay.dense_weight), np.array(lay.bias), lay.relu) for lay in net.layers]


def oracle_activations(net: preimage.Network, X: np.ndarray, layer: int) -> np.ndarray:
    """``h_layer`` by the plain numpy forward pass of ``tests/oracles.py``."""
    return numpy_forward(specs_of(net)[:layer], X)


def oracle_preactivations(net: preimage.Network, X: np.ndarray, layer: int) -> np.ndarray:
    """``z_layer`` by the numpy oracle."""
    specs = specs_of(net)
    H = numpy_forward(specs[: layer - 1], X)
    W, b, _ = specs[layer - 1]
    return H @ W.T + b


def kkt_residual(P: preimage.Polyhedron, p: np.ndarray, q: np.ndarray, active_tol: float = 1e-6) -> float:
    """How far ``q`` is from being the projection of ``p`` onto ``P``: the least residual of
    ``p - q = A_act^T λ + C^T μ`` with ``λ >= 0`` (non-negative least squares, scipy)."""
    act = np.abs(P.A @ q - P.b) <= active_tol
    G = np.hstack([P.A[act].T, P.C.T, -P.C.T])
    if G.shape[1] == 0:
        return float(np.linalg.norm(p - q))
    _, res = nnls(G, p - q, maxiter=50 * G.shape[1])
    return float(res)


@pytest.fixture(scope="module")
def digits():
    return load_data("digits", "test")


@pytest.fixture(scope="module")
def mlp():
    return preimage.load(MODELS / "digits_mlp.onnx")


def train_bottleneck(seed: int = 0):
    """A tiny MLP 64 → 6 → 2 → 10 trained for a second on the digits: its 2-unit layer is
    narrow enough that examples of different classes share the activity 0 (mixing)."""
    torch = pytest.importorskip("torch")
    import torch.nn as nn

    X, y = load_data("digits", "train")
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 6), nn.ReLU(), nn.Linear(6, 2), nn.ReLU(), nn.Linear(2, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt), yt).backward()
        opt.step()
    return preimage.from_torch(model.eval(), (64,))


@pytest.fixture(scope="module")
def bottleneck():
    return train_bottleneck()


# -- the data ---------------------------------------------------------------------------------------
def test_load_data_is_the_training_split():
    spec = importlib.util.spec_from_file_location("train_digits", ROOT / "examples" / "train_digits.py")
    td = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(td)
    X_train, X_test, y_train, y_test = td.load_split()
    X, y = load_data("digits", "test")
    assert np.array_equal(X, X_test) and np.array_equal(y, y_test)
    X, y = load_data("digits", "train")
    assert np.array_equal(X, X_train) and np.array_equal(y, y_train)
    assert load_data("digits", "all")[0].shape == (1797, 64)


def test_load_data_from_npz(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.arange(24.0).reshape(4, 2, 3), y=np.array([0, 1, 0, 1]))
    X, y = load_data(path)
    assert X.shape == (4, 6) and y.tolist() == [0, 1, 0, 1]
    with pytest.raises(InvalidInputError, match="npz"):
        load_data(tmp_path / "missing.npz")
    with pytest.raises(InvalidInputError, match="split"):
        load_data("digits", "validation")


# -- mixing counts vs brute force -------------------------------------------------------------------
def brute_force_pairs(H: np.ndarray, y: np.ndarray):
    """Every pair i < j with identical activity, by direct comparison (quadratic, plain numpy)."""
    cross, same = set(), set()
    for i in range(len(H)):
        eq = np.all(H[i + 1:] == H[i], axis=1)
        for j in np.flatnonzero(eq) + i + 1:
            (cross if y[i] != y[j] else same).add((i, int(j)))
    return cross, same


def brute_force_near(H: np.ndarray, y: np.ndarray):
    tol = preimage.tolerances.ACTIVITY_ABSOLUTE + preimage.tolerances.ACTIVITY_RELATIVE * np.maximum(
        np.abs(H)[:, None, :], np.abs(H)[None, :, :])
    close = np.all(np.abs(H[:, None, :] - H[None, :, :]) <= tol, axis=2)
    exact = np.all(H[:, None, :] == H[None, :, :], axis=2)
    I, J = np.nonzero(np.triu(close & ~exact, 1))
    return {(int(i), int(j)) for i, j in zip(I, J) if y[i] != y[j]}, int(np.sum(y[I] == y[J]))


def test_mixing_counts_match_brute_force_on_a_trained_bottleneck(digits, bottleneck):
    net = bottleneck
    X, y = digits[0][:300], digits[1][:300]
    rep = class_mixing(net, X, y, dims=False, distances=False, max_pairs=10**6)
    assert [lm.layer for lm in rep.layers] == [1, 2, 3]
    total_cross = 0
    for lm in rep.layers:
        H = oracle_activations(net, X, lm.layer)
        cross, same = brute_force_pairs(H, y)
        assert lm.n_cross_pairs == len(cross) and lm.n_same_pairs == len(same)
        assert {tuple(p) for p in lm.cross_pairs.tolist()} == cross
        assert lm.n_groups == len({tuple(r) for r in H.tolist()})
        near_cross, near_same = brute_force_near(H, y)
        assert lm.n_near_cross_pairs == len(near_cross) and lm.n_near_same_pairs == near_same
        assert {tuple(p) for p in lm.near_cross_pairs.tolist()} == near_cross
        assert set(lm.mixed_examples.tolist()) == {i for p in cross for i in p}
        total_cross += len(cross)
    assert total_cross > 0, "the bottleneck should mix some classes"
    # mixing is irreversible: identical at layer k => identical at every later layer
    for a, b in zip(rep.layers, rep.layers[1:]):
        assert {tuple(p) for p in a.cross_pairs.tolist()} <= {tuple(p) for p in b.cross_pairs.tolist()}


def test_mixing_lists_at_most_max_pairs_but_counts_all(digits, bottleneck):
    net = bottleneck
    X, y = digits[0][:200], digits[1][:200]
    full = class_mixing(net, X, y, layers=[2], dims=False, distances=False, max_pairs=10**6)[2]
    capped = class_mixing(net, X, y, layers=[2], dims=False, distances=False, max_pairs=3)[2]
    assert capped.n_cross_pairs == full.n_cross_pairs
    assert len(capped.cross_pairs) == min(3, full.n_cross_pairs)
    assert {tuple(p) for p in capped.cross_pairs.tolist()} <= {tuple(p) for p in full.cross_pairs.tolist()}


def test_constructed_network_mixes_two_classes():
    """z = x0 - x1 - 0.5 (ReLU), then z2 = 2 h1 + 0.1: every input with x0 - x1 <= 0.5 maps to
    0 at layer 1 (and 0.1 at layer 2) — classes 0 and 1 below that line are mixed."""
    net = preimage.Network.from_arrays([(np.array([[1.0, -1.0]]), np.array([-0.5]), True),
                                        (np.array([[2.0]]), np.array([0.1]), False)])
    X = np.array([[0.1, 0.9], [0.3, 0.2], [0.9, 0.1], [0.95, 0.0]])
    y = np.array([0, 1, 1, 0])
    rep = class_mixing(net, X, y)
    for k in (1, 2):
        lm = rep[k]
        assert lm.n_cross_pairs == 1 and lm.cross_pairs.tolist() == [[0, 1]]
        assert lm.n_same_pairs == 0
        # x0, x1 share one piece, {x0 - x1 <= 0.5} ∩ [0,1]^2 (2-D); x2, x3 lie on lines x0 - x1 = c
        assert lm.dims.tolist() == [2, 2, 1, 1]
        assert lm.distances[0] == pytest.approx(0.0, abs=1e-7) and lm.distances[1] == pytest.approx(0.0, abs=1e-7)
        assert lm.nearest[0] == 1 and lm.nearest[1] in (0, 3)
    # x2 = (0.9, 0.1) lies on x0 - x1 = 0.8; the nearest class-0 example x3 = (0.95, 0) is at
    # distance |0.95 - 0 - 0.8| / sqrt(2) from that line, and x0 is further
    assert rep[1].distances[2] == pytest.approx(0.15 / np.sqrt(2), abs=1e-7)
    assert rep[1].nearest[2] == 3
    json.dumps(rep.to_dict())


# -- local preimages --------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [1, 2, 3])
def test_local_preimage_reproduces_the_activity(mlp, digits, layer):
    X = digits[0]
    box = preimage.Box(np.zeros(64), np.ones(64))
    for i in (0, 7):
        piece = local_preimage(mlp, X[i], layer, box)
        P = piece.polyhedron
        assert P.contains(X[i])
        y = oracle_activations(mlp, X[i:i + 1], layer)[0]
        assert np.allclose(piece.affine_map(X[i]), y, atol=1e-12)
        S = P.sample(40, seed=i)
        H = oracle_activations(mlp, S, layer)
        assert np.abs(H - y).max() < 1e-8
        # the sampled points keep the example's pattern wherever the sign is clear (the MLP has
        # two dead layer-1 units with weights ~1e-34, whose sign is noise)
        Z = np.hstack([oracle_preactivations(mlp, S, k) for k in range(1, layer + 1) if mlp.layers[k - 1].relu])
        clear = np.abs(Z) > 1e-9
        assert np.all(((Z > 0) == piece.pattern)[clear])
        # its dimension: that of the affine space of its equalities (it has interior there)
        assert piece_dim(PieceProgram(P, X[i])) == P.dim


def test_local_preimage_dimension_on_a_tiny_network():
    W = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    net = preimage.Network.from_arrays([(W, np.array([0.0, 0.0, -10.0]), True)])
    x = np.array([0.3, 0.4, 0.2])  # active, active, inactive: x0, x1 fixed, x2 free with x0+x1+x2 <= 10
    piece = local_preimage(net, x, 1, preimage.Box(np.zeros(3), np.ones(3)))
    assert piece.polyhedron.dim == 1 and piece.pattern.tolist() == [True, True, False]
    piece = local_preimage(net, x, 1, None)
    assert piece.polyhedron.dim == 1 and not piece.polyhedron.is_bounded()


# -- distances --------------------------------------------------------------------------------------
def test_distances_are_projections_and_the_pruned_search_is_exact(mlp, digits):
    X, y = digits[0][:60], digits[1][:60]
    box = preimage.Box(np.zeros(64), np.ones(64))
    for layer in (1, 3):
        for i in (0, 5):
            P = local_preimage(mlp, X[i], layer, box).polyhedron
            prog = PieceProgram(P, X[i])
            others = np.flatnonzero(y != y[i])
            exhaustive = []
            for j in others:
                q = prog.project(X[j])
                assert P.contains(q, tol=1e-7)
                assert kkt_residual(P, X[j], q) < 1e-5  # HiGHS's QP answers are good to ~1e-6
                exhaustive.append(np.linalg.norm(q - X[j]))
            d, arg, qps = nearest_in_set(P, X[others], x0=X[i])
            assert d == pytest.approx(min(exhaustive), abs=1e-7)
            assert exhaustive[arg] == pytest.approx(d, abs=1e-7)
            assert qps < len(others)


def test_class_mixing_on_the_digits_mlp(mlp, digits):
    X, y = digits[0][:40], digits[1][:40]
    rep = class_mixing(mlp, X, y, layers=[2])
    lm = rep[2]
    assert lm.dims.min() >= 64 - 16 and lm.dims.max() <= 64  # at most 16 equalities at layer 2
    assert np.all(np.isfinite(lm.distances)) and np.all(lm.distances > 0)
    # the distance to the nearest other-class example is at most the plain distance to it
    for i in range(len(y)):
        assert y[lm.nearest[i]] != y[i]
        assert lm.distances[i] <= np.linalg.norm(X[i] - X[lm.nearest[i]]) + 1e-9
    d = rep.to_dict()
    json.dumps(d)
    assert d["table"][0]["layer"] == 2


def test_plot_mixing_writes_histograms(tmp_path):
    net = preimage.Network.from_arrays([(np.array([[1.0, -1.0]]), np.array([-0.5]), True)])
    X = np.array([[0.1, 0.9], [0.3, 0.2], [0.9, 0.1], [0.95, 0.0]])
    rep = class_mixing(net, X, [0, 1, 1, 0])
    artists = plot_mixing(rep, out=tmp_path / "h.png")
    assert artists and (tmp_path / "h.png").stat().st_size > 0


# -- bad input --------------------------------------------------------------------------------------
def test_bad_inputs(mlp, digits):
    X, y = digits
    with pytest.raises(InvalidInputError, match="width 63.*width 64"):
        class_mixing(mlp, X[:5, :63], y[:5])
    small = preimage.Network.from_arrays([(np.eye(3), np.zeros(3), True)])
    with pytest.raises(InvalidInputError, match="width 64, but the model takes inputs of width 3"):
        check_data(small, X[:5], y[:5])
    with pytest.raises(InvalidInputError, match="layer must be an integer between 1 and 3"):
        class_mixing(mlp, X[:5], y[:5], layers=[4])
    with pytest.raises(InvalidInputError, match="layer must be an integer between 1 and 3"):
        local_preimage(mlp, X[0], 0)
    with pytest.raises(InvalidInputError, match="one label per example"):
        class_mixing(mlp, X[:5], y[:4])
    with pytest.raises(InvalidInputError, match="outside the domain"):
        class_mixing(mlp, X[:5] + 2.0, y[:5])
    with pytest.raises(InvalidInputError, match="domain must be"):
        class_mixing(mlp, X[:5], y[:5], domain="cube")
