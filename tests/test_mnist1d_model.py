"""The shipped MNIST-1D CNN (examples/models/mnist1d_cnn.*) against independent oracles.

Oracles: the data regenerated here with ``mnist1d.data.make_dataset()``; PyTorch (the ``.pt``
state dict loaded into an architecture written out in this file, not the script's builder);
onnxruntime (the ``.onnx`` file); hashlib (the recorded sha256). The script's one-call loaders
(``load_split``, ``load_network``, ``load_torch``) must agree with them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn

import preimage

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "examples" / "models"


@pytest.fixture(scope="module")
def tm():
    spec = importlib.util.spec_from_file_location("train_mnist1d", ROOT / "examples" / "train_mnist1d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data():
    from mnist1d.data import make_dataset

    d = make_dataset()
    return np.asarray(d["x_test"], dtype=np.float64), np.asarray(d["y_test"])


@pytest.fixture(scope="module")
def meta():
    return json.loads((MODELS / "mnist1d_cnn.json").read_text())


def torch_logits(X):
    model = nn.Sequential(nn.Conv1d(1, 2, 5), nn.ReLU(), nn.Conv1d(2, 8, 5), nn.ReLU(),
                          nn.Flatten(), nn.Linear(256, 10))
    model.load_state_dict(torch.load(MODELS / "mnist1d_cnn.pt", weights_only=True))
    with torch.no_grad():
        return model.eval()(torch.tensor(X, dtype=torch.float32).reshape(-1, 1, 40)).double().numpy()


def test_recorded_accuracy_and_hashes(data, meta):
    X, y = data
    assert meta["split"]["n_test"] == len(y) == 1000
    acc = float(np.mean(np.argmax(torch_logits(X), axis=1) == y))
    assert acc == pytest.approx(meta["test_accuracy"], abs=1e-12)
    assert acc >= 0.7
    for name, rec in meta["files"].items():
        blob = (MODELS / name).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == rec["sha256"] and len(blob) == rec["bytes"]


def test_onnx_torch_and_library_agree(tm, data):
    X = data[0][:200]
    sess = ort.InferenceSession(str(MODELS / "mnist1d_cnn.onnx"), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"x": X.astype(np.float32).reshape(-1, 1, 40)})[0].astype(np.float64)
    assert np.abs(torch_logits(X) - ref).max() < 1e-4
    net = tm.load_network()
    assert isinstance(net, preimage.Network) and net.input_dim == 40
    assert np.abs(net.forward(X) - ref).max() < 1e-4
    with torch.no_grad():
        out = tm.load_torch()(torch.tensor(X, dtype=torch.float32).reshape(-1, 1, 40)).double().numpy()
    assert np.abs(out - ref).max() < 1e-4


def test_load_split_is_make_dataset(tm, data):
    X_train, X_test, y_train, y_test = tm.load_split()
    assert X_train.shape == (4000, 40) and X_test.shape == (1000, 40)
    assert np.array_equal(X_test, data[0]) and np.array_equal(y_test, data[1])
