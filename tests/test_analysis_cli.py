"""``preimage mixing`` and ``preimage invert``: registered on a parser built here, called like
the main command line would; answers checked against the library and forward passes."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

import preimage
from preimage import InvalidInputError
from preimage.analysis.cli import register, run_invert, run_mixing
from test_analysis_mixing import MODELS, oracle_activations

MLP = str(MODELS / "digits_mlp.onnx")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="preimage")
    sub = p.add_subparsers(dest="command", required=True)
    register(sub)
    return p


def call(argv, capsys) -> tuple[int, str]:
    args = parser().parse_args(argv)
    assert args.func is {"mixing": run_mixing, "invert": run_invert}[argv[0]]
    rc = args.func(args)
    return rc, capsys.readouterr().out


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_mixing_json_on_an_npz_data_set(tmp_path, capsys):
    net = preimage.Network.from_arrays([(np.array([[1.0, -1.0]]), np.array([-0.5]), True),
                                        (np.array([[2.0]]), np.array([0.1]), False)])
    net.save(tmp_path / "net.npz")
    np.savez(tmp_path / "data.npz", X=np.array([[0.1, 0.9], [0.3, 0.2], [0.9, 0.1], [0.95, 0.0]]),
             y=np.array([0, 1, 1, 0]))
    rc, out = call(["mixing", str(tmp_path / "net.npz"), "--data", str(tmp_path / "data.npz"), "--json",
                    "--plot", str(tmp_path / "h.png")], capsys)
    assert rc == 0
    d = last_json(out)
    assert d["n"] == 4 and [r["layer"] for r in d["table"]] == [1, 2]
    assert d["layers"][0]["cross_pairs"] == [[0, 1]] and d["layers"][0]["dims"] == [2, 2, 1, 1]
    assert d["plot"] == str(tmp_path / "h.png") and (tmp_path / "h.png").stat().st_size > 0


def test_mixing_table_on_the_digits(capsys):
    rc, out = call(["mixing", MLP, "--n", "15", "--no-distances"], capsys)
    assert rc == 0
    assert "class mixing" in out and "mixed pairs" in out and "dim median" in out
    rc, out = call(["mixing", MLP, "--n", "12", "--layers", "3", "--json"], capsys)
    d = last_json(out)
    assert d["n"] == 12 and [r["layer"] for r in d["table"]] == [3]
    assert all(v is not None and v > 0 for v in d["layers"][0]["distances"])


def test_invert_json_and_picture(tmp_path, capsys):
    out_png = tmp_path / "grid.png"
    rc, out = call(["invert", MLP, "--index", "7", "--layer", "2", "--out", str(out_png), "--timeout", "0.5",
                    "--steps", "60", "--json"], capsys)
    assert rc == 0 and out_png.stat().st_size > 0
    d = last_json(out)
    assert d["index"] == 7 and d["picture"] == str(out_png) and d["reference"].startswith("mean")
    (row,) = d["table"]
    assert row["layer"] == 2 and row["exact_activity_error"] <= 1e-6
    X, _ = preimage.analysis.load_data("digits", "test")
    net = preimage.load(MLP)
    x_star = np.array(d["exact"][0]["x"])
    err = np.abs(oracle_activations(net, x_star[None], 2) - oracle_activations(net, X[7:8], 2)).max()
    assert err <= 1e-6
    rc, out = call(["invert", MLP, "--index", "0", "--layer", "1", "--regulariser", "tv", "--steps", "20",
                    "--timeout", "0.5"], capsys)
    assert rc == 0 and "regulariser tv" in out and "exact: activity error" in out


def test_bad_inputs(tmp_path, capsys):
    with pytest.raises(InvalidInputError, match="--index must be an integer between 0 and 449"):
        call(["invert", MLP, "--index", "450", "--layer", "1"], capsys)
    with pytest.raises(InvalidInputError, match="layer must be an integer between 1 and 3"):
        call(["invert", MLP, "--index", "0", "--layer", "4"], capsys)
    with pytest.raises(InvalidInputError, match="--regulariser must be one of"):
        call(["invert", MLP, "--index", "0", "--layer", "1", "--regulariser", "l1"], capsys)
    small = preimage.Network.from_arrays([(np.eye(3), np.zeros(3), True)])
    small.save(tmp_path / "small.npz")
    with pytest.raises(InvalidInputError, match="width 64, but the model takes inputs of width 3"):
        call(["mixing", str(tmp_path / "small.npz")], capsys)
    with pytest.raises(InvalidInputError, match="width 64, but the model takes inputs of width 3"):
        call(["invert", str(tmp_path / "small.npz"), "--index", "0", "--layer", "1"], capsys)
    with pytest.raises(SystemExit) as exc:  # refused by the parser, before the model is loaded
        call(["mixing", MLP, "--n", "-1"], capsys)
    assert exc.value.code == 2 and "argument --n: must be an integer >= 0" in capsys.readouterr().err
    with pytest.raises(InvalidInputError, match="data must be one of"):
        call(["mixing", MLP, "--data", "mnist"], capsys)
