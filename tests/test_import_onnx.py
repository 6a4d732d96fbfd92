"""The ONNX importer against onnxruntime: all 45 ACAS Xu networks and synthetic graphs."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import preimage
from preimage import ImportMismatchError, InvalidInputError, UnsupportedLayerError


def run_ort(model_or_path, X: np.ndarray) -> np.ndarray:
    data = model_or_path.SerializeToString() if isinstance(model_or_path, onnx.ModelProto) else str(model_or_path)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: X.astype(np.float32)})[0]


def make_model(nodes, inits, in_shape, out_name="out", opset=17, out_rank=2):
    """A graph with one float input 'x' of shape (batch, *in_shape), batch symbolic."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])
    y = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [None] * out_rank)
    init = [numpy_helper.from_array(np.asarray(v, dtype=np.int64 if np.asarray(v).dtype.kind == "i" else np.float32), k)
            for k, v in inits.items()]
    graph = helper.make_graph(nodes, "test", [x], [y], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def save(model, tmp_path, name="m.onnx"):
    p = tmp_path / name
    onnx.save(model, p)
    return p


def assert_agrees(net, model, X, rtol=1e-5):
    ref = run_ort(model, X).reshape(X.shape[0], -1)
    ours = net.forward(X.reshape(X.shape[0], -1).astype(np.float32).astype(np.float64))
    scale = max(1.0, float(np.abs(ref).max()))
    assert np.abs(ours - ref).max() <= rtol * scale


# -- ACAS Xu ------------------------------------------------------------------------------------------
def test_all_45_acasxu_networks_agree_with_onnxruntime(acasxu):
    paths = sorted((acasxu / "onnx").glob("*.onnx"))
    assert len(paths) == 45
    rng = np.random.default_rng(11)
    for path in paths:
        net = preimage.load(path)
        assert net.widths == (5, 50, 50, 50, 50, 50, 50, 5) and net.num_relus == 300
        # inputs in the normalised operating range (as in the properties) and beyond it
        X = np.vstack([rng.uniform(-0.5, 0.7, size=(64, 5)), rng.normal(size=(16, 5)) * 2])
        ref = np.vstack([run_ort(path, x[None, None, None, :]).reshape(1, 5) for x in X])
        ours = net.forward(X.astype(np.float32).astype(np.float64))
        assert np.abs(ours - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max()), path.name


# -- synthetic graphs ----------------------------------------------------------------------------------
def test_gemm_with_trans_alpha_beta(tmp_path):
    rng = np.random.default_rng(0)
    W1 = rng.normal(size=(6, 4))       # stored (N, K), used transposed (transB=1)
    W2 = rng.normal(size=(6, 3))       # used as is
    nodes = [
        helper.make_node("Gemm", ["x", "W1", "b1"], ["g1"], transB=1, alpha=0.5, beta=2.0),
        helper.make_node("Relu", ["g1"], ["r1"]),
        helper.make_node("Gemm", ["r1", "W2", "b2"], ["out"], alpha=1.5, beta=-1.0),
    ]
    model = make_model(nodes, {"W1": W1, "b1": rng.normal(size=6),
                               "W2": W2, "b2": rng.normal(size=(1, 3))}, [4])
    net = preimage.load(save(model, tmp_path))
    assert net.widths == (4, 6, 3)
    assert_agrees(net, model, rng.normal(size=(50, 4)))


def test_gemm_with_transA_on_a_constant_and_data_in_b(tmp_path):
    # Y = Gemm(A=W (stored transposed), B=xᵀ) then Transpose back: samples are columns in between
    rng = np.random.default_rng(1)
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0]),
        helper.make_node("Gemm", ["Wt", "xt", "c"], ["g"], transA=1, alpha=2.0, beta=0.5),
        helper.make_node("Relu", ["g"], ["r"]),
        helper.make_node("Transpose", ["r"], ["out"], perm=[1, 0]),
    ]
    model = make_model(nodes, {"Wt": rng.normal(size=(3, 5)), "c": rng.normal(size=(5, 1))}, [3])
    net = preimage.load(save(model, tmp_path))
    assert net.widths == (3, 5)
    assert_agrees(net, model, rng.normal(size=(40, 3)))


