"""Importing activations other than ReLU (LeakyReLU, PReLU, HardTanh/ReLU6/Clip, MaxPool).

Oracles: PyTorch's forward pass (``from_torch``) and onnxruntime (``load``) for the outputs; for
the activation patterns, the branch of every unit recomputed here with numpy from the
intermediate tensors PyTorch or onnxruntime compute (pre-activations), independently of
:mod:`preimage.activations`; for MaxPool also PyTorch's own ``return_indices``.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

import preimage
from preimage import InvalidInputError, UnsupportedLayerError
from preimage.activations import HardTanh, LeakyReLU, MaxPool, PiecewiseLinear, ReLU

RTOL = 1e-5


# -- oracles ----------------------------------------------------------------------------------------------
def close(ours: np.ndarray, ref: np.ndarray, rtol: float = RTOL) -> bool:
    ref = np.asarray(ref, dtype=np.float64).reshape(ours.shape)
    return bool(np.abs(ours - ref).max() <= rtol * max(1.0, float(np.abs(ref).max())))


def branches_elementwise(z: np.ndarray, breakpoints) -> np.ndarray:
    """Branch ``b`` of a unit: ``t_b < z <= t_{b+1}`` (ReLU: 0 for ``z <= 0``, 1 above)."""
    z = z.reshape(len(z), -1)
    return sum((z > t).astype(np.int64) for t in breakpoints)


def branches_maxpool(z: np.ndarray, kernel, stride, padding) -> np.ndarray:
    """Index (row-major in the window, padding left out) of the first largest entry of every
    window, channel-major, written with explicit loops."""
    N, C, *spatial = z.shape
    nd = len(spatial)
    out_sp = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(spatial, kernel, stride, padding)]
    rows = []
    for x in z:
        row = []
        for c in range(C):
            for pos in np.ndindex(*out_sp):
                ranges = []
                for ax in range(nd):
                    start = pos[ax] * stride[ax] - padding[ax]
                    ranges.append(range(max(start, 0), min(start + kernel[ax], spatial[ax])))
                window = [x[(c, *idx)] for idx in np.ndindex(*[len(r) for r in ranges])
                          for idx in [tuple(ranges[a][i] for a, i in enumerate(idx))]]
                best = 0
                for j, v in enumerate(window):
                    if v > window[best]:
                        best = j
                row.append(best)
        rows.append(row)
    return np.array(rows)


def torch_values(model: nn.Module, X: np.ndarray, upto: int) -> np.ndarray:
    with torch.no_grad():
        return model[:upto](torch.as_tensor(X, dtype=next(model.parameters()).dtype)).double().numpy()


def torch_out(model: nn.Module, X: np.ndarray) -> np.ndarray:
    return torch_values(model, X, len(model)).reshape(len(X), -1)


# -- PyTorch --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("slope", [0.01, 0.3, -0.5])
def test_torch_leaky_relu(slope):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 7), nn.LeakyReLU(slope), nn.Linear(7, 5), nn.LeakyReLU(slope),
                          nn.Linear(5, 2)).eval()
    net = preimage.from_torch(model, (4,))
    assert [lay.activation for lay in net.layers][:2] == [LeakyReLU(slope), LeakyReLU(slope)]
    assert net.widths == (4, 7, 5, 2) and net.binary_patterns and net.num_relus == 12
    X = np.random.default_rng(1).normal(size=(200, 4)).astype(np.float32)
    assert close(net.forward(X.astype(np.float64)), torch_out(model, X))
    double = model.double()
    P = net.activation_pattern(X)
    assert P.dtype == bool
    ref = np.hstack([branches_elementwise(torch_values(double, X, 1), [0.0]),
                     branches_elementwise(torch_values(double, X, 3), [0.0])])
    assert np.array_equal(P, ref.astype(bool))
    assert 0 < P.mean() < 1


def test_torch_hardtanh_relu6_and_one_slope_prelu():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 8), nn.Hardtanh(-2.0, 0.5), nn.Linear(8, 6), nn.ReLU6(),
                          nn.Linear(6, 4), nn.PReLU(), nn.Linear(4, 2)).eval()
    with torch.no_grad():
        model[2].weight.mul_(40.0)  # reach both bounds of the ReLU6
        model[5].weight.fill_(0.2)
    net = preimage.from_torch(model, (3,))
    assert [lay.activation for lay in net.layers[:3]] == [HardTanh(-2.0, 0.5), HardTanh(0.0, 6.0),
                                                          LeakyReLU(float(np.float32(0.2)))]
    assert not net.layers[3].has_activation and not net.binary_patterns
    X = (3 * np.random.default_rng(2).normal(size=(300, 3))).astype(np.float32)
    assert close(net.forward(X.astype(np.float64)), torch_out(model, X))
    double = model.double()
    P = net.activation_pattern(X)
    assert P.dtype == np.int8
    ref = np.hstack([branches_elementwise(torch_values(double, X, 1), [-2.0, 0.5]),
                     branches_elementwise(torch_values(double, X, 3), [0.0, 6.0]),
                     branches_elementwise(torch_values(double, X, 5), [0.0])])
    assert np.array_equal(P, ref)
    # every branch of the HardTanh and of the ReLU6 is reached
    assert set(np.unique(P[:, :8])) == set(np.unique(P[:, 8:14])) == {0, 1, 2}


@pytest.mark.parametrize("case", ["1d", "2d", "2d-square"])
def test_torch_maxpool_after_conv(case):
    torch.manual_seed(3)
    if case == "1d":
        shape, conv = (2, 11), nn.Conv1d(2, 3, 3)
        pool, kernel, stride, padding = nn.MaxPool1d(3, stride=2, padding=1), (3,), (2,), (1,)
    elif case == "2d":
        shape, conv = (1, 7, 6), nn.Conv2d(1, 2, 2, padding=1)
        pool, kernel, stride, padding = nn.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 0)), (3, 2), (2, 1), (1, 0)
    else:
        shape, conv = (2, 6, 6), nn.Conv2d(2, 2, 3, padding=1)
        pool, kernel, stride, padding = nn.MaxPool2d(2), (2, 2), (2, 2), (0, 0)
    body = nn.Sequential(conv, pool)
    n_feat = int(np.prod(body(torch.zeros(1, *shape)).shape))
    model = nn.Sequential(conv, pool, nn.Flatten(), nn.Linear(n_feat, 3)).eval()
    net = preimage.from_torch(model, shape)
    first = net.layers[0]
    assert isinstance(first.activation, MaxPool) and first.conv is not None
    conv_shape = tuple(body[0](torch.zeros(1, *shape)).shape[1:])
    assert first.pre_shape == conv_shape == first.activation.in_shape
    assert first.out_shape == tuple(body(torch.zeros(1, *shape)).shape[1:])
    X = np.random.default_rng(4).normal(size=(60, *shape)).astype(np.float32)
    assert close(net.forward(X.reshape(60, -1).astype(np.float64)), torch_out(model, X))
    # the pattern: the first largest entry of every window, from PyTorch's conv output
    model.double()
    Z = torch_values(model, X, 1)
    P = net.activation_pattern(X.reshape(60, -1))
    assert P.dtype == np.int8
    ref = branches_maxpool(Z, kernel, stride, padding)
    assert np.array_equal(P, ref)
    # and PyTorch's own argmax (a flat index into the channel's plane)
    idx_pool = type(pool)(pool.kernel_size, stride=pool.stride, padding=pool.padding, return_indices=True)
    with torch.no_grad():
        _, idx = idx_pool(torch.as_tensor(Z))
    windows = first.activation.windows
    plane = int(np.prod(conv_shape[1:]))
    ours = np.array([[int(windows[u][b]) % plane for u, b in enumerate(row)] for row in P])
    assert np.array_equal(ours, idx.numpy().reshape(60, -1))


def test_torch_activation_chains_get_identity_layers():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Hardtanh(-1.0, 1.0), nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.LeakyReLU(0.1), nn.Flatten(), nn.Linear(8, 2), nn.ReLU(), nn.ReLU()).eval()
    net = preimage.from_torch(model, (1, 4, 4))
    acts = [lay.activation for lay in net.layers]
    assert acts == [HardTanh(-1.0, 1.0), ReLU(), MaxPool((2, 4, 4), 2), LeakyReLU(0.1), ReLU()]
    for k in (0, 2, 3):  # activation on the input / right after another one: W = I, b = 0
        lay = net.layers[k]
        assert np.array_equal(lay.dense_weight, np.eye(lay.in_dim)) and not np.any(lay.bias)
    assert net.layers[2].pre_shape == (2, 4, 4) and net.layers[2].out_shape == (2, 2, 2)
    assert net.widths == (16, 16, 32, 8, 8, 2)
    X = np.random.default_rng(6).normal(size=(50, 1, 4, 4)).astype(np.float32)
    assert close(net.forward(X.reshape(50, -1).astype(np.float64)), torch_out(model, X))


def test_torch_refusals():
    prelu = nn.PReLU(3)
    with torch.no_grad():
        prelu.weight.copy_(torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(UnsupportedLayerError, match=r"'1' \(PReLU\).*3 different slopes"):
        preimage.from_torch(nn.Sequential(nn.Conv1d(1, 3, 2), prelu), (1, 5))
    with pytest.raises(UnsupportedLayerError, match="ceil_mode"):
        preimage.from_torch(nn.Sequential(nn.Conv2d(1, 1, 2), nn.MaxPool2d(2, ceil_mode=True)), (1, 6, 6))
    with pytest.raises(UnsupportedLayerError, match="dilation"):
        preimage.from_torch(nn.Sequential(nn.Conv2d(1, 1, 2), nn.MaxPool2d(2, dilation=2)), (1, 6, 6))
    with pytest.raises(InvalidInputError, match=r"MaxPool1d.*\(C, L\)"):
        preimage.from_torch(nn.Sequential(nn.Linear(4, 4), nn.MaxPool1d(2)), (4,))


# -- ONNX ---------------------------------------------------------------------------------------------------
def make_model(nodes, inits, in_shape, outputs=("out",), opset=17, out_rank=2):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, [None] * out_rank) for o in outputs]
    init = [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in inits.items()]
    graph = helper.make_graph(nodes, "test", [x], outs, init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def ort_values(model, X: np.ndarray, names) -> list[np.ndarray]:
    """onnxruntime's values of the tensors ``names`` (made outputs of a copy of the model)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in names:
        if n not in have:
            m.graph.output.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(v, dtype=np.float64) for v in sess.run(list(names), {"x": X.astype(np.float32)})]


