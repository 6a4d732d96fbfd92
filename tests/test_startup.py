"""Start-up: the ONNX import check's cached onnxruntime outputs, and what the CLI imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import preimage
from preimage import ImportMismatchError
from preimage.network import from_onnx


def _model(folder, scale=1.0):
    """A MatMul + Relu model with batch dimension 'N', saved as ``folder/m.onnx``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    W = (scale * np.random.default_rng(3).normal(size=(3, 4))).astype(np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, None])
    nodes = [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Relu", ["m"], ["out"])]
    graph = helper.make_graph(nodes, "test", [x], [y], [numpy_helper.from_array(W, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, folder / "m.onnx")
    return folder / "m.onnx"


def test_cached_reference_is_used_and_still_checked(tmp_path, monkeypatch):
    """The second load reads onnxruntime's outputs from the cache (onnxruntime is not run),
    and the converted network is still compared with them: a broken converter is refused."""
    monkeypatch.setenv("PREIMAGE_CACHE_DIR", str(tmp_path / "cache"))
    path = _model(tmp_path)
    net = preimage.load(path)
    entries = list((tmp_path / "cache" / "onnxruntime-refs").iterdir())
    assert len(entries) == 1

    def no_ort(*args, **kwargs):
        raise AssertionError("onnxruntime ran although its outputs are cached")

    monkeypatch.setattr(from_onnx, "_run_onnxruntime", no_ort)
    again = preimage.load(path)
    X = np.random.default_rng(0).normal(size=(5, 3))
    assert np.array_equal(net.forward(X), again.forward(X))

    original = from_onnx._matmul

    def wrong_matmul(ins, label, builder):
        return original([ins[0], np.asarray(ins[1]) * 1.01], label, builder)

    monkeypatch.setattr(from_onnx, "_matmul", wrong_matmul)
    with pytest.raises(ImportMismatchError, match="disagrees with onnxruntime"):
        preimage.load(path)


def test_cache_key_follows_the_file_and_can_be_disabled(tmp_path, monkeypatch):
    monkeypatch.setenv("PREIMAGE_CACHE_DIR", str(tmp_path / "cache"))
    a = _model(tmp_path / "a")
    b = _model(tmp_path / "b", scale=2.0)
    preimage.load(a)
    preimage.load(b)
    assert len(list((tmp_path / "cache" / "onnxruntime-refs").iterdir())) == 2
    # a damaged entry is recomputed, not trusted
    for entry in (tmp_path / "cache" / "onnxruntime-refs").iterdir():
        entry.write_bytes(b"garbage")
    preimage.load(a)
    monkeypatch.setenv("PREIMAGE_CACHE_DIR", "off")
    assert from_onnx._cache_dir() is None
    preimage.load(a)


def test_reach_imports_only_what_it_needs(tmp_path):
    """``preimage reach --json`` on an ONNX model (onnxruntime outputs cached by a first run)
    imports neither onnxruntime nor rich, dask, torch, matplotlib, plotly, scipy.sparse (nor
    scipy.linalg, with the fast kernel loader), nor the conv and plotting packages' submodules."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    model = os.path.join(root, "benchmarks", "acasxu", "onnx", "ACASXU_run2a_1_1_batch_2000.onnx")
    spec = os.path.join(root, "benchmarks", "acasxu", "vnnlib", "prop_1.vnnlib")
    if not os.path.exists(model):
        pytest.skip("the ACAS Xu benchmark is missing")
    script = (
        "import sys, json\n"
        "from preimage.cli import main\n"
        f"code = main(['reach', {model!r}, {spec!r}, '--json'])\n"
        "heavy = ['onnxruntime', 'rich', 'dask', 'distributed', 'torch', 'matplotlib', 'plotly', 'scipy.sparse',\n"
        "         'preimage.conv.cells', 'preimage.plotting.contraction']\n"
        "from preimage.engine import kernels\n"
        "if kernels._fast_load_enabled():\n"
        "    heavy.append('scipy.linalg')  # only numba's compiler set-up imports it\n"
        "print(json.dumps({'code': code, 'loaded': [m for m in heavy if m in sys.modules]}))\n"
    )
    env = dict(os.environ, PREIMAGE_CACHE_DIR=str(tmp_path / "cache"))
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[0])["status"] == "unsat"
    assert "onnxruntime" in json.loads(first.stdout.splitlines()[-1])["loaded"]  # computed once
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.splitlines()[-1]) == {"code": 0, "loaded": []}
