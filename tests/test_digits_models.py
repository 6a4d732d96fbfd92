"""The shipped digits models (examples/models/) against independent oracles, and their training script.

Oracles: scikit-learn (the data and the split, recomputed here), PyTorch (the ``.pt`` state
dicts in the architectures of ``examples/train_digits.py``) and onnxruntime (the ``.onnx``
files). The library's importers (``preimage.load``, ``preimage.from_torch``) must agree with
both. A last test trains a tiny MLP through the script's own code path, in about a second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import preimage

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "train_digits.py"
MODELS = ROOT / "examples" / "models"
SHAPES = {"mlp": (64,), "cnn": (1, 8, 8)}
TOL = 1e-4  # float32 logits of order 10: onnxruntime and PyTorch sum in different orders


def _import_script():
    spec = importlib.util.spec_from_file_location("train_digits", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def td():
    return _import_script()


@pytest.fixture(scope="module")
def meta():
    return json.loads((MODELS / "digits_models.json").read_text())


@pytest.fixture(scope="module")
def split():
    """The split, recomputed here from scikit-learn (not through the script)."""
    d = load_digits()
    X, y = d.data / 16.0, d.target
    idx = np.arange(len(y))
    i_tr, i_te = train_test_split(idx, test_size=0.25, random_state=0, stratify=y)
    return X[i_tr], X[i_te], y[i_tr], y[i_te], i_te


@pytest.fixture
def torch_state():
    """The script sets torch's global determinism, threads and seed; restore them afterwards."""
    det, threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    with torch.random.fork_rng():
        yield
    torch.use_deterministic_algorithms(det)
    torch.set_num_threads(threads)


def ort_logits(path, X, shape):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.asarray(X, dtype=np.float32).reshape((-1, *shape))
    return sess.run(None, {sess.get_inputs()[0].name: x})[0].astype(np.float64)


def torch_model(td, name):
    model = td.BUILDERS[name]()
    model.load_state_dict(torch.load(MODELS / f"digits_{name}.pt", weights_only=True))
    return model.eval()


def torch_logits(model, X, shape):
    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(X, dtype=np.float32).reshape((-1, *shape)))).double().numpy()


def acc(scores, y):
    return float(np.mean(np.argmax(scores, axis=1) == y))


# -- the data and the metadata ----------------------------------------------------------------------
def test_load_split_is_the_documented_split(td, split, meta):
    X_train, X_test, y_train, y_test = td.load_split()
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert X_train.dtype == X_test.dtype == np.float64
    assert X_train.min() >= 0.0 and X_test.max() <= 1.0
    np.testing.assert_array_equal(X_test, split[1])
    np.testing.assert_array_equal(y_test, split[3])
    np.testing.assert_array_equal(X_train, split[0])
    assert meta["split"]["test_indices"] == split[4].tolist()
    # stratified: every class keeps its share (±1 image)
    counts = np.bincount(load_digits().target)
    assert np.all(np.abs(np.bincount(y_test) - counts * 0.25) <= 1)


def test_shipped_files_match_their_recorded_sha256(meta):
    for name, m in meta["models"].items():
        assert set(m["files"]) == {f"digits_{name}.onnx", f"digits_{name}.pt"}
        for fname, info in m["files"].items():
            data = (MODELS / fname).read_bytes()
            assert hashlib.sha256(data).hexdigest() == info["sha256"], fname
            assert len(data) == info["bytes"]