def load(model, tmp_path, name="m.onnx"):
    p = tmp_path / name
    onnx.save(model, p)
    return preimage.load(p)


def assert_agrees(net, model, X):
    (ref,) = ort_values(model, X, [model.graph.output[0].name])
    assert close(net.forward(X.reshape(len(X), -1).astype(np.float32).astype(np.float64)), ref.reshape(len(X), -1))


@pytest.mark.parametrize("alpha", [0.01, 0.3, -0.5])
def test_onnx_leaky_relu_and_scalar_prelu(tmp_path, alpha):
    rng = np.random.default_rng(7)
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["z1"]),
             helper.make_node("LeakyRelu", ["z1"], ["h1"], alpha=alpha),
             helper.make_node("Gemm", ["h1", "W2", "b2"], ["z2"]), helper.make_node("PRelu", ["z2", "s"], ["h2"]),
             helper.make_node("MatMul", ["h2", "W3"], ["out"])]
    model = make_model(nodes, {"W1": rng.normal(size=(3, 6)), "W2": rng.normal(size=(6, 4)), "b2": rng.normal(size=4),
                               "s": np.array([alpha]), "W3": rng.normal(size=(4, 2))}, [3])
    net = load(model, tmp_path)
    slope = float(np.float32(alpha))
    assert [lay.activation for lay in net.layers[:2]] == [LeakyReLU(slope), LeakyReLU(slope)]
    X = rng.normal(size=(100, 3))
    assert_agrees(net, model, X)
    z1, z2 = ort_values(model, X, ["z1", "z2"])
    P = net.activation_pattern(X.astype(np.float32).astype(np.float64))
    assert P.dtype == bool
    assert np.array_equal(P, np.hstack([z1 > 0, z2 > 0]))


