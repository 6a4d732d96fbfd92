"""``preimage cones``: registered on a parser built here, called like the main CLI would;
numbers checked against numpy and the models' own weights."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from preimage import InvalidInputError, Network, PreimageError
from preimage.conv.cli import register, run_cones
from test_conv_circulant import oracle_dense


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="preimage")
    sub = p.add_subparsers(dest="command", required=True)
    register(sub)
    return p


def cones(argv, capsys) -> tuple[int, str]:
    args = parser().parse_args(["cones", *argv])
    assert args.func is run_cones
    rc = args.func(args)
    return rc, capsys.readouterr().out


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def onnx_conv_model(tmp_path, kernel, bias, in_shape, pads, strides=None, name="conv.onnx"):
    """x → Conv → Relu → Flatten, saved as ONNX (float32 weights)."""
    kernel = np.asarray(kernel, dtype=np.float32)
    nd = kernel.ndim - 2
    conv = dict(pads=list(pads))
    if strides:
        conv["strides"] = list(strides)
    nodes = [
        helper.make_node("Conv", ["x", "K", "B"], ["z"], **conv),
        helper.make_node("Relu", ["z"], ["r"]),
        helper.make_node("Flatten", ["r"], ["out"], axis=1),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, None])
    inits = [numpy_helper.from_array(kernel, "K"), numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "B")]
    graph = helper.make_graph(nodes, "conv", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    assert nd in (1, 2)
    return str(path)


# -- a kernel on the command line ----------------------------------------------------------------
def test_kernel_json(capsys):
    rc, out = cones(["--kernel=1,-0.5,0.2", "--size", "16", "--bias", "-0.1", "--json"], capsys)
    assert rc == 0
    info = last_json(out)
    k = np.array([1.0, -0.5, 0.2])
    C = oracle_dense(k, 16)
    assert info["kernel_sum"] == pytest.approx(0.7)
    apex = np.array(info["apex"])
    assert apex.shape == (16,)
    np.testing.assert_allclose(C @ apex - 0.1, 0.0, atol=1e-12)  # on every hyperplane
    assert info["angle"] == pytest.approx(math.asin(0.7 / (np.linalg.norm(k) * 4.0)))
    assert info["nesting_radius"] == pytest.approx(0.1 / 0.2)  # −b / (positive off-diagonal taps)
    assert info["invertible"] is bool(np.linalg.matrix_rank(C) == 16)
    assert 0 <= info["symmetry_max_deviation"] < 1e-12


@pytest.mark.parametrize("argv, radius, apex_null, invertible", [
    (["--kernel=1,-0.5", "--size", "8", "--bias", "-0.1"], "inf", False, True),
    (["--kernel=1,-0.5", "--size", "8", "--bias", "0.5"], "never", False, True),
    (["--kernel=1,-1", "--size", "8", "--bias", "-0.5"], "inf", True, False),
])
def test_kernel_json_encodings(argv, radius, apex_null, invertible, capsys):
    rc, out = cones([*argv, "--json"], capsys)
    info = last_json(out)
    assert rc == 0 and info["nesting_radius"] == radius
    assert (info["apex"] is None) == apex_null and info["invertible"] is invertible
    if not invertible:
        assert info["smallest_eigenvalue_frequency"] == [0]


def test_kernel_2d_and_origin(capsys):
    rc, out = cones(
        ["--kernel", "1,0.5;0.25,-0.5", "--size", "4,5", "--bias", "-0.2", "--origin", "1,0", "--json"], capsys
    )
    info = last_json(out)
    assert info["shape"] == [4, 5] and info["origin"] == [1, 0]
    # diagonal tap kernel[1, 0] = 0.25: positive off-diagonal taps 1 + 0.5
    assert info["nesting_radius"] == pytest.approx(0.2 / 1.5)
    assert len(info["apex"]) == 20


def test_kernel_table(capsys):
    rc, out = cones(["--kernel=2,-1", "--size", "6", "--bias", "-1"], capsys)
    assert rc == 0
    assert "nesting radius" in out and "kernel sum a" in out and "inf" in out


@pytest.mark.parametrize("argv, match", [
    (["--kernel=1,x", "--size", "4"], "--kernel must be comma-separated numbers"),
    (["--kernel=1,2"], "give --kernel and --size"),
    (["--kernel=1,2,3", "--size", "2"], "kernel is longer than the signal"),
    (["--kernel=1,2", "--size", "4.5"], "--size must be one or two integers"),
    (["--kernel", "1,2;3", "--size", "4,4"], "equal lengths"),
    (["--kernel=nan,1", "--size", "4"], "kernel must be finite"),
    (["--kernel=1,-1", "--size", "4", "--origin", "3"], "origin must be a kernel index"),
])
def test_kernel_errors_are_preimage_errors(argv, match, capsys):
    with pytest.raises(InvalidInputError, match=match):
        cones(argv, capsys)


# -- a model ---------------------------------------------------------------------------------------
def test_model_1d_conv(tmp_path, capsys):
    k = np.array([[[0.6, 1.0, -0.3]]])
    path = onnx_conv_model(tmp_path, k, [-0.2], (1, 10), pads=[1, 1])
    rc, out = cones([path, "--json"], capsys)
    report = last_json(out)
    assert rc == 0 and report["complete"]
    (layer,) = report["layers"]
    assert layer["in_shape"] == [1, 10] and layer["square"] and layer["slices_total"] == 1
    s = layer["slices"][0]
    k32 = k.astype(np.float32).astype(np.float64).ravel()
    np.testing.assert_array_equal(s["kernel"], k32)
    assert s["origin"] == [1]  # padding 1: the centre tap sits on the diagonal
    assert s["kernel_sum"] == pytest.approx(k32.sum())
    assert s["nesting_radius"] == pytest.approx(float(np.float32(0.2)) / k32[0])  # only 0.6 is off-diagonal & positive
    assert s["apex_value"] == pytest.approx(float(np.float32(0.2)) / k32.sum())
    assert "apex" not in s
    rc, out = cones([path], capsys)
    assert rc == 0 and "nesting" in out and "0.333333" in out


def test_model_2d_multichannel_and_slice_limit(tmp_path, capsys):
    rng = np.random.default_rng(0)
    K = rng.normal(size=(3, 2, 3, 3))
    path = onnx_conv_model(tmp_path, K, [0.1, -0.2, 0.0], (2, 5, 5), pads=[1, 1, 1, 1])
    rc, out = cones([path, "--json"], capsys)
    layer = last_json(out)["layers"][0]
    assert layer["slices_total"] == 6 and len(layer["slices"]) == 6
    s = next(v for v in layer["slices"] if v["out_channel"] == 2 and v["in_channel"] == 1)
    np.testing.assert_allclose(s["kernel"], K[2, 1].astype(np.float32), rtol=0, atol=0)
    assert s["shape"] == [5, 5] and s["bias"] == 0.0 and s["nesting_radius"] in ("inf", 0.0)
    rc, out = cones([path, "--json", "--max-slices", "2"], capsys)
    report = last_json(out)
    assert report["complete"] is False and report["layers"][0]["slices_analysed"] == 2


def test_model_with_stride_is_reported_as_skipped(tmp_path, capsys):
    path = onnx_conv_model(tmp_path, np.ones((1, 1, 3)), [0.0], (1, 9), pads=[0, 0], strides=[2])
    rc, out = cones([path, "--json"], capsys)
    assert "stride" in last_json(out)["layers"][0]["skipped"]


def test_model_without_convolution(tmp_path, capsys):
    net = Network.from_arrays([(np.eye(3), np.zeros(3), True)])
    path = tmp_path / "dense.npz"
    net.save(str(path))
    with pytest.raises(InvalidInputError, match="has no convolutional layer"):
        cones([str(path), "--json"], capsys)
    with pytest.raises(PreimageError, match="either a MODEL or --kernel"):
        cones([str(path), "--kernel=1,2"], capsys)


def test_model_from_torch_matches_the_onnx_path(tmp_path):
    """The library route the CLI takes: a Conv1d imported from PyTorch carries its ConvInfo."""
    torch = pytest.importorskip("torch")
    import preimage

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten())
    net = preimage.from_torch(model.eval(), (1, 12))
    conv = net.layers[0].conv
    assert conv is not None and conv.padding == ((1, 1),)
    from preimage.conv import circulant, nesting_radius

    k = model[0].weight.detach().double().numpy().ravel()
    b = float(model[0].bias.detach().double())
    layer = circulant(conv.kernel[0, 0], 12, bias=conv.bias[0], origin=1)
    expected = -b / (max(k[0], 0) + max(k[2], 0)) if b <= 0 and max(k[0], k[2]) > 0 else None
    r = nesting_radius(layer)
    if expected is not None:
        assert r.radius == pytest.approx(expected)
    else:
        assert r.status in ("unbounded", "never")
