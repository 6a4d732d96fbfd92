"""``--json``: stdout belongs to the user. Every subcommand, run as a subprocess, writes exactly
one JSON document to stdout (parsed whole with ``json.loads``) and no solver or library banner
to stdout or stderr (HiGHS >= 1.16 prints "Running HiGHS ..." when its first model is built)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ACAS = ROOT / "benchmarks" / "acasxu" / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx"
SPEC = ROOT / "benchmarks" / "acasxu" / "vnnlib" / "prop_4.vnnlib"
DIGITS = ROOT / "examples" / "models" / "digits_mlp.onnx"
X5 = "0.1,0.1,0.1,0.1,0.1"
BANNERS = ("HiGHS", "Copyright", "THIRD_PARTY", "licence")


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("PREIMAGE_PROGRESS", None)
    return subprocess.run([sys.executable, "-m", "preimage", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def _one_document(proc: subprocess.CompletedProcess) -> dict:
    for banner in BANNERS:
        assert banner not in proc.stdout, f"banner on stdout: {proc.stdout[:300]!r}"
        assert banner not in proc.stderr, f"banner on stderr: {proc.stderr[:300]!r}"
    doc = json.loads(proc.stdout)  # the whole of stdout: exactly one JSON document
    assert isinstance(doc, dict)
    assert proc.stdout.count("\n") == 1 and proc.stdout.endswith("\n")
    return doc


@pytest.fixture(scope="module")
def layer_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("layer")
    np.save(d / "W.npy", np.array([[1.0, -1.0, 0.5], [0.0, 1.0, 2.0]]))
    np.save(d / "b.npy", np.array([0.1, -0.2]))
    return d


CASES = {
    "info": lambda d: ["info", ACAS],
    "dual-basis": lambda d: ["dual-basis", "--weights", d / "W.npy", "--bias", d / "b.npy", "--input", "1,2,-3"],
    "layer-preimage": lambda d: ["layer-preimage", ACAS, "--layer", "1", "--input", X5],
    "reach": lambda d: ["reach", ACAS, SPEC, "--timeout", "60"],
    "activity": lambda d: ["activity", ACAS, "--input", X5, "--layer", "1", "--radius", "0.05", "--max-pieces", "3"],
    "regions": lambda d: ["regions", ACAS, "--box", "-0.01,0.01", "--max-pieces", "3", "--dims"],
    "cones": lambda d: ["cones", "--kernel", "-1,0.5,0.2", "--size", "8", "--bias", "-0.1"],
    "figures": lambda d: ["figures", "--out", d / "figs", "--only", "paper002_fig1", "--formats", "png"],
    "mixing": lambda d: ["mixing", DIGITS, "--n", "6", "--no-distances"],
    "invert": lambda d: ["invert", DIGITS, "--index", "0", "--layer", "3", "--steps", "5", "--timeout", "2",
                         "--max-pieces", "1", "--regulariser", "l2", "--reference", "zero"],
}


@pytest.mark.parametrize("command", list(CASES))
def test_every_subcommand_writes_one_json_document(command, layer_files, tmp_path):
    args = CASES[command](tmp_path if command == "figures" else layer_files)
    proc = run_cli(*args, "--json")
    # 1: a figure's numerical check failed; 3: stopped by --max-pieces (resumable)
    assert proc.returncode in (0, 1, 3), proc.stderr[-2000:]
    doc = _one_document(proc)
    if command == "dual-basis":
        assert "--input" in doc["apex_for"] and doc["activity"] is not None


def test_resume_writes_one_json_document(tmp_path):
    out = tmp_path / "r.npz"
    first = run_cli("regions", ACAS, "--box", "-0.01,0.01", "--max-pieces", "2", "--out", out, "--json")
    assert first.returncode == 3, first.stderr[-2000:]  # stopped by its budget, resumable
    assert _one_document(first)["complete"] is False
    proc = run_cli("resume", out, "--timeout", "30", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    _one_document(proc)


def test_first_highs_model_prints_nothing(capfd, monkeypatch):
    """A HiGHS that prints its banner from native code at construction (as 1.16 does) is silenced."""
    import types

    from preimage.polyhedra import solver

    class NoisyHighs:
        def __init__(self):
            os.write(1, b"Running HiGHS 9.9.9: Copyright (c) under MIT licence terms\n")
            os.write(2, b"Includes third-party software components, see THIRD_PARTY_NOTICES.md\n")
            self.options = {}

        def setOptionValue(self, name, value):
            self.options[name] = value

    monkeypatch.setattr(solver, "_banner_done", False)
    monkeypatch.setattr(solver, "_highspy", lambda: types.SimpleNamespace(Highs=NoisyHighs))
    print("before")
    h = solver._new_highs()
    print("after")
    out, err = capfd.readouterr()
    assert out == "before\nafter\n" and err == ""
    assert h.options["output_flag"] is False and h.options["log_to_console"] is False