def test_onnx_clip_forms(tmp_path):
    """Clip with bounds as inputs (opset >= 11) and as attributes (opset 6), one-sided and two-sided."""
    rng = np.random.default_rng(8)
    W = rng.normal(size=(3, 5)) * 2
    cases = [  # (opset, min, max, expected activation, breakpoints)
        (13, -0.5, 1.5, HardTanh(-0.5, 1.5), [-0.5, 1.5]),
        (13, 0.0, 6.0, HardTanh(0.0, 6.0), [0.0, 6.0]),
        (13, 0.25, None, PiecewiseLinear([0.25], [0.0, 1.0], [0.25, 0.0]), [0.25]),
        (13, None, -0.75, PiecewiseLinear([-0.75], [1.0, 0.0], [0.0, -0.75]), [-0.75]),
        (13, 0.0, None, ReLU(), [0.0]),
        (13, 0.0, float("inf"), ReLU(), [0.0]),
        (6, -1.0, 0.5, HardTanh(-1.0, 0.5), [-1.0, 0.5]),
        (6, 0.5, None, PiecewiseLinear([0.5], [0.0, 1.0], [0.5, 0.0]), [0.5]),
        (6, None, 2.0, PiecewiseLinear([2.0], [1.0, 0.0], [0.0, 2.0]), [2.0]),
    ]
    X = rng.normal(size=(200, 3))
    for i, (opset, lo, hi, act, breaks) in enumerate(cases):
        inits = {"W": W, "V": rng.normal(size=(5, 2))}
        if opset >= 11:
            ins = ["z", "lo" if lo is not None else "", "hi" if hi is not None else ""]
            while ins[-1] == "":
                ins.pop()
            clip = helper.make_node("Clip", ins, ["h"])
            inits.update({k: np.array(v, dtype=np.float32) for k, v in (("lo", lo), ("hi", hi)) if v is not None})
        else:
            clip = helper.make_node("Clip", ["z"], ["h"], **{k: v for k, v in (("min", lo), ("max", hi))
                                                            if v is not None})
        nodes = [helper.make_node("MatMul", ["x", "W"], ["z"]), clip, helper.make_node("MatMul", ["h", "V"], ["out"])]
        model = make_model(nodes, inits, [3], opset=opset)
        net = load(model, tmp_path, f"clip{i}.onnx")
        assert net.layers[0].activation == act, (i, net.layers[0].activation)
        assert_agrees(net, model, X)
        (z,) = ort_values(model, X, ["z"])
        P = net.activation_pattern(X.astype(np.float32).astype(np.float64))
        ref = branches_elementwise(z, breaks)
        assert np.array_equal(P.astype(np.int64), ref), i
        assert set(np.unique(ref)) == set(range(len(breaks) + 1)), i  # every branch reached
        assert P.dtype == (bool if len(breaks) == 1 else np.int8)