def test_matmul_add_sub_mul_div_flatten_reshape_identity_dropout(tmp_path):
    rng = np.random.default_rng(2)
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["s"]),
        helper.make_node("Div", ["s", "std"], ["d"]),
        helper.make_node("Flatten", ["d"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "W1"], ["m1"]),
        helper.make_node("Add", ["b1", "m1"], ["a1"]),
        helper.make_node("Mul", ["a1", "k"], ["s1"]),
        helper.make_node("Relu", ["s1"], ["r1"]),
        helper.make_node("Identity", ["r1"], ["i1"]),
        helper.make_node("Dropout", ["i1"], ["do"]),
        helper.make_node("Reshape", ["do", "shape"], ["rs"]),
        helper.make_node("Flatten", ["rs"], ["f2"]),
        helper.make_node(
            "Constant", [], ["W2"], value=numpy_helper.from_array(rng.normal(size=(8, 2)).astype(np.float32))
        ),
        helper.make_node("MatMul", ["f2", "W2"], ["out"]),
    ]
    inits = {"mean": rng.normal(size=(1, 2, 3)), "std": rng.uniform(0.5, 2, size=(1, 2, 3)),
             "W1": rng.normal(size=(6, 8)), "b1": rng.normal(size=8), "k": rng.uniform(0.5, 2, size=8),
             "shape": np.array([-1, 2, 4])}
    model = make_model(nodes, inits, [2, 3])
    net = preimage.load(save(model, tmp_path))
    assert net.widths == (6, 8, 2) and net.input_shape == (2, 3)
    assert_agrees(net, model, rng.normal(size=(30, 2, 3)))