# -- the shipped models -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_onnx_and_pytorch_files_agree_and_are_accurate(td, split, meta, name):
    _, X_test, _, y_test, _ = split
    shape = SHAPES[name]
    path = MODELS / f"digits_{name}.onnx"
    model = onnx.load(path)
    onnx.checker.check_model(model)
    assert {n.op_type for n in model.graph.node} <= {"Gemm", "MatMul", "Add", "Relu", "Flatten", "Conv"}
    assert not model.graph.input[0].type.tensor_type.shape.dim[0].HasField("dim_value")  # symbolic batch

    a = ort_logits(path, X_test, shape)
    b = torch_logits(torch_model(td, name), X_test, shape)
    assert np.abs(a - b).max() < TOL
    np.testing.assert_array_equal(a.argmax(1), b.argmax(1))
    assert acc(a, y_test) >= 0.95 and acc(b, y_test) >= 0.95
    assert acc(b, y_test) == pytest.approx(meta["models"][name]["test_accuracy"], abs=1e-12)
    assert meta["models"][name]["input_shape"] == list(shape)


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_preimage_importers_agree_with_both(td, split, name):
    _, X_test, _, y_test, _ = split
    shape = SHAPES[name]
    ref_ort = ort_logits(MODELS / f"digits_{name}.onnx", X_test, shape)
    module = torch_model(td, name)
    ref_torch = torch_logits(module, X_test, shape)

    net_onnx = preimage.load(MODELS / f"digits_{name}.onnx")  # checks itself against onnxruntime
    net_torch = preimage.from_torch(module, shape)  # checks itself against the module
    assert net_onnx.widths[0] == 64 and net_onnx.widths[-1] == 10
    assert net_onnx.widths == net_torch.widths
    for net in (net_onnx, net_torch):
        out = net.forward(X_test)
        assert np.abs(out - ref_ort).max() < TOL and np.abs(out - ref_torch).max() < TOL
        np.testing.assert_array_equal(out.argmax(1), ref_torch.argmax(1))
        assert acc(out, y_test) == acc(ref_torch, y_test)
    if name == "mlp":
        assert net_onnx.widths == (64, 32, 16, 10)


# -- the training code path -------------------------------------------------------------------------
def test_training_code_path_runs_and_is_deterministic(td, split, torch_state, tmp_path):
    X_train, X_test, y_train, y_test, _ = split

    def fit():
        td.set_determinism(0)
        model = td.build_mlp(hidden=(16, 8))
        return td.train(model, X_train, y_train, (64,), epochs=100, lr=1e-2, batch_size=None, seed=0)

    m1, m2 = fit(), fit()
    for p, q in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(p, q)
    scores = torch_logits(m1, X_test, (64,))
    assert acc(scores, y_test) > 0.85  # 100 full-batch steps of a 64-16-8-10 MLP: ~93%

    # both ONNX writers (torch's exporter and the hand-built graph) reproduce the model
    for data in (td.export_onnx(m1, (64,)), td.build_onnx(m1, (64,)).SerializeToString()):
        path = tmp_path / "tiny.onnx"
        path.write_bytes(data)
        assert np.abs(ort_logits(path, X_test, (64,)) - scores).max() < TOL
        assert np.abs(preimage.load(path).forward(X_test) - scores).max() < TOL


def test_export_falls_back_to_the_hand_built_graph(td, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("exporter unavailable")

    module = torch_model(td, "mlp")
    monkeypatch.setattr(torch.onnx, "export", broken)
    model = onnx.load_from_string(td.export_onnx(module, (64,)))
    assert "onnx.helper" in capsys.readouterr().out
    assert [n.op_type for n in model.graph.node] == ["Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm"]


def test_hand_built_onnx_matches_the_shipped_cnn(td, split):
    _, X_test, _, _, _ = split
    module = torch_model(td, "cnn")
    model = td.build_onnx(module, (1, 8, 8))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a = sess.run(None, {"x": X_test.astype(np.float32).reshape(-1, 1, 8, 8)})[0]
    assert np.abs(a - torch_logits(module, X_test, (1, 8, 8))).max() < TOL


def test_main_writes_models_and_metadata(td, torch_state, tmp_path, monkeypatch):
    """The script end to end, with a few epochs (the accuracy bar lowered accordingly)."""
    monkeypatch.setitem(td.CONFIGS, "mlp", {**td.CONFIGS["mlp"], "epochs": 3})
    monkeypatch.setitem(td.CONFIGS, "cnn", {**td.CONFIGS["cnn"], "epochs": 2})
    monkeypatch.setattr(td, "MIN_ACCURACY", 0.0)
    assert td.main(["--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "digits_models.json").read_text())
    for name in ("mlp", "cnn"):
        for fname, info in meta["models"][name]["files"].items():
            assert hashlib.sha256((tmp_path / fname).read_bytes()).hexdigest() == info["sha256"]
    monkeypatch.setattr(td, "MIN_ACCURACY", 1.01)  # an unreachable bar makes the script fail
    assert td.main(["--out", str(tmp_path)]) == 1