def test_onnx_clip_without_bounds_and_with_min_above_max(tmp_path):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(20, 3))
    nodes = [helper.make_node("MatMul", ["x", "W"], ["z"]), helper.make_node("Clip", ["z"], ["out"])]
    model = make_model(nodes, {"W": rng.normal(size=(3, 4))}, [3])
    net = load(model, tmp_path, "free.onnx")
    assert net.num_relus == 0
    assert_agrees(net, model, X)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["z"]), helper.make_node("Clip", ["z", "lo", "hi"], ["out"])]
    model = make_model(nodes, {"W": rng.normal(size=(3, 4)), "lo": np.array(1.0), "hi": np.array(-1.0)}, [3])
    net = load(model, tmp_path, "flat.onnx")
    assert np.allclose(net.forward(X), -1.0)
    assert_agrees(net, model, X)


@pytest.mark.parametrize("case", ["1d", "2d", "2d-same", "2d-no-stride"])
def test_onnx_maxpool(tmp_path, case):
    rng = np.random.default_rng(10)
    if case == "1d":
        in_shape, K = [2, 13], rng.normal(size=(3, 2, 3))
        attrs, kernel, stride, padding = dict(kernel_shape=[3], strides=[2], pads=[1, 1]), (3,), (2,), (1,)
    elif case == "2d":
        in_shape, K = [1, 7, 8], rng.normal(size=(2, 1, 2, 2))
        attrs = dict(kernel_shape=[3, 2], strides=[2, 3], pads=[1, 1, 1, 1])
        kernel, stride, padding = (3, 2), (2, 3), (1, 1)
    elif case == "2d-same":  # SAME_UPPER with an odd kernel and stride 1: symmetric pads
        in_shape, K = [1, 5, 6], rng.normal(size=(2, 1, 2, 2))
        attrs, kernel, stride, padding = dict(kernel_shape=[3, 3], auto_pad="SAME_UPPER"), (3, 3), (1, 1), (1, 1)
    else:  # ONNX's default strides are 1, not the kernel
        in_shape, K = [1, 6, 6], rng.normal(size=(2, 1, 3, 3))
        attrs, kernel, stride, padding = dict(kernel_shape=[2, 2]), (2, 2), (1, 1), (0, 0)
    nodes = [helper.make_node("Conv", ["x", "K", "c"], ["z"]), helper.make_node("MaxPool", ["z"], ["p"], **attrs),
             helper.make_node("Flatten", ["p"], ["out"])]
    model = make_model(nodes, {"K": K, "c": rng.normal(size=K.shape[0])}, in_shape)
    net = load(model, tmp_path)
    lay = net.layers[0]
    X = rng.normal(size=(40, *in_shape))
    z, p = ort_values(model, X, ["z", "p"])
    assert isinstance(lay.activation, MaxPool) and lay.conv is not None
    assert lay.pre_shape == z.shape[1:] == lay.activation.in_shape and lay.out_shape == p.shape[1:]
    assert_agrees(net, model, X)
    P = net.activation_pattern(X.reshape(40, -1).astype(np.float32).astype(np.float64))
    assert np.array_equal(P, branches_maxpool(z, kernel, stride, padding))