def test_conv_batchnorm_avgpool_graph(tmp_path):
    rng = np.random.default_rng(3)
    nodes = [
        helper.make_node("Conv", ["x", "K1", "c1"], ["z1"], pads=[1, 0, 1, 2], strides=[1, 2], dilations=[1, 1]),
        helper.make_node("BatchNormalization", ["z1", "g", "be", "mu", "var"], ["bn"], epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["r1"]),
        helper.make_node("Conv", ["r1", "K2"], ["z2"], group=2, auto_pad="SAME_UPPER"),
        helper.make_node("Conv", ["z2", "K3"], ["z3"], dilations=[2, 1], pads=[2, 1, 2, 1]),
        helper.make_node("AveragePool", ["z3"], ["p"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("Relu", ["p"], ["r2"]),
        helper.make_node("Flatten", ["r2"], ["f"]),
        helper.make_node("Gemm", ["f", "W", "b"], ["out"], transB=1),
    ]
    inits = {
        "K1": rng.normal(size=(4, 2, 3, 3)), "c1": rng.normal(size=4),
        "g": rng.uniform(0.5, 1.5, 4), "be": rng.normal(size=4), "mu": rng.normal(size=4),
        "var": rng.uniform(0.5, 2.0, 4),
        "K2": rng.normal(size=(4, 2, 3, 3)),
        "K3": rng.normal(size=(4, 4, 3, 3)),
    }
    # shapes: (2,7,8) -conv(pad 1/1 rows, 0/2 cols, stride 1x2)-> (4,7,4) -same-> (4,7,4) -pool-> (4,4,2)
    inits["W"] = rng.normal(size=(3, 32))
    inits["b"] = rng.normal(size=3)
    model = make_model(nodes, inits, [2, 7, 8])
    net = preimage.load(save(model, tmp_path))
    assert net.layers[0].conv is not None  # conv + batch-norm stays one convolution
    assert net.layers[0].conv.kernel.shape == (4, 2, 3, 3)
    assert_agrees(net, model, rng.normal(size=(20, 2, 7, 8)))


def test_conv1d_graph(tmp_path):
    rng = np.random.default_rng(4)
    nodes = [
        helper.make_node("Conv", ["x", "K"], ["z"], pads=[2, 1], strides=[2]),
        helper.make_node("Relu", ["z"], ["r"]),
        helper.make_node("Flatten", ["r"], ["out"]),
    ]
    model = make_model(nodes, {"K": rng.normal(size=(3, 1, 4))}, [1, 11])
    net = preimage.load(save(model, tmp_path))
    assert_agrees(net, model, rng.normal(size=(20, 1, 11)))


def test_unsqueeze_squeeze_and_constant_folding(tmp_path):
    rng = np.random.default_rng(5)
    nodes = [
        helper.make_node("Unsqueeze", ["x", "ax"], ["u"]),
        helper.make_node("Squeeze", ["u", "ax"], ["sq"]),
        helper.make_node("Mul", ["two", "three"], ["six"]),
        helper.make_node("Mul", ["sq", "six"], ["out"]),
    ]
    model = make_model(nodes, {"two": np.array(2.0), "three": np.array(3.0), "ax": np.array([2])}, [4])
    net = preimage.load(save(model, tmp_path))
    X = rng.normal(size=(5, 4))
    assert np.allclose(net.forward(X), 6 * X)
    assert_agrees(net, model, X)


# -- refusals -----------------------------------------------------------------------------------------------
def test_unsupported_op_names_op_and_node(tmp_path):
    nodes = [helper.make_node("Sigmoid", ["x"], ["out"], name="my_sigmoid")]
    model = make_model(nodes, {}, [3])
    with pytest.raises(UnsupportedLayerError, match=r"Sigmoid.*my_sigmoid"):
        preimage.load(save(model, tmp_path))


def test_residual_connection_is_refused(tmp_path):
    rng = np.random.default_rng(6)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["m"]),
        helper.make_node("Relu", ["m"], ["r"]),
        helper.make_node("MatMul", ["r", "W"], ["m2"]),
        helper.make_node("Add", ["m2", "x"], ["out"], name="skip"),
    ]
    model = make_model(nodes, {"W": rng.normal(size=(3, 3))}, [3])
    with pytest.raises(UnsupportedLayerError, match="skip"):
        preimage.load(save(model, tmp_path))


def test_truncated_and_non_onnx_files(tmp_path, acasxu):
    good = (acasxu / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx").read_bytes()
    trunc = tmp_path / "trunc.onnx"
    trunc.write_bytes(good[: len(good) // 2])
    with pytest.raises(InvalidInputError, match="trunc.onnx"):
        preimage.load(trunc)
    text = tmp_path / "text.onnx"
    text.write_text("this is not a model")
    with pytest.raises(InvalidInputError, match="ONNX"):
        preimage.load(text)
    with pytest.raises(InvalidInputError, match="does not exist"):
        preimage.load(tmp_path / "missing.onnx")


def test_mismatch_with_onnxruntime_is_refused(tmp_path, monkeypatch):
    """Break the importer's MatMul on purpose: the onnxruntime check must catch it."""
    from preimage.network import from_onnx

    rng = np.random.default_rng(7)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Relu", ["m"], ["out"])]
    model = make_model(nodes, {"W": rng.normal(size=(3, 4))}, [3])
    path = save(model, tmp_path)
    original = from_onnx._matmul

    def wrong_matmul(ins, label, builder):
        ins = [ins[0], np.asarray(ins[1]) * 1.01]
        return original(ins, label, builder)

    monkeypatch.setattr(from_onnx, "_matmul", wrong_matmul)
    with pytest.raises(ImportMismatchError, match="disagrees with onnxruntime"):
        preimage.load(path)


def test_nan_weights_are_refused(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Relu", ["m"], ["out"])]
    model = make_model(nodes, {"W": np.array([[1.0, np.nan], [0.0, 1.0]])}, [2])
    with pytest.raises(InvalidInputError, match="finite"):
        preimage.load(save(model, tmp_path))
