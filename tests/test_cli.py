"""The command line, called as ``main([...])``; numbers checked against the library and numpy."""

from __future__ import annotations

import json

import numpy as np
import pytest

import preimage
from preimage.cli import main


def last_json(capsys) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


@pytest.fixture(scope="module")
def acas_model(acasxu):
    return str(acasxu / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx")


def test_info_json(acas_model, capsys):
    assert main(["info", acas_model, "--json"]) == 0
    info = last_json(capsys)
    assert info["relus"] == 300 and info["widths"] == [5, 50, 50, 50, 50, 50, 50, 5]
    assert info["layers"][1]["relu"] is True and info["layers"][7]["relu"] is False


def test_info_table(acas_model, capsys):
    assert main(["info", acas_model]) == 0
    assert "300 ReLUs" in capsys.readouterr().out


def test_dual_basis_json_from_weights(tmp_path, capsys):
    W = np.array([[2.0, 1.0], [0.0, 1.0]])
    np.save(tmp_path / "W.npy", W)
    np.save(tmp_path / "b.npy", np.array([1.0, -1.0]))
    out = tmp_path / "db.npz"
    assert main(["dual-basis", "--weights", str(tmp_path / "W.npy"), "--bias", str(tmp_path / "b.npy"),
                 "--out", str(out), "--json"]) == 0
    res = last_json(capsys)
    E = np.array(res["vectors"])
    assert np.allclose(W @ E, np.eye(2))
    assert np.allclose(W @ np.array(res["apex"]) + [1.0, -1.0], 0.0)
    assert np.allclose(np.load(out)["vectors"], E)


def test_layer_preimage_of_a_real_input(acas_model, tmp_path, capsys):
    x = "0.6,0.1,-0.1,0.47,-0.47"
    out = tmp_path / "p.npz"
    assert main(["layer-preimage", acas_model, "--layer", "3", "--input", x, "--out", str(out), "--json"]) == 0
    res = last_json(capsys)
    assert res["contains_given_input"] is True and res["domain"] == "orthant"
    net = preimage.load(acas_model)
    y3 = net.activations(np.array([0.6, 0.1, -0.1, 0.47, -0.47]), layer=3)
    assert res["zero_outputs"] == int(np.sum(y3 == 0))
    # the saved polyhedron reproduces y3 on its samples (independent numpy forward pass)
    P = preimage.load_geometry(out)
    lay = net.layers[2]
    h = P.intersect(preimage.Box(np.zeros(50), np.full(50, 50.0))).sample(50, seed=0)
    assert np.abs(np.maximum(h @ lay.dense_weight.T + lay.bias, 0) - y3).max() < 1e-8


def test_errors_exit_2_with_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_text("garbage")
    assert main(["info", str(bad)]) == 2
    assert "not a readable ONNX model" in capsys.readouterr().err
    assert main(["layer-preimage", "--weights", str(tmp_path / "nope.npy")]) == 2
    assert "does not exist" in capsys.readouterr().err
    W = tmp_path / "W.npy"
    np.save(W, np.eye(2))
    assert main(["layer-preimage", "--weights", str(W), "--activity", "1,-1"]) == 2
    assert "non-negative" in capsys.readouterr().err