def test_onnx_exported_from_torch(tmp_path):
    """A PyTorch model with every supported activation, exported by torch.onnx."""
    torch.manual_seed(11)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1), nn.LeakyReLU(-0.3),
                          nn.Hardtanh(-2.0, 0.5), nn.Flatten(),
                          nn.Linear(48, 10), nn.ReLU6(), nn.Linear(10, 6), nn.PReLU(), nn.Linear(6, 3)).eval()
    with torch.no_grad():
        model[7].weight.mul_(5.0)
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 1, 8, 8), f, input_names=["x"], output_names=["out"],
                          dynamic_axes={"x": {0: "N"}, "out": {0: "N"}}, dynamo=False)
    (tmp_path / "exported.onnx").write_bytes(f.getvalue())
    net = preimage.load(tmp_path / "exported.onnx")
    kinds = [type(lay.activation).__name__ for lay in net.layers]
    assert kinds == ["MaxPool", "LeakyReLU", "HardTanh", "HardTanh", "LeakyReLU", "Identity"]
    X = np.random.default_rng(12).normal(size=(50, 1, 8, 8)).astype(np.float32)
    assert close(net.forward(X.reshape(50, -1).astype(np.float64)), torch_out(model, X))
    model.double()
    P = net.activation_pattern(X.reshape(50, -1))
    ref = np.hstack([branches_maxpool(torch_values(model, X, 1), (3, 3), (2, 2), (1, 1)),
                     branches_elementwise(torch_values(model, X, 2), [0.0]),
                     branches_elementwise(torch_values(model, X, 3), [-2.0, 0.5]),
                     branches_elementwise(torch_values(model, X, 6), [0.0, 6.0]),
                     branches_elementwise(torch_values(model, X, 8), [0.0])])
    assert np.array_equal(P, ref)


