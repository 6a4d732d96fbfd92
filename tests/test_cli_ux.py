"""Command-line polish: negative numbers as values, help for every positional, clear errors
(exit 2, before any work) for bad inputs, missing optional dependencies naming their extra,
progress on stderr for the long analysis commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest

import preimage
from preimage import MissingDependencyError, PreimageError
from preimage._cli_common import ProgressBar, progress_wanted
from preimage.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
ACAS = str(ROOT / "benchmarks" / "acasxu" / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx")
MLP = str(ROOT / "examples" / "models" / "digits_mlp.onnx")
X5 = "0.1,0.1,0.1,0.1,0.1"


# -- negative numbers ------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, dest, value", [
    (["regions", "M", "--box", "-1,1"], "box", "-1,1"),
    (["regions", "M", "--box", "-0.1,0.1"], "box", "-0.1,0.1"),
    (["regions", "M", "--box", "-1:1", "--json"], "box", "-1:1"),
    (["regions", "M", "--box", "-1e-3,2E-3"], "box", "-1e-3,2E-3"),
    (["activity", "M", "--layer", "1", "--input", "-0.5,0.1,-1,0,2", "--box", "-2,2"], "input", "-0.5,0.1,-1,0,2"),
    (["dual-basis", "--weights", "W.npy", "--activity", "-1,2"], "activity", "-1,2"),
    (["layer-preimage", "M", "--input", "-.5,1"], "input", "-.5,1"),
    (["cones", "--kernel", "-1,0.5,0.2", "--size", "8"], "kernel", "-1,0.5,0.2"),
    (["cones", "--kernel", "-1,0.5;0.25,-0", "--size", "8,8"], "kernel", "-1,0.5;0.25,-0"),
    (["cones", "--kernel", "1,2", "--size", "8", "--bias", "-1e-3"], "bias", -1e-3),
    (["cones", "--kernel", "1,2", "--size", "8", "--origin", "-1"], "origin", "-1"),
])
def test_negative_numbers_are_values(argv, dest, value):
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == value


def test_unknown_options_are_still_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["regions", "M", "--box", "-1,1", "-x"])
    assert exc.value.code == 2 and "unrecognized arguments: -x" in capsys.readouterr().err


def test_negative_box_runs_end_to_end(capsys):
    assert main(["regions", ACAS, "--box", "-0.01,0.01", "--max-pieces", "1", "--json"]) == 3  # budget stop
    assert '"pieces": 1' in capsys.readouterr().out


# -- help --------------------------------------------------------------------------------------------
def test_every_positional_and_option_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {a.dest}" for name, p in sub.choices.items() for a in p._actions
               if not isinstance(a, argparse._HelpAction) and not a.help]
    assert not missing, missing


# -- bad inputs: exit 2 before any work ---------------------------------------------------------------
@pytest.mark.parametrize("extra, message", [
    (["--timeout", "-5"], "argument --timeout: must be a positive number of seconds (or inf for no limit), got '-5'"),
    (["--timeout", "nan"], "got 'nan'"),
    (["--timeout", "0"], "got '0'"),
    (["--timeout", "soon"], "got 'soon'"),
    (["--workers", "0"], "argument --workers: must be a positive integer, got '0'"),
    (["--max-pieces", "0"], "argument --max-pieces: must be a positive integer, got '0'"),
    (["--max-pieces", "-3"], "got '-3'"),
    (["--out", "/nonexistent/dir/x.npz"], "the directory '/nonexistent/dir' does not exist"),
])
def test_bad_engine_options_exit_2(extra, message, capsys, monkeypatch):
    monkeypatch.setattr(preimage.cli, "_load_network", lambda m: pytest.fail("work started"))
    with pytest.raises(SystemExit) as exc:
        main(["regions", ACAS, "--box", "-1,1", *extra])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_timeout_inf_means_no_limit():
    assert build_parser().parse_args(["reach", "M", "S", "--timeout", "inf"]).timeout is None
    assert build_parser().parse_args(["reach", "M", "S", "--timeout", "2.5"]).timeout == 2.5


@pytest.mark.parametrize("argv, message", [
    (["invert", MLP, "--index", "0", "--out", "/nonexistent/dir/x.png"], "does not exist"),
    (["invert", MLP, "--index", "0", "--timeout", "-1"], "argument --timeout"),
    (["invert", MLP, "--index", "0", "--max-pieces", "0"], "argument --max-pieces"),
    (["mixing", MLP, "--plot", "/nonexistent/dir/h.png"], "does not exist"),
    (["figures", "--out", __file__], "must be a directory"),
    (["cones", MLP, "--max-slices", "0"], "argument --max-slices"),
    (["layer-preimage", ACAS, "--input", X5, "--out", "/nonexistent/p.npz"], "does not exist"),
])
def test_bad_options_of_other_commands_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_activity_input_outside_its_domain(capsys):
    assert main(["activity", ACAS, "--input", X5, "--layer", "1", "--box", "0.5,0.6"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--input lies outside the domain (--box 0.5,0.6)" in err and "--domain" in err and "--radius" in err


def test_input_shape_reported_as_given(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((2, 5)))
    for cmd in (["activity", ACAS, "--layer", "1"], ["layer-preimage", ACAS]):
        assert main([*cmd, "--input", str(tmp_path / "x.npy")]) == 2
        err = capsys.readouterr().err
        assert "--input has shape (2, 5) (10 numbers)" in err and "(1, 1, 5) (5 numbers)" in err
    np.save(tmp_path / "x1.npy", np.full((1, 5), 0.1))  # any shape with the right number of entries
    assert main(["layer-preimage", ACAS, "--input", str(tmp_path / "x1.npy"), "--json"]) == 0


def test_dual_basis_says_whose_apex(tmp_path, capsys):
    np.save(tmp_path / "W.npy", np.array([[1.0, 1.0], [0.0, 1.0]]))
    np.save(tmp_path / "b.npy", np.array([0.0, -1.0]))
    base = ["dual-basis", "--weights", str(tmp_path / "W.npy"), "--bias", str(tmp_path / "b.npy")]
    assert main([*base, "--input", "2,3"]) == 0
    assert "the apex for the activity y of --input" in capsys.readouterr().out
    assert main([*base]) == 0
    assert "common point of the layer's hyperplanes" in capsys.readouterr().out


# -- missing optional dependencies --------------------------------------------------------------------
@pytest.fixture
def hide(monkeypatch):
    """``hide("sklearn")``: importing it (or any submodule) raises ImportError."""

    def _hide(name: str) -> None:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.setitem(sys.modules, mod, None)
        monkeypatch.setitem(sys.modules, name, None)

    return _hide


def _one_line_naming(capsys, extra: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"pip install 'preimage[{extra}]'" in err
    return err


def test_figures_without_matplotlib(hide, tmp_path, capsys):
    hide("matplotlib")
    assert main(["figures", "--out", str(tmp_path), "--only", "paper002_fig1", "--formats", "png"]) == 2
    assert "needs matplotlib" in _one_line_naming(capsys, "plot")


def test_mixing_and_invert_without_scikit_learn(hide, capsys):
    hide("sklearn")
    assert main(["mixing", MLP, "--n", "3"]) == 2
    assert "needs scikit-learn" in _one_line_naming(capsys, "analysis")
    assert main(["invert", MLP, "--index", "0", "--layer", "1", "--reference", "zero"]) == 2
    _one_line_naming(capsys, "analysis")


def test_from_torch_without_torch(hide):
    hide("torch")
    with pytest.raises(MissingDependencyError, match=r"from_torch needs torch.*pip install 'preimage\[torch\]'") as exc:
        preimage.from_torch(object(), (5,))
    assert isinstance(exc.value, ImportError) and isinstance(exc.value, PreimageError)


# -- progress -------------------------------------------------------------------------------------------
def test_progress_wanted(monkeypatch):
    monkeypatch.setenv("PREIMAGE_PROGRESS", "1")
    assert progress_wanted(False) and not progress_wanted(True)
    monkeypatch.delenv("PREIMAGE_PROGRESS")
    assert not progress_wanted(False)  # stderr is not a terminal under pytest


@pytest.mark.parametrize("argv", [
    ["mixing", MLP, "--n", "4", "--no-distances", "--layers", "1"],
    ["invert", MLP, "--index", "0", "--layer", "3", "--steps", "3", "--timeout", "2", "--max-pieces", "1",
     "--reference", "zero"],
])
def test_progress_of_mixing_and_invert(argv, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(ProgressBar, "update", lambda self, *a: calls.append((self.enabled, a)))
    monkeypatch.setenv("PREIMAGE_PROGRESS", "1")
    assert main(argv) == 0
    assert calls and all(enabled for enabled, _ in calls)
    done, total = calls[-1][1][1:]
    assert done == total
    calls.clear()
    assert main([*argv, "--json"]) == 0  # --json (and --quiet) silence it
    assert calls and not any(enabled for enabled, _ in calls)
    capsys.readouterr()
