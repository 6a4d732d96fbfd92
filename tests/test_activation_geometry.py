"""The library outside the engine with activations other than ReLU.

* the one-layer preimage (:func:`preimage.layer_preimage`) through elementwise piecewise-linear
  activations — oracle: the forward pass ``φ(W x + b)`` (numpy, written here) on the example
  itself, on samples of the set and on points of its generator form;
* the papers' ReLU-only geometry (dual basis, local preimages, contraction, cone geometry)
  refuses other activations with an error naming the layer and its activation;
* gradient inversion evaluates any activation in PyTorch — oracle: ``Network.activations``;
* the command line on a LeakyReLU / HardTanh model.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from preimage import Box, InvalidInputError, Network, dual_basis, layer_preimage
from preimage.activations import HardTanh, LeakyReLU, MaxPool, PiecewiseLinear, ReLU


def phi(kind: str, Z: np.ndarray) -> np.ndarray:
    """The activations written out with numpy (independent of preimage.activations)."""
    if kind == "leaky":
        return np.where(Z > 0, Z, 0.2 * Z)
    if kind == "hardtanh":
        return np.minimum(np.maximum(Z, -1.0), 0.5)
    if kind == "relu6":
        return np.minimum(np.maximum(Z, 0.0), 6.0)
    if kind == "floor":  # clip from below only, at 0.25
        return np.maximum(Z, 0.25)
    raise AssertionError(kind)


ACTS = {"leaky": LeakyReLU(0.2), "hardtanh": HardTanh(-1.0, 0.5), "relu6": HardTanh(0.0, 6.0),
        "floor": PiecewiseLinear([0.25], [0.0, 1.0], [0.25, 0.0])}


# -- one-layer preimage ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(ACTS))
@pytest.mark.parametrize("shape", [(3, 3), (3, 5)])
def test_layer_preimage_through_elementwise_activations(kind, shape):
    rng = np.random.default_rng(hash((kind, shape)) % 2**32)
    m, n = shape
    scale = 8.0 if kind == "relu6" else 1.5
    box = Box(-3 * np.ones(n), 3 * np.ones(n))
    for trial in range(6):
        W, b = rng.normal(size=shape) * scale, rng.normal(size=m)
        x = rng.uniform(-2, 2, size=n)
        y = phi(kind, W @ x + b)
        P = layer_preimage(W, b, y, domain=None, activation=ACTS[kind])
        assert P.contains(x[None, :])[0]
        Pb = P.polyhedron.intersect(box)
        S = Pb.sample(40, seed=trial)
        assert np.abs(phi(kind, S @ W.T + b) - y).max() <= 1e-8 * max(1.0, np.abs(y).max())
        assert P.form == "generators"
        alpha = rng.uniform(0, 2, size=(20, P.directions.shape[1]))
        beta = rng.normal(size=(20, P.lineality.shape[1]))
        G = P.apex + alpha @ P.directions.T + beta @ P.lineality.T
        assert np.abs(phi(kind, G @ W.T + b) - y).max() <= 1e-8 * max(1.0, np.abs(G).max(), np.abs(y).max())
        assert np.all(P.contains(G, tol=1e-7))
        if kind == "leaky":  # invertible: every unit is an equality
            assert P.directions.shape[1] == 0 and P.positive.all()
            if m == n:
                assert P.dim == 0 and np.allclose(P.apex, x)
        # a point off the set: move along a direction that changes some unit's output
        if P.positive.any():
            i = int(np.flatnonzero(P.positive)[0])
            off = x + 1e-3 * W[i] / np.linalg.norm(W[i])
            assert not P.contains(off[None, :])[0]
            assert np.abs(phi(kind, W @ off + b) - y).max() > 1e-6


def test_layer_preimage_reaches_every_branch_of_a_hardtanh():
    W = np.eye(3)
    b = np.zeros(3)
    y = np.array([-1.0, 0.2, 0.5])  # at lo, linear, at hi
    P = layer_preimage(W, b, y, domain=None, activation=HardTanh(-1.0, 0.5))
    assert P.form == "generators" and P.positive.tolist() == [False, True, False]
    assert np.allclose(P.apex, [-1.0, 0.2, 0.5])
    assert np.allclose(P.directions, [[-1, 0], [0, 0], [0, 1]])
    assert P.contains([[-7.0, 0.2, 9.0]])[0] and not P.contains([[-0.5, 0.2, 0.5]])[0]


def test_relu_activation_gives_the_papers_set():
    rng = np.random.default_rng(3)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=3)
    y = np.maximum(W @ rng.normal(size=4) + b, 0)
    for domain in (None, "orthant"):
        a = layer_preimage(W, b, y, domain=domain)
        r = layer_preimage(W, b, y, domain=domain, activation=ReLU())
        g = layer_preimage(W, b, y, domain=domain, activation=PiecewiseLinear([0.0], [0.0, 1.0], [0.0, 0.0]))
        assert a.form == r.form == g.form == "generators"
        for other in (r, g):
            assert np.allclose(a.apex, other.apex) and np.allclose(a.directions, other.directions)
            X = rng.normal(size=(200, 4)) * 3
            assert np.array_equal(a.contains(X), other.contains(X))


def test_layer_preimage_refusals():
    W, b = np.eye(2), np.zeros(2)
    with pytest.raises(InvalidInputError, match=r"y\[0\] = 0.5 comes from 2 separate intervals.*LeakyReLU"):
        layer_preimage(W, b, [0.5, 0.0], activation=LeakyReLU(-0.5))
    P = layer_preimage(W, b, [0.0, 0.0], domain=None, activation=LeakyReLU(-0.5))  # y = 0 only from z = 0
    assert P.dim == 0
    with pytest.raises(InvalidInputError, match=r"y\[1\] = 0.9 is not a value of HardTanh"):
        layer_preimage(W, b, [0.0, 0.9], activation=HardTanh(-1.0, 0.5))
    with pytest.raises(InvalidInputError, match="MaxPool.*preimage.preimage"):
        layer_preimage(np.eye(4), np.zeros(4), [1.0, 2.0], activation=MaxPool((1, 4), 2))


def test_dual_basis_is_for_relu_layers():
    W, b = np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([0.0, -1.0])
    assert np.allclose(dual_basis(W, b, activation=ReLU()).apex, dual_basis(W, b).apex)
    with pytest.raises(InvalidInputError, match=r"dual basis.*ReLU layers.*LeakyReLU\(slope=0.1\)"):
        dual_basis(W, b, activation=LeakyReLU(0.1))


# -- ReLU-only algorithms refuse other activations -----------------------------------------------------------
def leaky_net() -> Network:
    rng = np.random.default_rng(4)
    return Network.from_arrays([(rng.normal(size=(3, 2)), rng.normal(size=3), True),
                                (rng.normal(size=(3, 3)), rng.normal(size=3), LeakyReLU(0.1)),
                                (rng.normal(size=(1, 3)), rng.normal(size=1), False)])


def test_relu_only_algorithms_name_the_layer_and_activation():
    from preimage.analysis import class_mixing, local_preimage
    from preimage.conv import contraction_profile, local_preimage_piece
    from preimage.conv.cnn import activity_preimages_by_layer

    net = leaky_net()
    box = Box([0.0, 0.0], [1.0, 1.0])
    x = np.array([0.3, 0.6])
    match = r"ReLU.*layer 2 \(layer 2\) has activation LeakyReLU\(slope=0.1\)"
    with pytest.raises(InvalidInputError, match="local_preimage.*" + match):
        local_preimage(net, x, 2, box)
    with pytest.raises(InvalidInputError, match="local_preimage_piece.*" + match):
        local_preimage_piece(net, x, 3, domain=box)
    with pytest.raises(InvalidInputError, match="contraction_profile.*" + match):
        contraction_profile(net, x[None, :], domain=box)
    with pytest.raises(InvalidInputError, match="activity_preimages_by_layer.*" + match):
        activity_preimages_by_layer(net, x, box)
    with pytest.raises(InvalidInputError, match="class_mixing.*" + match):
        class_mixing(net, np.array([[0.1, 0.2], [0.3, 0.4]]), [0, 1])
    # the first layer alone is a ReLU layer: its local preimage is fine
    piece = local_preimage(net, x, 1, box)
    assert piece.polyhedron.contains(x[None, :])[0]
    # class mixing without local preimages needs only forward passes
    rep = class_mixing(net, np.array([[0.1, 0.2], [0.3, 0.4]]), [0, 1], dims=False, distances=False)
    assert len(rep.layers) == 3


def test_contraction_flow_refuses_other_activations():
    pytest.importorskip("matplotlib")
    from preimage.plotting.contraction import contraction_flow

    with pytest.raises(InvalidInputError, match=r"contraction_flow.*layer 2 .*LeakyReLU"):
        contraction_flow(leaky_net(), Box([0.0, 0.0], [1.0, 1.0]))


def test_silence_dead_neurons_keeps_activations_and_leaves_other_units_alone():
    from preimage.analysis import silence_dead_neurons

    W1 = np.array([[1.0, 0.0], [1e-34, 0.0]])
    net = Network.from_arrays([(W1, np.array([0.0, 1e-34]), True), (W1, np.array([0.0, 1e-34]), HardTanh(-1, 1)),
                               (np.ones((1, 2)), np.zeros(1), False)])
    clean, dead = silence_dead_neurons(net)
    assert dead == [(1, 1)]
    assert [lay.activation for lay in clean.layers] == [lay.activation for lay in net.layers]
    assert np.array_equal(clean.layers[1].dense_weight, W1)


def test_gradient_inversion_evaluates_every_activation_like_the_network():
    torch = pytest.importorskip("torch")
    from preimage.analysis.natural import _torch_activation

    rng = np.random.default_rng(5)
    acts = [ReLU(), LeakyReLU(0.3), LeakyReLU(-0.5), HardTanh(-2.0, 0.5), HardTanh(0.0, 6.0),
            PiecewiseLinear([-1.0, 1.0, 2.0], [0.5, 2.0, -1.0, 0.0], [0.0, 1.5, 4.5, 2.5]),
            MaxPool((2, 5, 4), (3, 2), stride=(2, 1), padding=(1, 0)), MaxPool((3, 7), 3, stride=2, padding=1)]
    for act in acts:
        n = int(np.prod(act.in_shape)) if isinstance(act, MaxPool) else 9
        Z = rng.normal(size=(30, n)) * 3
        ref = act.evaluate(Z)
        f = _torch_activation(act, n, torch)
        ours = np.array([f(torch.tensor(z, dtype=torch.float64)).numpy() for z in Z])
        assert np.allclose(ours, ref, atol=1e-12), act
    # the whole inversion runs on a MaxPool + LeakyReLU network and gets closer to the activity
    from preimage.analysis import gradient_inversion

    net = Network.from_arrays([(rng.normal(size=(8, 4)), rng.normal(size=8), MaxPool((2, 4), 2)),
                               (rng.normal(size=(3, 4)), rng.normal(size=3), LeakyReLU(0.3))])
    x = rng.uniform(0, 1, size=4)
    start = gradient_inversion(net, x, 2, steps=0, weight=0.0)
    res = gradient_inversion(net, x, 2, steps=150, lr=0.05, weight=0.0)
    assert res.activity_error < 0.5 * start.activity_error
    assert np.isclose(res.activity_error, np.abs(net.activations(res.x, 2) - net.activations(x, 2)).max())


# -- command line ---------------------------------------------------------------------------------------------
def test_cli_on_a_model_with_other_activations(tmp_path, capsys):
    from preimage.cli import main

    rng = np.random.default_rng(6)
    net = Network.from_arrays([(rng.normal(size=(4, 3)), rng.normal(size=4), LeakyReLU(0.2)),
                               (rng.normal(size=(3, 4)) * 3, rng.normal(size=3), HardTanh(-1.0, 0.5)),
                               (rng.normal(size=(2, 3)), rng.normal(size=2), False)])
    path = str(tmp_path / "net.npz")
    net.save(path)
    assert main(["info", path, "--json"]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r.get("activation", {}).get("name") for r in info["layers"][1:]] == ["leaky_relu", "hardtanh", "identity"]
    assert main(["info", path]) == 0
    out = capsys.readouterr().out
    assert "units with an activation" in out and "hardtanh" in out
    x = "0.3,-0.2,0.7"
    xv = np.array([0.3, -0.2, 0.7])
    for layer, kind in ((1, "leaky"), (2, "hardtanh")):
        assert main(["layer-preimage", path, "--layer", str(layer), "--input", x, "--json"]) == 0
        res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert res["contains_given_input"] is True and res["domain"] == "none"
        assert res["max_abs_activity_error_at_point"] < 1e-9
        h = net.activations(xv, layer=layer - 1)
        lay = net.layers[layer - 1]
        y = phi(kind, lay.dense_weight @ h + lay.bias)
        assert np.allclose(net.activations(xv, layer=layer), y)
    assert main(["dual-basis", path, "--layer", "1"]) == 2
    err = capsys.readouterr().err
    assert "ReLU layers" in err and "LeakyReLU(slope=0.2)" in err and "layer 1" in err


def test_cones_report_skips_a_conv_layer_with_another_activation(tmp_path, capsys):
    import argparse

    from onnx import TensorProto, helper, numpy_helper

    from preimage.conv.cli import register

    K = np.ones((1, 1, 3), dtype=np.float32)
    nodes = [helper.make_node("Conv", ["x", "K"], ["z"], pads=[1, 1]), helper.make_node("LeakyRelu", ["z"], ["r"]),
             helper.make_node("Conv", ["r", "K"], ["z2"], pads=[1, 1]), helper.make_node("Relu", ["z2"], ["r2"]),
             helper.make_node("Flatten", ["r2"], ["out"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 6])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, None])],
                              [numpy_helper.from_array(K, "K")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    p = argparse.ArgumentParser()
    register(p.add_subparsers(dest="command"))
    args = p.parse_args(["cones", str(tmp_path / "m.onnx"), "--json"])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    first, second = report["layers"]
    assert "LeakyReLU" in first["skipped"] and "ReLU layers" in first["skipped"]
    assert "skipped" not in second and second["slices_total"] == 1