def test_onnx_prelu_with_equal_per_channel_slopes_is_a_leaky_relu(tmp_path):
    rng = np.random.default_rng(13)
    nodes = [helper.make_node("Conv", ["x", "K"], ["z"]), helper.make_node("PRelu", ["z", "s"], ["h"]),
             helper.make_node("Flatten", ["h"], ["out"])]
    model = make_model(nodes, {"K": rng.normal(size=(3, 1, 2, 2)), "s": np.full((3, 1, 1), 0.2)}, [1, 4, 4])
    net = load(model, tmp_path)
    assert net.layers[0].activation == LeakyReLU(float(np.float32(0.2)))
    X = rng.normal(size=(30, 1, 4, 4))
    assert_agrees(net, model, X)
    (z,) = ort_values(model, X, ["z"])
    assert np.array_equal(net.activation_pattern(X.astype(np.float32).astype(np.float64)),
                          (z > 0).reshape(30, -1))


def test_onnx_refusals(tmp_path):
    rng = np.random.default_rng(14)
    K = rng.normal(size=(3, 1, 2, 2))

    def graph(node, inits=None, outputs=("out",)):
        nodes = [helper.make_node("Conv", ["x", "K"], ["z"]), node]
        return make_model(nodes, {"K": K, **(inits or {})}, [1, 6, 6], outputs=outputs)

    bad = [
        (graph(helper.make_node("PRelu", ["z", "s"], ["out"], name="pc"),
               {"s": np.array([0.1, 0.2, 0.3])[:, None, None]}),
         r"PRelu node 'pc'.*differs between channels"),
        (graph(helper.make_node("MaxPool", ["z"], ["out"], kernel_shape=[2, 2], pads=[0, 0, 1, 1], name="mp")),
         r"MaxPool node 'mp'.*asymmetric pads \[0, 0, 1, 1\]"),
        (graph(helper.make_node("MaxPool", ["z"], ["out"], kernel_shape=[2, 2], ceil_mode=1)), "ceil_mode=1"),
        (graph(helper.make_node("MaxPool", ["z"], ["out"], kernel_shape=[2, 2], dilations=[2, 2])), "dilations"),
        (graph(helper.make_node("MaxPool", ["z"], ["out"], kernel_shape=[2, 2], storage_order=1)), "storage_order=1"),
        (graph(helper.make_node("MaxPool", ["z"], ["out", "idx"], kernel_shape=[2, 2])), "Indices"),
        (graph(helper.make_node("MaxPool", ["z"], ["out"], kernel_shape=[2, 2, 2])), "3-D kernel"),
        (graph(helper.make_node("MaxPool", ["z"], ["out"], kernel_shape=[2, 2], pads=[2, 2, 2, 2])),
         "at most half the kernel"),
    ]
    for i, (model, match) in enumerate(bad):
        with pytest.raises(UnsupportedLayerError, match=match):
            load(model, tmp_path, f"bad{i}.onnx")


def test_saved_network_keeps_its_activations(tmp_path):
    torch.manual_seed(15)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2, stride=1), nn.Hardtanh(-1.0, 0.5),
                          nn.Flatten(), nn.Linear(18, 3), nn.LeakyReLU(0.2), nn.Linear(3, 2)).eval()
    net = preimage.from_torch(model, (1, 4, 4))
    net.save(tmp_path / "n.npz")
    back = preimage.load(tmp_path / "n.npz")
    assert [lay.activation for lay in back.layers] == [lay.activation for lay in net.layers]
    X = np.random.default_rng(16).normal(size=(20, 16))
    assert np.allclose(back.forward(X), net.forward(X), rtol=1e-12, atol=1e-12)
    assert np.array_equal(back.activation_pattern(X), net.activation_pattern(X))
